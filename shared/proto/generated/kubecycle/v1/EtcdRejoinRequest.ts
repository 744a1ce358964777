// Original file: proto/kubecycle/v1/agent.proto

import type { RejoinPhase as _kubecycle_v1_RejoinPhase, RejoinPhase__Output as _kubecycle_v1_RejoinPhase__Output } from '../../kubecycle/v1/RejoinPhase';

export interface EtcdRejoinRequest {
  'operationId'?: (string);
  'phase'?: (_kubecycle_v1_RejoinPhase);
  'initialCluster'?: (string);
}

export interface EtcdRejoinRequest__Output {
  'operationId': (string);
  'phase': (_kubecycle_v1_RejoinPhase__Output);
  'initialCluster': (string);
}
