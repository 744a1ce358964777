// Original file: proto/kubecycle/v1/agent.proto

export const RejoinPhase = {
  REJOIN_PHASE_UNSPECIFIED: 'REJOIN_PHASE_UNSPECIFIED',
  REJOIN_PHASE_PREPARE: 'REJOIN_PHASE_PREPARE',
  REJOIN_PHASE_FINISH: 'REJOIN_PHASE_FINISH',
} as const;

export type RejoinPhase =
  | 'REJOIN_PHASE_UNSPECIFIED'
  | 0
  | 'REJOIN_PHASE_PREPARE'
  | 1
  | 'REJOIN_PHASE_FINISH'
  | 2

export type RejoinPhase__Output = typeof RejoinPhase[keyof typeof RejoinPhase]
