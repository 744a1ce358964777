// Original file: proto/kubecycle/v1/registry.proto

import type { BootReport as _kubecycle_v1_BootReport, BootReport__Output as _kubecycle_v1_BootReport__Output } from '../../kubecycle/v1/BootReport';
import type { Long } from '@grpc/proto-loader';

export interface KeptReport {
  'report'?: (_kubecycle_v1_BootReport | null);
  'receivedUnixMs'?: (number | string | Long);
  'peer'?: (string);
}

export interface KeptReport__Output {
  'report': (_kubecycle_v1_BootReport__Output | null);
  'receivedUnixMs': (number);
  'peer': (string);
}
