// Original file: proto/kubecycle/v1/registry.proto

import type { ReportReason as _kubecycle_v1_ReportReason, ReportReason__Output as _kubecycle_v1_ReportReason__Output } from '../../kubecycle/v1/ReportReason';
import type { UnitStatus as _kubecycle_v1_UnitStatus, UnitStatus__Output as _kubecycle_v1_UnitStatus__Output } from '../../kubecycle/v1/UnitStatus';
import type { NodeFacts as _kubecycle_v1_NodeFacts, NodeFacts__Output as _kubecycle_v1_NodeFacts__Output } from '../../kubecycle/v1/NodeFacts';
import type { Long } from '@grpc/proto-loader';

export interface BootReport {
  'nodeName'?: (string);
  'bootId'?: (string);
  'bootedUnixMs'?: (number | string | Long);
  'agentVersion'?: (string);
  'agentStartedUnixMs'?: (number | string | Long);
  'agentInstance'?: (string);
  'sequence'?: (number | string | Long);
  'reason'?: (_kubecycle_v1_ReportReason);
  'collectedUnixMs'?: (number | string | Long);
  'units'?: (_kubecycle_v1_UnitStatus)[];
  'facts'?: (_kubecycle_v1_NodeFacts | null);
}

export interface BootReport__Output {
  'nodeName': (string);
  'bootId': (string);
  'bootedUnixMs': (number);
  'agentVersion': (string);
  'agentStartedUnixMs': (number);
  'agentInstance': (string);
  'sequence': (number);
  'reason': (_kubecycle_v1_ReportReason__Output);
  'collectedUnixMs': (number);
  'units': (_kubecycle_v1_UnitStatus__Output)[];
  'facts': (_kubecycle_v1_NodeFacts__Output | null);
}
