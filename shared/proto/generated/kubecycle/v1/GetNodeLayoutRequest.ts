// Original file: proto/kubecycle/v1/agent.proto


export interface GetNodeLayoutRequest {
}

export interface GetNodeLayoutRequest__Output {
}
