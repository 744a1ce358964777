// Original file: proto/kubecycle/v1/agent.proto

import type { Outcome as _kubecycle_v1_Outcome, Outcome__Output as _kubecycle_v1_Outcome__Output } from '../../kubecycle/v1/Outcome';
import type { UnitStatus as _kubecycle_v1_UnitStatus, UnitStatus__Output as _kubecycle_v1_UnitStatus__Output } from '../../kubecycle/v1/UnitStatus';

export interface UnitOutcome {
  'unit'?: (string);
  'outcome'?: (_kubecycle_v1_Outcome);
  'state'?: (_kubecycle_v1_UnitStatus | null);
  'message'?: (string);
  'journal'?: (string)[];
  'durationMs'?: (number);
}

export interface UnitOutcome__Output {
  'unit': (string);
  'outcome': (_kubecycle_v1_Outcome__Output);
  'state': (_kubecycle_v1_UnitStatus__Output | null);
  'message': (string);
  'journal': (string)[];
  'durationMs': (number);
}
