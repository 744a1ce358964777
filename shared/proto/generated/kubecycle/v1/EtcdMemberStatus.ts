// Original file: proto/kubecycle/v1/agent.proto

import type { EtcdMember as _kubecycle_v1_EtcdMember, EtcdMember__Output as _kubecycle_v1_EtcdMember__Output } from '../../kubecycle/v1/EtcdMember';
import type { Long } from '@grpc/proto-loader';

export interface EtcdMemberStatus {
  'isMember'?: (boolean);
  'endpoint'?: (string);
  'healthy'?: (boolean);
  'healthError'?: (string);
  'memberId'?: (string);
  'leaderId'?: (string);
  'raftTerm'?: (number | string | Long);
  'raftIndex'?: (number | string | Long);
  'raftAppliedIndex'?: (number | string | Long);
  'revision'?: (number | string | Long);
  'dbSizeBytes'?: (number | string | Long);
  'version'?: (string);
  'errors'?: (string)[];
  'statusError'?: (string);
  'members'?: (_kubecycle_v1_EtcdMember)[];
  'membersError'?: (string);
  'clusterId'?: (string);
  'dbSizeInUseBytes'?: (number | string | Long);
}

export interface EtcdMemberStatus__Output {
  'isMember': (boolean);
  'endpoint': (string);
  'healthy': (boolean);
  'healthError': (string);
  'memberId': (string);
  'leaderId': (string);
  'raftTerm': (number);
  'raftIndex': (number);
  'raftAppliedIndex': (number);
  'revision': (number);
  'dbSizeBytes': (number);
  'version': (string);
  'errors': (string)[];
  'statusError': (string);
  'members': (_kubecycle_v1_EtcdMember__Output)[];
  'membersError': (string);
  'clusterId': (string);
  'dbSizeInUseBytes': (number);
}
