// Original file: proto/kubecycle/v1/agent.proto

export const PodScope = {
  POD_SCOPE_ALL: 'POD_SCOPE_ALL',
  POD_SCOPE_WORKLOAD: 'POD_SCOPE_WORKLOAD',
  POD_SCOPE_CONTROL_PLANE: 'POD_SCOPE_CONTROL_PLANE',
  POD_SCOPE_ETCD: 'POD_SCOPE_ETCD',
  POD_SCOPE_ALL_BUT_ETCD: 'POD_SCOPE_ALL_BUT_ETCD',
} as const;

export type PodScope =
  | 'POD_SCOPE_ALL'
  | 0
  | 'POD_SCOPE_WORKLOAD'
  | 1
  | 'POD_SCOPE_CONTROL_PLANE'
  | 2
  | 'POD_SCOPE_ETCD'
  | 3
  | 'POD_SCOPE_ALL_BUT_ETCD'
  | 4

export type PodScope__Output = typeof PodScope[keyof typeof PodScope]
