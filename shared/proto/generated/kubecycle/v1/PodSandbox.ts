// Original file: proto/kubecycle/v1/agent.proto


export interface PodSandbox {
  'id'?: (string);
  'name'?: (string);
  'namespace'?: (string);
  'state'?: (string);
}

export interface PodSandbox__Output {
  'id': (string);
  'name': (string);
  'namespace': (string);
  'state': (string);
}
