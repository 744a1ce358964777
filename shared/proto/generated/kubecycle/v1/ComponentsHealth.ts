// Original file: proto/kubecycle/v1/agent.proto

import type { ComponentHealth as _kubecycle_v1_ComponentHealth, ComponentHealth__Output as _kubecycle_v1_ComponentHealth__Output } from '../../kubecycle/v1/ComponentHealth';

export interface ComponentsHealth {
  'components'?: (_kubecycle_v1_ComponentHealth)[];
}

export interface ComponentsHealth__Output {
  'components': (_kubecycle_v1_ComponentHealth__Output)[];
}
