// Original file: proto/kubecycle/v1/registry.proto

import type { KeptReport as _kubecycle_v1_KeptReport, KeptReport__Output as _kubecycle_v1_KeptReport__Output } from '../../kubecycle/v1/KeptReport';
import type { StartOnBoot as _kubecycle_v1_StartOnBoot, StartOnBoot__Output as _kubecycle_v1_StartOnBoot__Output } from '../../kubecycle/v1/StartOnBoot';
import type { Long } from '@grpc/proto-loader';

export interface ReportList {
  'reports'?: (_kubecycle_v1_KeptReport)[];
  'nowUnixMs'?: (number | string | Long);
  'startOnBoot'?: (_kubecycle_v1_StartOnBoot | null);
  'serveVersion'?: (string);
}

export interface ReportList__Output {
  'reports': (_kubecycle_v1_KeptReport__Output)[];
  'nowUnixMs': (number);
  'startOnBoot': (_kubecycle_v1_StartOnBoot__Output | null);
  'serveVersion': (string);
}
