// Original file: proto/kubecycle/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface Disk {
  'mount'?: (string);
  'fsType'?: (string);
  'sizeBytes'?: (number | string | Long);
  'usedBytes'?: (number | string | Long);
}

export interface Disk__Output {
  'mount': (string);
  'fsType': (string);
  'sizeBytes': (number);
  'usedBytes': (number);
}
