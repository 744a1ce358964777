// Original file: proto/kubecycle/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface UnitStatus {
  'name'?: (string);
  'exists'?: (boolean);
  'loadState'?: (string);
  'activeState'?: (string);
  'subState'?: (string);
  'result'?: (string);
  'unitFileState'?: (string);
  'mainPid'?: (number);
  'restarts'?: (number);
  'stateChangeUnixMs'?: (number | string | Long);
}

export interface UnitStatus__Output {
  'name': (string);
  'exists': (boolean);
  'loadState': (string);
  'activeState': (string);
  'subState': (string);
  'result': (string);
  'unitFileState': (string);
  'mainPid': (number);
  'restarts': (number);
  'stateChangeUnixMs': (number);
}
