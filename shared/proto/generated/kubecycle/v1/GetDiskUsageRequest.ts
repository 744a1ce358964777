// Original file: proto/kubecycle/v1/agent.proto


export interface GetDiskUsageRequest {
}

export interface GetDiskUsageRequest__Output {
}
