// Original file: proto/kubecycle/v1/agent.proto


export interface Address {
  'interface'?: (string);
  'address'?: (string);
  'family'?: (number);
}

export interface Address__Output {
  'interface': (string);
  'address': (string);
  'family': (number);
}
