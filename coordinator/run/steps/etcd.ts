import { setTimeout as sleep } from "node:timers/promises";
import { KubecycleError, type EtcdMemberStatus__Output } from "../../../shared/index.js";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import type { StepDeps } from "./deps.js";

/** Raft indexes this close together count as converged. */
const CONVERGED_INDEXES = 50;

interface MemberView {
  node: string;
  status?: EtcdMemberStatus__Output;
  error?: string;
}

/** Asks every etcd member's agent about its member, concurrently. */
async function survey(deps: StepDeps, ctx: StepContext, excluding: readonly string[] = []): Promise<MemberView[]> {
  const members = deps.inventory.nodes.filter((n) => n.etcdMember && !excluding.includes(n.name));
  return Promise.all(
    members.map(async (n): Promise<MemberView> => {
      try {
        const status = await deps.agents
          .get(n.name, n.address)
          .etcdStatus({ timeoutMs: 5000 }, { deadlineMs: 9000, signal: ctx.signal });
        return { node: n.name, status };
      } catch (err) {
        return { node: n.name, error: (err as Error).message };
      }
    }),
  );
}

function problem(v: MemberView): string | undefined {
  if (v.error) return `${v.node}: agent: ${v.error}`;
  if (!v.status?.isMember) return `${v.node}: no etcd member on this node`;
  if (!v.status.healthy) return `${v.node}: unhealthy: ${v.status.healthError || "no answer"}`;
  return undefined;
}

/** What the members say together: health problems, leaders seen, raft index spread, member count. */
function assess(views: MemberView[]) {
  const problems = views.map(problem).filter((p): p is string => p !== undefined);
  const healthy = views.filter((v) => problem(v) === undefined).map((v) => v.status as EtcdMemberStatus__Output);
  const leaders = [...new Set(healthy.map((s) => s.leaderId).filter((l) => l !== "" && l !== "0"))];
  const indexes = healthy.map((s) => s.raftIndex);
  const spread = indexes.length ? Math.max(...indexes) - Math.min(...indexes) : 0;
  const memberCount = Math.max(0, ...healthy.map((s) => s.members.length));
  return { problems, healthy, leaders, spread, memberCount };
}

/**
 * check-etcd-quorum: before stopping an etcd member, at least 3 members, all healthy, with one leader — so the
 * others keep quorum without it. Otherwise the stop is refused and nothing changes.
 */
export async function checkEtcdQuorum(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "check-etcd-quorum" }>>,
): Promise<Evidence> {
  const leaving = ctx.step.action.leaving;
  const a = assess(await survey(deps, ctx));
  const total = a.memberCount;
  const refuse = (why: string) =>
    new KubecycleError("QUORUM_AT_RISK", `refusing to stop etcd member ${leaving}: ${why}`, {
      node: leaving,
      problems: a.problems,
      hint: "bring every etcd member back to health first (`kubecycle status`, `kubecycle doctor`); nothing was changed",
    });
  if (a.problems.length > 0) throw refuse(`not every member is healthy (${a.problems.join("; ")})`);
  if (total < 3) throw refuse(`the cluster has ${total} etcd member(s); stopping one needs at least 3`);
  if (a.leaders.length !== 1)
    throw refuse(`the members do not agree on one leader (${a.leaders.join(", ") || "none"})`);
  const left = total - 1;
  if (left <= total / 2) throw refuse(`${left} of ${total} members would be left, not a majority`);
  return { members: total, healthy: a.healthy.length, leader: a.leaders[0], quorumWithout: `${left}/${total}` };
}

/**
 * check-etcd-healthy: every member (but the excluded) answers a linearizable read, all see exactly one leader,
 * and their raft indexes have converged. Polled until the deadline.
 */
export async function checkEtcdHealthy(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "check-etcd-healthy" }>>,
): Promise<Evidence> {
  const excluding = ctx.step.action.excluding;
  for (;;) {
    const a = assess(await survey(deps, ctx, excluding));
    const issues = [
      ...a.problems,
      ...(a.leaders.length === 1 ? [] : [`leaders seen: ${a.leaders.join(", ") || "none"}`]),
      ...(a.spread <= CONVERGED_INDEXES ? [] : [`raft indexes ${a.spread} apart`]),
    ];
    if (issues.length === 0 && a.healthy.length > 0) {
      return {
        healthy: a.healthy.length,
        excluding,
        leader: a.leaders[0],
        raftIndexSpread: a.spread,
        members: a.memberCount,
      };
    }
    ctx.progress(issues.join("; "));
    try {
      await sleep(1000, undefined, { signal: ctx.signal });
    } catch {
      throw new KubecycleError("ETCD_UNHEALTHY", `etcd is not healthy: ${issues.join("; ")}`, {
        problems: issues,
        hint: "see `kubecycle status` and the members' journals (`journalctl -u etcd` on the nodes)",
      });
    }
  }
}
