// Original file: proto/kubecycle/v1/agent.proto


export interface ProbeComponentsRequest {
  'timeoutMs'?: (number);
}

export interface ProbeComponentsRequest__Output {
  'timeoutMs': (number);
}
