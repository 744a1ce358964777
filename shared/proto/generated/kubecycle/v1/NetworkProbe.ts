// Original file: proto/kubecycle/v1/agent.proto


export interface NetworkProbe {
  'purpose'?: (string);
  'target'?: (string);
  'name'?: (string);
  'reachable'?: (boolean);
  'latencyMs'?: (number);
  'error'?: (string);
}

export interface NetworkProbe__Output {
  'purpose': (string);
  'target': (string);
  'name': (string);
  'reachable': (boolean);
  'latencyMs': (number);
  'error': (string);
}
