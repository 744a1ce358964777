// Original file: proto/kubecycle/v1/agent.proto

export const EtcdMode = {
  ETCD_MODE_UNSPECIFIED: 'ETCD_MODE_UNSPECIFIED',
  ETCD_MODE_NONE: 'ETCD_MODE_NONE',
  ETCD_MODE_SYSTEMD: 'ETCD_MODE_SYSTEMD',
  ETCD_MODE_STATIC_POD: 'ETCD_MODE_STATIC_POD',
} as const;

export type EtcdMode =
  | 'ETCD_MODE_UNSPECIFIED'
  | 0
  | 'ETCD_MODE_NONE'
  | 1
  | 'ETCD_MODE_SYSTEMD'
  | 2
  | 'ETCD_MODE_STATIC_POD'
  | 3

export type EtcdMode__Output = typeof EtcdMode[keyof typeof EtcdMode]
