// Original file: proto/kubecycle/v1/agent.proto

import type { CertificateInfo as _kubecycle_v1_CertificateInfo, CertificateInfo__Output as _kubecycle_v1_CertificateInfo__Output } from '../../kubecycle/v1/CertificateInfo';

export interface CertificatesResult {
  'certificates'?: (_kubecycle_v1_CertificateInfo)[];
}

export interface CertificatesResult__Output {
  'certificates': (_kubecycle_v1_CertificateInfo__Output)[];
}
