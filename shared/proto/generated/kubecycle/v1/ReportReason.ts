// Original file: proto/kubecycle/v1/registry.proto

export const ReportReason = {
  REPORT_REASON_UNSPECIFIED: 'REPORT_REASON_UNSPECIFIED',
  REPORT_REASON_START: 'REPORT_REASON_START',
  REPORT_REASON_UNIT_CHANGE: 'REPORT_REASON_UNIT_CHANGE',
  REPORT_REASON_HEARTBEAT: 'REPORT_REASON_HEARTBEAT',
} as const;

export type ReportReason =
  | 'REPORT_REASON_UNSPECIFIED'
  | 0
  | 'REPORT_REASON_START'
  | 1
  | 'REPORT_REASON_UNIT_CHANGE'
  | 2
  | 'REPORT_REASON_HEARTBEAT'
  | 3

export type ReportReason__Output = typeof ReportReason[keyof typeof ReportReason]
