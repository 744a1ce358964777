// Original file: proto/kubecycle/v1/agent.proto

import type { SnapshotSummary as _kubecycle_v1_SnapshotSummary, SnapshotSummary__Output as _kubecycle_v1_SnapshotSummary__Output } from '../../kubecycle/v1/SnapshotSummary';

export interface SnapshotChunk {
  'data'?: (Buffer | Uint8Array | string);
  'summary'?: (_kubecycle_v1_SnapshotSummary | null);
}

export interface SnapshotChunk__Output {
  'data': (Buffer);
  'summary': (_kubecycle_v1_SnapshotSummary__Output | null);
}
