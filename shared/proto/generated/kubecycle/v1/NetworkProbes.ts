// Original file: proto/kubecycle/v1/agent.proto

import type { NetworkProbe as _kubecycle_v1_NetworkProbe, NetworkProbe__Output as _kubecycle_v1_NetworkProbe__Output } from '../../kubecycle/v1/NetworkProbe';

export interface NetworkProbes {
  'probes'?: (_kubecycle_v1_NetworkProbe)[];
}

export interface NetworkProbes__Output {
  'probes': (_kubecycle_v1_NetworkProbe__Output)[];
}
