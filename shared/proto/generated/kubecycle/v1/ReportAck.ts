// Original file: proto/kubecycle/v1/registry.proto

import type { Long } from '@grpc/proto-loader';

export interface ReportAck {
  'receivedUnixMs'?: (number | string | Long);
  'stored'?: (boolean);
}

export interface ReportAck__Output {
  'receivedUnixMs': (number);
  'stored': (boolean);
}
