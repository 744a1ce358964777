// Original file: proto/kubecycle/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface Clock {
  'unixMs'?: (number | string | Long);
  'timeSynchronized'?: (boolean);
  'timeSyncKnown'?: (boolean);
}

export interface Clock__Output {
  'unixMs': (number);
  'timeSynchronized': (boolean);
  'timeSyncKnown': (boolean);
}
