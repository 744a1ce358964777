// Original file: proto/kubecycle/v1/agent.proto

import type { Role as _kubecycle_v1_Role, Role__Output as _kubecycle_v1_Role__Output } from '../../kubecycle/v1/Role';
import type { Long } from '@grpc/proto-loader';

export interface HealthResponse {
  'state'?: (string);
  'nodeName'?: (string);
  'agentVersion'?: (string);
  'startedUnixMs'?: (number | string | Long);
  'callerIdentity'?: (string);
  'callerRole'?: (_kubecycle_v1_Role);
}

export interface HealthResponse__Output {
  'state': (string);
  'nodeName': (string);
  'agentVersion': (string);
  'startedUnixMs': (number);
  'callerIdentity': (string);
  'callerRole': (_kubecycle_v1_Role__Output);
}
