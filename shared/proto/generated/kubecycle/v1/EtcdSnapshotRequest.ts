// Original file: proto/kubecycle/v1/agent.proto


export interface EtcdSnapshotRequest {
  'timeoutMs'?: (number);
}

export interface EtcdSnapshotRequest__Output {
  'timeoutMs': (number);
}
