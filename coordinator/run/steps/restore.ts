// The steps of `kubecycle etcd restore` and `kubecycle etcd rejoin`: the snapshot checked here and staged on the
// members, each member restored, a lost member replaced and rejoined, and the repaired etcd checked. The work itself
// is the agents' (agent/restore.ts); every call carries an operation id derived from the step, so a resumed step
// replays the agent's answer instead of acting twice.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { KubecycleError, type EtcdMemberStatus__Output } from "../../../shared/index.js";
import { etcdProbeTimeouts } from "../../config.js";
import { assessEtcd } from "../../etcd/quorum.js";
import { isEtcdMember, type StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import { survey } from "./etcd.js";
import { remaining, stepAgent, type StepDeps } from "./deps.js";

type Action<K extends StepAction["kind"]> = Extract<StepAction, { kind: K }>;

/** How often the repaired etcd is asked again while the check waits for it. */
const POLL_MS = 500;
/** The chunks a snapshot is sent in: well under the agent's message limit. */
const CHUNK_BYTES = 1024 * 1024;

/** The sha256 (hex) of a file, read as a stream. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES, ...(signal ? { signal } : {}) })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}

/** check-snapshot: the file is still there and still the one the plan was made with. */
export async function checkSnapshot(_deps: StepDeps, ctx: StepContext<Action<"check-snapshot">>): Promise<Evidence> {
  const { path, sha256 } = ctx.step.action;
  const size = await stat(path).then(
    (s) => s.size,
    (err: NodeJS.ErrnoException) => {
      throw new KubecycleError("SNAPSHOT_CORRUPT", `snapshot ${path}: ${err.code ?? err.message}`, {
        hint: "give the path of a snapshot on this host (`kubecycle etcd snapshot` writes them to the backup directory)",
      });
    },
  );
  const got = await sha256File(path, ctx.signal);
  if (got !== sha256) {
    throw new KubecycleError(
      "SNAPSHOT_CORRUPT",
      `snapshot ${path} changed: its sha256 is ${got}, the plan's ${sha256}`,
      {
        hint: "nothing was changed; start the restore again with the snapshot you mean",
      },
    );
  }
  return { path, sha256, sizeBytes: size };
}

/**
 * check-etcd-restorable: a restore replaces every member's data, so it is for an etcd that is broken. One that is
 * healthy (every member answers, one leader) is refused unless forced.
 */
export async function checkEtcdRestorable(
  deps: StepDeps,
  ctx: StepContext<Action<"check-etcd-restorable">>,
): Promise<Evidence> {
  const health = await survey(deps, ctx);
  const a = assessEtcd(health);
  const healthy = health.length > 0 && a.problems.length === 0 && a.leaders.length === 1;
  const evidence = { healthy, problems: a.problems, leaders: a.leaders, members: health.length };
  if (healthy && !ctx.step.action.force) {
    throw new KubecycleError(
      "ETCD_HEALTHY",
      `refusing to restore: etcd is healthy (${health.length} members, leader ${a.leaders[0] ?? "?"}); a restore would roll back every change since the snapshot`,
      { hint: "if that is what you want, add --force; nothing was changed" },
    );
  }
  return evidence;
}

/** stage-snapshot: the snapshot sent to the node's agent, which checks its sha256 and reads it with etcd's tool. */
export async function runStageSnapshot(deps: StepDeps, ctx: StepContext<Action<"stage-snapshot">>): Promise<Evidence> {
  const t0 = Date.now();
  const { path, sha256 } = ctx.step.action;
  const { size } = await stat(path);
  ctx.progress(`sending ${size} bytes`);
  const staged = await stepAgent(deps, ctx).stageSnapshot(
    { operationId: ctx.agentOpId("stage"), sha256, sizeBytes: size },
    createReadStream(path, { highWaterMark: CHUNK_BYTES, signal: ctx.signal }),
    { deadlineMs: remaining(ctx, t0), signal: ctx.signal },
  );
  return {
    revision: staged.revision,
    totalKeys: staged.totalKeys,
    sizeBytes: staged.sizeBytes,
    tool: staged.tool,
    replayed: staged.replayed,
  };
}

/** etcd-restore: the node's member restored from the staged snapshot with the recorded member list. */
export async function runEtcdRestore(deps: StepDeps, ctx: StepContext<Action<"etcd-restore">>): Promise<Evidence> {
  const t0 = Date.now();
  const { sha256, clusterToken } = ctx.step.action;
  const members = deps.inventory.etcd.members.map((m) => ({
    id: m.id,
    name: m.name,
    peerUrls: m.peerUrls,
    clientUrls: m.clientUrls,
    isLearner: m.learner,
  }));
  ctx.progress("restoring into a fresh data directory");
  const r = await stepAgent(deps, ctx).etcdRestore(
    { operationId: ctx.agentOpId("restore"), snapshotSha256: sha256, members, clusterToken },
    { deadlineMs: remaining(ctx, t0), signal: ctx.signal },
  );
  return {
    member: r.memberName,
    dataDir: r.dataDir,
    keptAside: r.keptAside,
    revision: r.revision,
    totalKeys: r.totalKeys,
    tool: r.tool,
    replayed: r.replayed,
  };
}

/** etcd-replace-member: through the step's node's member, the lost member removed and added again. */
export async function runEtcdReplaceMember(
  deps: StepDeps,
  ctx: StepContext<Action<"etcd-replace-member">>,
): Promise<Evidence> {
  const t0 = Date.now();
  const lost = deps.inventory.nodes.find((n) => n.name === ctx.step.action.member);
  if (!lost?.etcd.memberId) {
    throw new KubecycleError("NODE_NOT_FOUND", `${ctx.step.action.member} is not an etcd member in the inventory`, {
      hint: "see `kubecycle status` for the members",
    });
  }
  ctx.progress(`replacing member ${lost.etcd.memberId} (${lost.name})`);
  const r = await stepAgent(deps, ctx).etcdReplaceMember(
    { operationId: ctx.agentOpId("replace"), memberId: lost.etcd.memberId },
    { deadlineMs: remaining(ctx, t0), signal: ctx.signal },
  );
  return {
    removedId: r.removedId,
    addedId: r.added?.id ?? "",
    initialCluster: r.initialCluster,
    replayed: r.replayed,
  };
}

/** etcd-rejoin: prepare the node's member to join the existing cluster (or finish that once it has). */
export async function runEtcdRejoin(deps: StepDeps, ctx: StepContext<Action<"etcd-rejoin">>): Promise<Evidence> {
  const t0 = Date.now();
  const { phase, replacedBy } = ctx.step.action;
  const initialCluster = ctx.evidenceOf(replacedBy)?.initialCluster;
  if (phase === "prepare" && typeof initialCluster !== "string") {
    throw new KubecycleError("INTERNAL", `${ctx.step.id}: step ${replacedBy} left no initial cluster`);
  }
  const r = await stepAgent(deps, ctx).etcdRejoin(
    {
      operationId: ctx.agentOpId("rejoin", phase),
      phase: phase === "prepare" ? "REJOIN_PHASE_PREPARE" : "REJOIN_PHASE_FINISH",
      initialCluster: typeof initialCluster === "string" ? initialCluster : "",
    },
    { deadlineMs: remaining(ctx, t0), signal: ctx.signal },
  );
  return { dataDir: r.dataDir, keptAside: r.keptAside, configured: r.configured, replayed: r.replayed };
}

/**
 * check-etcd-members: every member node's own member answers healthy, all name the same leader, each lists the
 * recorded members by name and peer URLs (a restore and a rejoin give members new ids), and, after a restore, the
 * keyspace is at the snapshot's revision (or past it, once an API server may have written). Polled until the deadline.
 */
export async function checkEtcdMembers(
  deps: StepDeps,
  ctx: StepContext<Action<"check-etcd-members">>,
): Promise<Evidence> {
  const { revisionFrom, exactRevision } = ctx.step.action;
  const revision = revisionFrom === undefined ? undefined : Number(ctx.evidenceOf(revisionFrom)?.revision);
  if (revision !== undefined && !Number.isFinite(revision)) {
    throw new KubecycleError("INTERNAL", `${ctx.step.id}: step ${revisionFrom} left no snapshot revision`);
  }
  const probe = etcdProbeTimeouts(deps.config);
  const want = memberSet(deps.inventory.etcd.members);
  const nodes = deps.inventory.nodes.filter(isEtcdMember);
  for (;;) {
    const answers = await Promise.all(
      nodes.map(async (n) => {
        try {
          const st = await deps.agents
            .get(n.name, n.address)
            .etcdStatus({ timeoutMs: probe.etcdMs }, { deadlineMs: probe.callMs, signal: ctx.signal });
          return { node: n.name, st };
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          return { node: n.name, error: (err as Error).message };
        }
      }),
    );
    const issues = answers.flatMap((a) => memberIssues(a.node, a.st, a.error, want, revision, exactRevision));
    const leaders = [...new Set(answers.map((a) => a.st?.leaderId).filter((l): l is string => !!l))];
    if (leaders.length !== 1) issues.push(`leaders seen: ${leaders.join(", ") || "none"}`);
    if (issues.length === 0) {
      return {
        members: answers.length,
        leader: leaders[0],
        revisions: Object.fromEntries(answers.map((a) => [a.node, a.st?.revision])),
        ...(revision !== undefined ? { snapshotRevision: revision } : {}),
      };
    }
    ctx.progress(issues.join("; "));
    try {
      await sleep(POLL_MS, undefined, { signal: ctx.signal });
    } catch {
      throw new KubecycleError("ETCD_UNHEALTHY", `etcd is not as it should be: ${issues.join("; ")}`, {
        problems: issues,
        hint: "see the members' journals (`kubecycle doctor`, `journalctl -u etcd` on the nodes); resume with `kubecycle ops resume` once fixed",
      });
    }
  }
}

/** name=peer URLs, sorted: a member list to compare whatever the ids. */
function memberSet(members: ReadonlyArray<{ name: string; peerUrls: readonly string[] }>): string {
  return members
    .map((m) => `${m.name}=${[...m.peerUrls].sort().join("|")}`)
    .sort()
    .join(",");
}

function memberIssues(
  node: string,
  st: EtcdMemberStatus__Output | undefined,
  error: string | undefined,
  want: string,
  revision: number | undefined,
  exact: boolean,
): string[] {
  if (!st) return [`${node}: ${error ?? "no answer"}`];
  if (!st.isMember) return [`${node}: no etcd member answers`];
  if (!st.healthy) return [`${node}: ${st.healthError || "not healthy"}`];
  const issues: string[] = [];
  const seen = memberSet(st.members);
  if (st.members.length > 0 && seen !== want) issues.push(`${node} lists members ${seen}, not the recorded ${want}`);
  if (revision !== undefined) {
    const ok = exact ? st.revision === revision : st.revision >= revision;
    if (!ok) issues.push(`${node} is at revision ${st.revision}, the snapshot at ${revision}`);
  }
  return issues;
}
