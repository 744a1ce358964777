// Original file: proto/kubecycle/v1/agent.proto

import type { UnitRequest as _kubecycle_v1_UnitRequest, UnitRequest__Output as _kubecycle_v1_UnitRequest__Output } from '../../kubecycle/v1/UnitRequest';

export interface StartUnitsRequest {
  'operationId'?: (string);
  'units'?: (_kubecycle_v1_UnitRequest)[];
  'ignoreMissing'?: (boolean);
  'noBlock'?: (boolean);
}

export interface StartUnitsRequest__Output {
  'operationId': (string);
  'units': (_kubecycle_v1_UnitRequest__Output)[];
  'ignoreMissing': (boolean);
  'noBlock': (boolean);
}
