// Original file: proto/kubecycle/v1/agent.proto


export interface GetCertificatesRequest {
}

export interface GetCertificatesRequest__Output {
}
