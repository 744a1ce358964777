// Original file: proto/kubecycle/v1/agent.proto

export const Role = {
  ROLE_UNSPECIFIED: 'ROLE_UNSPECIFIED',
  ROLE_VIEWER: 'ROLE_VIEWER',
  ROLE_OPERATOR: 'ROLE_OPERATOR',
} as const;

export type Role =
  | 'ROLE_UNSPECIFIED'
  | 0
  | 'ROLE_VIEWER'
  | 1
  | 'ROLE_OPERATOR'
  | 2

export type Role__Output = typeof Role[keyof typeof Role]
