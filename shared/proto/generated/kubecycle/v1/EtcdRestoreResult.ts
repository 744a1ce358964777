// Original file: proto/kubecycle/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface EtcdRestoreResult {
  'operationId'?: (string);
  'replayed'?: (boolean);
  'dataDir'?: (string);
  'keptAside'?: (string);
  'revision'?: (number | string | Long);
  'totalKeys'?: (number | string | Long);
  'tool'?: (string);
  'memberName'?: (string);
}

export interface EtcdRestoreResult__Output {
  'operationId': (string);
  'replayed': (boolean);
  'dataDir': (string);
  'keptAside': (string);
  'revision': (number);
  'totalKeys': (number);
  'tool': (string);
  'memberName': (string);
}
