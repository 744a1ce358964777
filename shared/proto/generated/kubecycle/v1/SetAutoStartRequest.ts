// Original file: proto/kubecycle/v1/agent.proto


export interface SetAutoStartRequest {
  'operationId'?: (string);
  'units'?: (string)[];
  'enabled'?: (boolean);
  'ignoreMissing'?: (boolean);
}

export interface SetAutoStartRequest__Output {
  'operationId': (string);
  'units': (string)[];
  'enabled': (boolean);
  'ignoreMissing': (boolean);
}
