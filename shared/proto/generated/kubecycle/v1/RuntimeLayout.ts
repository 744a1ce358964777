// Original file: proto/kubecycle/v1/agent.proto

import type { RuntimeUnit as _kubecycle_v1_RuntimeUnit, RuntimeUnit__Output as _kubecycle_v1_RuntimeUnit__Output } from '../../kubecycle/v1/RuntimeUnit';

export interface RuntimeLayout {
  'kind'?: (string);
  'units'?: (_kubecycle_v1_RuntimeUnit)[];
}

export interface RuntimeLayout__Output {
  'kind': (string);
  'units': (_kubecycle_v1_RuntimeUnit__Output)[];
}
