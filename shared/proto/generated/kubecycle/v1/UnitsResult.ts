// Original file: proto/kubecycle/v1/agent.proto

import type { UnitOutcome as _kubecycle_v1_UnitOutcome, UnitOutcome__Output as _kubecycle_v1_UnitOutcome__Output } from '../../kubecycle/v1/UnitOutcome';
import type { Long } from '@grpc/proto-loader';

export interface UnitsResult {
  'operationId'?: (string);
  'ok'?: (boolean);
  'replayed'?: (boolean);
  'outcomes'?: (_kubecycle_v1_UnitOutcome)[];
  'startedUnixMs'?: (number | string | Long);
  'finishedUnixMs'?: (number | string | Long);
}

export interface UnitsResult__Output {
  'operationId': (string);
  'ok': (boolean);
  'replayed': (boolean);
  'outcomes': (_kubecycle_v1_UnitOutcome__Output)[];
  'startedUnixMs': (number);
  'finishedUnixMs': (number);
}
