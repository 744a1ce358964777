// Original file: proto/kubecycle/v1/agent.proto

import type { EtcdMember as _kubecycle_v1_EtcdMember, EtcdMember__Output as _kubecycle_v1_EtcdMember__Output } from '../../kubecycle/v1/EtcdMember';

export interface EtcdRestoreRequest {
  'operationId'?: (string);
  'snapshotSha256'?: (string);
  'members'?: (_kubecycle_v1_EtcdMember)[];
  'clusterToken'?: (string);
}

export interface EtcdRestoreRequest__Output {
  'operationId': (string);
  'snapshotSha256': (string);
  'members': (_kubecycle_v1_EtcdMember__Output)[];
  'clusterToken': (string);
}
