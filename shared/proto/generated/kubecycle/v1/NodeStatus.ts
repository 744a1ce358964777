// Original file: proto/kubecycle/v1/agent.proto

import type { NodeFacts as _kubecycle_v1_NodeFacts, NodeFacts__Output as _kubecycle_v1_NodeFacts__Output } from '../../kubecycle/v1/NodeFacts';
import type { UnitStatus as _kubecycle_v1_UnitStatus, UnitStatus__Output as _kubecycle_v1_UnitStatus__Output } from '../../kubecycle/v1/UnitStatus';
import type { EtcdMemberStatus as _kubecycle_v1_EtcdMemberStatus, EtcdMemberStatus__Output as _kubecycle_v1_EtcdMemberStatus__Output } from '../../kubecycle/v1/EtcdMemberStatus';
import type { Long } from '@grpc/proto-loader';

export interface NodeStatus {
  'nodeName'?: (string);
  'collectedUnixMs'?: (number | string | Long);
  'facts'?: (_kubecycle_v1_NodeFacts | null);
  'units'?: (_kubecycle_v1_UnitStatus)[];
  'etcd'?: (_kubecycle_v1_EtcdMemberStatus | null);
}

export interface NodeStatus__Output {
  'nodeName': (string);
  'collectedUnixMs': (number);
  'facts': (_kubecycle_v1_NodeFacts__Output | null);
  'units': (_kubecycle_v1_UnitStatus__Output)[];
  'etcd': (_kubecycle_v1_EtcdMemberStatus__Output | null);
}
