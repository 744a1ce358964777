// Original file: proto/kubecycle/v1/agent.proto


export interface EtcdStatusRequest {
  'timeoutMs'?: (number);
  'memberId'?: (string);
}

export interface EtcdStatusRequest__Output {
  'timeoutMs': (number);
  'memberId': (string);
}
