// Original file: proto/kubecycle/v1/agent.proto


export interface GetClockRequest {
}

export interface GetClockRequest__Output {
}
