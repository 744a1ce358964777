// Original file: proto/kubecycle/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface SnapshotUploadHeader {
  'operationId'?: (string);
  'sha256'?: (string);
  'sizeBytes'?: (number | string | Long);
}

export interface SnapshotUploadHeader__Output {
  'operationId': (string);
  'sha256': (string);
  'sizeBytes': (number);
}
