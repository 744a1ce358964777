// Original file: proto/kubecycle/v1/registry.proto

import type { MissingNode as _kubecycle_v1_MissingNode, MissingNode__Output as _kubecycle_v1_MissingNode__Output } from '../../kubecycle/v1/MissingNode';
import type { Long } from '@grpc/proto-loader';

export interface StartOnBoot {
  'stopOperation'?: (string);
  'state'?: (string);
  'missing'?: (_kubecycle_v1_MissingNode)[];
  'reported'?: (string)[];
  'startOperation'?: (string);
  'reason'?: (string);
  'armedUnixMs'?: (number | string | Long);
}

export interface StartOnBoot__Output {
  'stopOperation': (string);
  'state': (string);
  'missing': (_kubecycle_v1_MissingNode__Output)[];
  'reported': (string)[];
  'startOperation': (string);
  'reason': (string);
  'armedUnixMs': (number);
}
