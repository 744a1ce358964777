// Original file: proto/kubecycle/v1/agent.proto

import type { PodScope as _kubecycle_v1_PodScope, PodScope__Output as _kubecycle_v1_PodScope__Output } from '../../kubecycle/v1/PodScope';

export interface StopPodSandboxesRequest {
  'operationId'?: (string);
  'timeoutMs'?: (number);
  'scope'?: (_kubecycle_v1_PodScope);
}

export interface StopPodSandboxesRequest__Output {
  'operationId': (string);
  'timeoutMs': (number);
  'scope': (_kubecycle_v1_PodScope__Output);
}
