// Original file: proto/kubecycle/v1/agent.proto


export interface EtcdReplaceMemberRequest {
  'operationId'?: (string);
  'memberId'?: (string);
}

export interface EtcdReplaceMemberRequest__Output {
  'operationId': (string);
  'memberId': (string);
}
