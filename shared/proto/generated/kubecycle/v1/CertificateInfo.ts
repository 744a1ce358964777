// Original file: proto/kubecycle/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface CertificateInfo {
  'purpose'?: (string);
  'path'?: (string);
  'subject'?: (string);
  'issuer'?: (string);
  'notBeforeUnixMs'?: (number | string | Long);
  'notAfterUnixMs'?: (number | string | Long);
  'error'?: (string);
}

export interface CertificateInfo__Output {
  'purpose': (string);
  'path': (string);
  'subject': (string);
  'issuer': (string);
  'notBeforeUnixMs': (number);
  'notAfterUnixMs': (number);
  'error': (string);
}
