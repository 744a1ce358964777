// Original file: proto/kubecycle/v1/agent.proto

import type { PodSandbox as _kubecycle_v1_PodSandbox, PodSandbox__Output as _kubecycle_v1_PodSandbox__Output } from '../../kubecycle/v1/PodSandbox';

export interface PodSandboxesResult {
  'operationId'?: (string);
  'ok'?: (boolean);
  'replayed'?: (boolean);
  'stopped'?: (_kubecycle_v1_PodSandbox)[];
  'remaining'?: (_kubecycle_v1_PodSandbox)[];
  'message'?: (string);
  'containersStopped'?: (number);
}

export interface PodSandboxesResult__Output {
  'operationId': (string);
  'ok': (boolean);
  'replayed': (boolean);
  'stopped': (_kubecycle_v1_PodSandbox__Output)[];
  'remaining': (_kubecycle_v1_PodSandbox__Output)[];
  'message': (string);
  'containersStopped': (number);
}
