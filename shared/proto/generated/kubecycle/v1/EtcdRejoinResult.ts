// Original file: proto/kubecycle/v1/agent.proto


export interface EtcdRejoinResult {
  'operationId'?: (string);
  'replayed'?: (boolean);
  'dataDir'?: (string);
  'keptAside'?: (string);
  'configured'?: (string);
}

export interface EtcdRejoinResult__Output {
  'operationId': (string);
  'replayed': (boolean);
  'dataDir': (string);
  'keptAside': (string);
  'configured': (string);
}
