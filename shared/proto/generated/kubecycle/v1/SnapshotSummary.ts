// Original file: proto/kubecycle/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface SnapshotSummary {
  'sha256'?: (string);
  'sizeBytes'?: (number | string | Long);
  'revision'?: (number | string | Long);
  'totalKeys'?: (number | string | Long);
  'memberName'?: (string);
  'takenUnixMs'?: (number | string | Long);
}

export interface SnapshotSummary__Output {
  'sha256': (string);
  'sizeBytes': (number);
  'revision': (number);
  'totalKeys': (number);
  'memberName': (string);
  'takenUnixMs': (number);
}
