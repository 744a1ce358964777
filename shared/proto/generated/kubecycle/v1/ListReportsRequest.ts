// Original file: proto/kubecycle/v1/registry.proto


export interface ListReportsRequest {
}

export interface ListReportsRequest__Output {
}
