// Original file: proto/kubecycle/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface PathUsage {
  'purpose'?: (string);
  'path'?: (string);
  'exists'?: (boolean);
  'measured'?: (string);
  'sizeBytes'?: (number | string | Long);
  'availableBytes'?: (number | string | Long);
  'inodes'?: (number | string | Long);
  'inodesFree'?: (number | string | Long);
  'etcdWalFiles'?: (number);
  'etcdDbBytes'?: (number | string | Long);
  'error'?: (string);
}

export interface PathUsage__Output {
  'purpose': (string);
  'path': (string);
  'exists': (boolean);
  'measured': (string);
  'sizeBytes': (number);
  'availableBytes': (number);
  'inodes': (number);
  'inodesFree': (number);
  'etcdWalFiles': (number);
  'etcdDbBytes': (number);
  'error': (string);
}
