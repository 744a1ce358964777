// Original file: proto/kubecycle/v1/agent.proto

import type { UnitRequest as _kubecycle_v1_UnitRequest, UnitRequest__Output as _kubecycle_v1_UnitRequest__Output } from '../../kubecycle/v1/UnitRequest';

export interface StopUnitsRequest {
  'operationId'?: (string);
  'units'?: (_kubecycle_v1_UnitRequest)[];
  'ignoreMissing'?: (boolean);
}

export interface StopUnitsRequest__Output {
  'operationId': (string);
  'units': (_kubecycle_v1_UnitRequest__Output)[];
  'ignoreMissing': (boolean);
}
