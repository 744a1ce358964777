// Original file: proto/kubecycle/v1/agent.proto


export interface ComponentHealth {
  'component'?: (string);
  'url'?: (string);
  'present'?: (boolean);
  'healthy'?: (boolean);
  'detail'?: (string);
}

export interface ComponentHealth__Output {
  'component': (string);
  'url': (string);
  'present': (boolean);
  'healthy': (boolean);
  'detail': (string);
}
