// Original file: proto/kubecycle/v1/agent.proto

import type { SnapshotUploadHeader as _kubecycle_v1_SnapshotUploadHeader, SnapshotUploadHeader__Output as _kubecycle_v1_SnapshotUploadHeader__Output } from '../../kubecycle/v1/SnapshotUploadHeader';

export interface SnapshotUpload {
  'header'?: (_kubecycle_v1_SnapshotUploadHeader | null);
  'data'?: (Buffer | Uint8Array | string);
}

export interface SnapshotUpload__Output {
  'header': (_kubecycle_v1_SnapshotUploadHeader__Output | null);
  'data': (Buffer);
}
