// Original file: proto/kubecycle/v1/agent.proto


export interface RuntimeUnit {
  'service'?: (string);
  'socket'?: (string);
}

export interface RuntimeUnit__Output {
  'service': (string);
  'socket': (string);
}
