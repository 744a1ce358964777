// Original file: proto/kubecycle/v1/agent.proto

import type { EtcdMode as _kubecycle_v1_EtcdMode, EtcdMode__Output as _kubecycle_v1_EtcdMode__Output } from '../../kubecycle/v1/EtcdMode';
import type { Long } from '@grpc/proto-loader';

export interface EtcdLayout {
  'mode'?: (_kubecycle_v1_EtcdMode);
  'unit'?: (string);
  'configFile'?: (string);
  'name'?: (string);
  'advertiseClientUrls'?: (string)[];
  'advertisePeerUrls'?: (string)[];
  'dataDir'?: (string);
  'caFile'?: (string);
  'certFile'?: (string);
  'keyFile'?: (string);
  'error'?: (string);
  'quotaBackendBytes'?: (number | string | Long);
  'initialCluster'?: (string);
}

export interface EtcdLayout__Output {
  'mode': (_kubecycle_v1_EtcdMode__Output);
  'unit': (string);
  'configFile': (string);
  'name': (string);
  'advertiseClientUrls': (string)[];
  'advertisePeerUrls': (string)[];
  'dataDir': (string);
  'caFile': (string);
  'certFile': (string);
  'keyFile': (string);
  'error': (string);
  'quotaBackendBytes': (number);
  'initialCluster': (string);
}
