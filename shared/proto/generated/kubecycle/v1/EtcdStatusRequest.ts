// Original file: proto/kubecycle/v1/agent.proto


export interface EtcdStatusRequest {
  'timeoutMs'?: (number);
}

export interface EtcdStatusRequest__Output {
  'timeoutMs': (number);
}
