// Original file: proto/kubecycle/v1/agent.proto


export interface GetStatusRequest {
  'refreshFacts'?: (boolean);
  'includeEtcd'?: (boolean);
}

export interface GetStatusRequest__Output {
  'refreshFacts': (boolean);
  'includeEtcd': (boolean);
}
