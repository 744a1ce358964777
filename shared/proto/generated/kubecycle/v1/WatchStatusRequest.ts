// Original file: proto/kubecycle/v1/agent.proto


export interface WatchStatusRequest {
  'intervalMs'?: (number);
}

export interface WatchStatusRequest__Output {
  'intervalMs': (number);
}
