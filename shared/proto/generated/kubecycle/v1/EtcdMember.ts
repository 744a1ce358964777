// Original file: proto/kubecycle/v1/agent.proto


export interface EtcdMember {
  'id'?: (string);
  'name'?: (string);
  'peerUrls'?: (string)[];
  'clientUrls'?: (string)[];
  'isLearner'?: (boolean);
}

export interface EtcdMember__Output {
  'id': (string);
  'name': (string);
  'peerUrls': (string)[];
  'clientUrls': (string)[];
  'isLearner': (boolean);
}
