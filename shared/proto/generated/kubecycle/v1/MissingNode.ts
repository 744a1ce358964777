// Original file: proto/kubecycle/v1/registry.proto

import type { Long } from '@grpc/proto-loader';

export interface MissingNode {
  'nodeName'?: (string);
  'sinceUnixMs'?: (number | string | Long);
  'stoppedBootId'?: (string);
}

export interface MissingNode__Output {
  'nodeName': (string);
  'sinceUnixMs': (number);
  'stoppedBootId': (string);
}
