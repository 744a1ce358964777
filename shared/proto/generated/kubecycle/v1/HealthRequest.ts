// Original file: proto/kubecycle/v1/agent.proto


export interface HealthRequest {
}

export interface HealthRequest__Output {
}
