// Original file: proto/kubecycle/v1/agent.proto


export interface PowerOffRequest {
  'operationId'?: (string);
  'delayMs'?: (number);
}

export interface PowerOffRequest__Output {
  'operationId': (string);
  'delayMs': (number);
}
