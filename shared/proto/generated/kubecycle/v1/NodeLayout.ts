// Original file: proto/kubecycle/v1/agent.proto

import type { EtcdLayout as _kubecycle_v1_EtcdLayout, EtcdLayout__Output as _kubecycle_v1_EtcdLayout__Output } from '../../kubecycle/v1/EtcdLayout';
import type { RuntimeLayout as _kubecycle_v1_RuntimeLayout, RuntimeLayout__Output as _kubecycle_v1_RuntimeLayout__Output } from '../../kubecycle/v1/RuntimeLayout';
import type { Address as _kubecycle_v1_Address, Address__Output as _kubecycle_v1_Address__Output } from '../../kubecycle/v1/Address';

export interface NodeLayout {
  'nodeName'?: (string);
  'etcd'?: (_kubecycle_v1_EtcdLayout | null);
  'runtime'?: (_kubecycle_v1_RuntimeLayout | null);
  'kubeletUnit'?: (string);
  'staticPods'?: (string)[];
  'addresses'?: (_kubecycle_v1_Address)[];
  'bootId'?: (string);
}

export interface NodeLayout__Output {
  'nodeName': (string);
  'etcd': (_kubecycle_v1_EtcdLayout__Output | null);
  'runtime': (_kubecycle_v1_RuntimeLayout__Output | null);
  'kubeletUnit': (string);
  'staticPods': (string)[];
  'addresses': (_kubecycle_v1_Address__Output)[];
  'bootId': (string);
}
