// Original file: proto/kubecycle/v1/agent.proto

import type { EtcdMember as _kubecycle_v1_EtcdMember, EtcdMember__Output as _kubecycle_v1_EtcdMember__Output } from '../../kubecycle/v1/EtcdMember';

export interface EtcdReplaceMemberResult {
  'operationId'?: (string);
  'replayed'?: (boolean);
  'removedId'?: (string);
  'added'?: (_kubecycle_v1_EtcdMember | null);
  'initialCluster'?: (string);
}

export interface EtcdReplaceMemberResult__Output {
  'operationId': (string);
  'replayed': (boolean);
  'removedId': (string);
  'added': (_kubecycle_v1_EtcdMember__Output | null);
  'initialCluster': (string);
}
