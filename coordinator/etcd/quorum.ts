// What etcd's members say together, and whether one may leave: pure decisions over what the members answered.
import type { EtcdMemberRecord } from "../plan/index.js";

/** One member as it answered (through its own node's agent, or another member's for external etcd). */
export interface MemberHealth {
  member: EtcdMemberRecord;
  healthy: boolean;
  /** Why not healthy: the member's own error, or why it could not be asked. */
  error?: string;
  leaderId?: string;
  raftIndex?: number;
  raftAppliedIndex?: number;
  /** The member list as this member sees it (ids). */
  memberIds?: string[];
}

/** How people and the journal name a member: its node, or "external member NAME". */
export function memberLabel(m: EtcdMemberRecord): string {
  return m.node ?? `external member ${m.name || m.id}`;
}

/** What the members say together. */
export interface EtcdAssessment {
  voters: number;
  learners: number;
  healthyVoters: number;
  /** One line per member that is not healthy, naming it. */
  problems: string[];
  /** The leader ids the healthy members report (one, when all is well). */
  leaders: string[];
}

export function assessEtcd(members: readonly MemberHealth[]): EtcdAssessment {
  const voters = members.filter((m) => !m.member.learner);
  const healthy = members.filter((m) => m.healthy);
  return {
    voters: voters.length,
    learners: members.length - voters.length,
    healthyVoters: voters.filter((m) => m.healthy).length,
    problems: members.filter((m) => !m.healthy).map((m) => `${memberLabel(m.member)}: ${m.error || "not healthy"}`),
    leaders: [...new Set(healthy.map((m) => m.leaderId ?? "").filter((l) => l !== "" && l !== "0"))],
  };
}

/** Whether the member `leavingId` may be stopped: a refusal in words, or the evidence that quorum holds without it. */
export function quorumWithout(
  members: readonly MemberHealth[],
  leavingId: string,
): { ok: false; why: string } | { ok: true; evidence: Record<string, unknown> } {
  const leaving = members.find((m) => m.member.id === leavingId);
  if (!leaving) return { ok: false, why: `member ${leavingId} is not in the member list` };
  const a = assessEtcd(members);
  if (a.problems.length > 0) return { ok: false, why: `not every member is healthy (${a.problems.join("; ")})` };
  if (a.leaders.length !== 1) {
    return { ok: false, why: `the members do not agree on one leader (${a.leaders.join(", ") || "none"})` };
  }
  const base = { voters: a.voters, learners: a.learners, leader: a.leaders[0] };
  // A learner does not vote: stopping it cannot cost quorum.
  if (leaving.member.learner) return { ok: true, evidence: { ...base, leaving: "a learner (not a voter)" } };
  if (a.voters < 3) {
    return { ok: false, why: `the cluster has ${a.voters} voting member(s); stopping one needs at least 3` };
  }
  const left = a.healthyVoters - 1;
  if (left <= a.voters / 2) return { ok: false, why: `${left} of ${a.voters} voters would be left, not a majority` };
  return { ok: true, evidence: { ...base, quorumWithout: `${left}/${a.voters}` } };
}

/**
 * Whether the members have caught up: every member's applied index has reached the leader's raft index as it was
 * when the check began (`target`). Unlike a fixed gap between indexes, this holds under steady writes: the leader's
 * index moves on, but what was committed when we looked is applied everywhere soon after.
 */
export function caughtUp(members: readonly MemberHealth[], target: number): { ok: boolean; behind: string[] } {
  const behind = members
    .filter((m) => (m.raftAppliedIndex ?? 0) < target)
    .map((m) => `${memberLabel(m.member)} applied ${m.raftAppliedIndex ?? 0} < ${target}`);
  return { ok: behind.length === 0, behind };
}

/** The leader's raft index, as the leader itself reports it (0 when no healthy member is the leader). */
export function leaderIndex(members: readonly MemberHealth[]): number {
  const leader = members.find((m) => m.healthy && m.leaderId !== undefined && m.leaderId === m.member.id);
  return leader?.raftIndex ?? 0;
}

/** Members whose own member list differs from the one kubecycle recorded (a member added or removed meanwhile). */
export function listMismatches(members: readonly MemberHealth[], recorded: readonly EtcdMemberRecord[]): string[] {
  const want = recorded.map((m) => m.id).sort();
  return members
    .filter((m) => m.healthy && m.memberIds && m.memberIds.length > 0)
    .filter((m) => JSON.stringify([...(m.memberIds ?? [])].sort()) !== JSON.stringify(want))
    .map(
      (m) =>
        `${memberLabel(m.member)} lists members ${[...(m.memberIds ?? [])].sort().join(", ")}, not the recorded ${want.join(", ")}`,
    );
}
