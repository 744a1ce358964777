// Original file: proto/kubecycle/v1/agent.proto

import type { PathUsage as _kubecycle_v1_PathUsage, PathUsage__Output as _kubecycle_v1_PathUsage__Output } from '../../kubecycle/v1/PathUsage';

export interface DiskUsage {
  'paths'?: (_kubecycle_v1_PathUsage)[];
}

export interface DiskUsage__Output {
  'paths': (_kubecycle_v1_PathUsage__Output)[];
}
