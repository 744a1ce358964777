// Original file: proto/kubecycle/v1/agent.proto


export interface StopPodSandboxesRequest {
  'operationId'?: (string);
  'timeoutMs'?: (number);
}

export interface StopPodSandboxesRequest__Output {
  'operationId': (string);
  'timeoutMs': (number);
}
