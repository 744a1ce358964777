// Original file: proto/kubecycle/v1/agent.proto


export interface ProbeNetworkRequest {
  'timeoutMs'?: (number);
}

export interface ProbeNetworkRequest__Output {
  'timeoutMs': (number);
}
