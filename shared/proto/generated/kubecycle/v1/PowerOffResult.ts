// Original file: proto/kubecycle/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface PowerOffResult {
  'operationId'?: (string);
  'replayed'?: (boolean);
  'powerOffUnixMs'?: (number | string | Long);
  'bootId'?: (string);
}

export interface PowerOffResult__Output {
  'operationId': (string);
  'replayed': (boolean);
  'powerOffUnixMs': (number);
  'bootId': (string);
}
