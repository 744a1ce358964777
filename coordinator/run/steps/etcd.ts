import { setTimeout as sleep } from "node:timers/promises";
import { KubecycleError } from "../../../shared/index.js";
import {
  assessEtcd,
  caughtUp,
  leaderIndex,
  listMismatches,
  quorumWithout,
  type MemberHealth,
} from "../../etcd/quorum.js";
import { surveyMembers } from "../../etcd/survey.js";
import { etcdProbeTimeouts } from "../../config.js";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import { stepAgent, stepNode, type StepDeps } from "./deps.js";

/**
 * How often etcd is asked again while a check waits for it: each look is a few etcdctl calls on each member, cheap
 * next to the up to POLL_MS it adds to the start (a member's health itself waits for a leader, up to etcdProbeMs).
 */
const POLL_MS = 500;

/** Every member of the inventory's member list, asked through the agents (see surveyMembers). */
export function survey(
  deps: StepDeps,
  ctx: StepContext,
  excludingNodes: readonly string[] = [],
): Promise<MemberHealth[]> {
  return surveyMembers({
    agents: deps.agents,
    inventory: deps.inventory,
    excludingNodes,
    timeouts: etcdProbeTimeouts(deps.config),
    signal: ctx.signal,
  });
}

/**
 * check-etcd-quorum: before stopping an etcd member, at least 3 voting members, all healthy (external ones asked
 * through the others), one leader, so the voters keep quorum without it. Otherwise the stop is refused and
 * nothing changes. A learner may always go: it does not vote.
 */
export async function checkEtcdQuorum(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "check-etcd-quorum" }>>,
): Promise<Evidence> {
  const leaving = ctx.step.action.leaving;
  const node = deps.inventory.nodes.find((n) => n.name === leaving);
  const refuse = (why: string, problems: string[] = []) =>
    new KubecycleError("QUORUM_AT_RISK", `refusing to stop etcd member ${leaving}: ${why}`, {
      node: leaving,
      problems,
      hint: "bring every etcd member back to health first (`kubecycle status`, `kubecycle doctor`); nothing was changed",
    });
  if (deps.inventory.etcd.members.length === 0) {
    throw refuse(`no etcd member list could be had (${deps.inventory.etcd.error ?? "no member answered"})`);
  }
  const unknown = deps.inventory.nodes.filter((n) => n.etcd.role === "unknown").map((n) => n.name);
  if (unknown.length > 0) {
    throw refuse(`whether ${unknown.join(", ")} ${unknown.length > 1 ? "are members" : "is a member"} is unknown`);
  }
  if (!node?.etcd.memberId) throw refuse(`${leaving} is not in etcd's member list`);
  const health = await survey(deps, ctx);
  const verdict = quorumWithout(health, node.etcd.memberId);
  if (!verdict.ok) throw refuse(verdict.why, assessEtcd(health).problems);
  return verdict.evidence;
}

/**
 * check-etcd-healthy: every member (but those on the excluded nodes) answers a linearizable read, all see exactly
 * one leader and the recorded member list, and every member has applied what the leader had committed when the
 * check began. With `wait`, polled until the deadline; without (a preflight), one look, and a refusal if not.
 */
export async function checkEtcdHealthy(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "check-etcd-healthy" }>>,
): Promise<Evidence> {
  const { excluding, wait } = ctx.step.action;
  let target = 0;
  for (;;) {
    const health = await survey(deps, ctx, excluding);
    const a = assessEtcd(health);
    if (target === 0) target = leaderIndex(health);
    const applied = caughtUp(health, target);
    const issues = [
      ...a.problems,
      ...(a.leaders.length === 1 ? [] : [`leaders seen: ${a.leaders.join(", ") || "none"}`]),
      ...listMismatches(health, deps.inventory.etcd.members),
      ...(target > 0 && !applied.ok && wait ? applied.behind : []),
      ...(health.length === 0 ? ["no member to ask"] : []),
    ];
    if (issues.length === 0 && (target > 0 || !wait)) {
      return {
        healthy: health.length,
        voters: a.voters,
        learners: a.learners,
        excluding,
        leader: a.leaders[0],
        appliedIndexAtLeast: target,
      };
    }
    if (!wait) {
      throw new KubecycleError("QUORUM_AT_RISK", `refusing: etcd is not healthy: ${issues.join("; ") || "no leader"}`, {
        problems: issues,
        hint: "bring every etcd member back to health first (`kubecycle status`); nothing was changed",
      });
    }
    ctx.progress(issues.join("; ") || "waiting for a leader's raft index");
    try {
      await sleep(POLL_MS, undefined, { signal: ctx.signal });
    } catch {
      throw new KubecycleError("ETCD_UNHEALTHY", `etcd is not healthy: ${issues.join("; ") || "no leader"}`, {
        problems: issues,
        hint: "see `kubecycle status` and the members' journals (`journalctl -u etcd` on the nodes)",
      });
    }
  }
}

/**
 * wait-etcd-member: the node's own etcd member answers a linearizable read (a static-pod member, after kubelet
 * started it again). Polled until the deadline.
 */
export async function waitEtcdMember(deps: StepDeps, ctx: StepContext): Promise<Evidence> {
  const node = stepNode(deps, ctx);
  const agent = stepAgent(deps, ctx);
  const t0 = Date.now();
  let last = "";
  for (;;) {
    try {
      const st = await agent.etcdStatus(
        { timeoutMs: etcdProbeTimeouts(deps.config).etcdMs },
        { deadlineMs: etcdProbeTimeouts(deps.config).callMs, signal: ctx.signal },
      );
      if (st.isMember && st.healthy) {
        return { member: st.memberId, leader: st.leaderId, raftIndex: st.raftIndex, waitedMs: Date.now() - t0 };
      }
      last = st.isMember ? st.healthError || "not healthy" : "no etcd member answers on the node yet";
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      last = (err as Error).message;
    }
    ctx.progress(`${node.name}: ${last}`);
    try {
      await sleep(POLL_MS, undefined, { signal: ctx.signal });
    } catch {
      throw new KubecycleError("ETCD_UNHEALTHY", `${node.name}: its etcd member did not become healthy: ${last}`, {
        node: node.name,
        hint: "see etcd's static pod on the node: crictl ps --name etcd; crictl logs <container>",
      });
    }
  }
}
