// Original file: proto/kubecycle/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface StagedSnapshot {
  'operationId'?: (string);
  'sha256'?: (string);
  'sizeBytes'?: (number | string | Long);
  'revision'?: (number | string | Long);
  'totalKeys'?: (number | string | Long);
  'hash'?: (string);
  'tool'?: (string);
  'replayed'?: (boolean);
}

export interface StagedSnapshot__Output {
  'operationId': (string);
  'sha256': (string);
  'sizeBytes': (number);
  'revision': (number);
  'totalKeys': (number);
  'hash': (string);
  'tool': (string);
  'replayed': (boolean);
}
