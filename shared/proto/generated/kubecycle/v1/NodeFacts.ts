// Original file: proto/kubecycle/v1/agent.proto

import type { Disk as _kubecycle_v1_Disk, Disk__Output as _kubecycle_v1_Disk__Output } from '../../kubecycle/v1/Disk';
import type { Address as _kubecycle_v1_Address, Address__Output as _kubecycle_v1_Address__Output } from '../../kubecycle/v1/Address';
import type { Long } from '@grpc/proto-loader';

export interface NodeFacts {
  'hostname'?: (string);
  'bootId'?: (string);
  'uptimeSeconds'?: (number | string | Long);
  'bootedUnixMs'?: (number | string | Long);
  'os'?: (string);
  'kernel'?: (string);
  'cpuModel'?: (string);
  'cpuCores'?: (number);
  'memoryTotalBytes'?: (number | string | Long);
  'memoryAvailableBytes'?: (number | string | Long);
  'disks'?: (_kubecycle_v1_Disk)[];
  'addresses'?: (_kubecycle_v1_Address)[];
  'factsCollectedUnixMs'?: (number | string | Long);
}

export interface NodeFacts__Output {
  'hostname': (string);
  'bootId': (string);
  'uptimeSeconds': (number);
  'bootedUnixMs': (number);
  'os': (string);
  'kernel': (string);
  'cpuModel': (string);
  'cpuCores': (number);
  'memoryTotalBytes': (number);
  'memoryAvailableBytes': (number);
  'disks': (_kubecycle_v1_Disk__Output)[];
  'addresses': (_kubecycle_v1_Address__Output)[];
  'factsCollectedUnixMs': (number);
}
