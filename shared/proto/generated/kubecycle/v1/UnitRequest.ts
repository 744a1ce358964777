// Original file: proto/kubecycle/v1/agent.proto


export interface UnitRequest {
  'name'?: (string);
  'settleTimeoutMs'?: (number);
}

export interface UnitRequest__Output {
  'name': (string);
  'settleTimeoutMs': (number);
}
