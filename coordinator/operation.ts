import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { KubecycleError, createLogger, readTlsFiles, type Logger } from "../shared/index.js";
import { AgentPool } from "./agents/index.js";
import type { CommandContext } from "./command.js";
import { loadCoordinatorConfig, type CompiledCoordinatorConfig, type ConfigFlags } from "./config.js";
import { loadInventory, type Inventory } from "./inventory.js";
import { ClusterLock, connectCluster, type ClusterApi, type LockHolder } from "./kube/index.js";
import { changedNodeBy, renderPlan, type Plan } from "./plan/index.js";
import { executePlan, type Evidence, type ExecutionResult } from "./run/executor.js";
import { Journal, MemoryJournal, newOperationId, type OperationOrigin } from "./run/journal.js";
import { makeRunners } from "./run/steps/index.js";
import { renderOutput } from "./ui/output.js";
import { createProgress, progressMode } from "./ui/progress.js";

/** Everything a command needs to talk to one cluster. */
export interface ClusterSession {
  config: Readonly<CompiledCoordinatorConfig>;
  log: Logger;
  api: ClusterApi;
  agents: AgentPool;
  close(): void;
}

/**
 * Loads the config, opens the log file in the state directory, and connects to the API (the one `ctx` injects, else
 * the kubeconfig's) and the agents.
 */
export async function openSession(ctx: CommandContext, flags: ConfigFlags): Promise<ClusterSession> {
  const config = await loadCoordinatorConfig(flags, ctx.env);
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  // Logs go to a file; the screen gets the progress view, and the log lines too with -v. Written synchronously: a
  // CLI that exits (or is killed) right after a failure must leave its last lines in the file.
  const file = pino.destination({ dest: join(config.stateDir, "kubecycle.log"), mkdir: true, sync: true });
  const log = createLogger({
    name: "kubecycle",
    level: ctx.log.level,
    destination: ctx.log.toStderr ? pino.multistream([{ stream: file }, { stream: pino.destination(2) }]) : file,
  });
  const tls = await readTlsFiles(config.agents.tls, "agents.tls");
  const agents = new AgentPool({ tls, port: config.agents.port, unreachableMs: config.agents.unreachableMs });
  const api =
    ctx.clusterApi ??
    connectCluster({
      kubeconfig: config.kubeconfig,
      context: config.context,
      onFailover: ({ from, to, what, err }) =>
        log.warn({ from, to, what, err: (err as Error).message }, "API server does not answer; failing over"),
    });
  return {
    config,
    log,
    api,
    agents,
    close() {
      agents.closeAll();
      log.flush();
    },
  };
}

/** What to do with the cluster lock when the procedure ends; `lock.adopted`: it was taken over from a parked holder. */
export type LockAfter = (result: ExecutionResult, lock: { readonly adopted: boolean }) => "park" | "release" | "keep";

/**
 * The cluster lock of a procedure. A stop and its start are one family ("node stop"/"node start" of one node,
 * "cluster stop"/"cluster start" of one cluster); either may take over the lock the other, or a failed run of itself,
 * left parked, so the start after a stop, or a re-run after a failure, needs no --break-lock. A start releases it
 * once it succeeds and keeps it parked otherwise. A stop parks it for the start once it touched anything (now, or in
 * the run whose parked lock it took over); a stop that ended before touching anything lets it go. Any other
 * procedure (an etcd restore or rejoin) releases it when it succeeds, and parks it like a stop when it fails. Failures and
 * interruptions (Ctrl-C, SIGTERM, a dropped terminal) are alike: a half-stopped node or cluster must not be open to
 * another operation.
 */
export function procedureLock(plan: Plan): { lockAfter: LockAfter; adoptLock: (h: LockHolder) => boolean } {
  const family = (procedure: string) => procedure.split(" ")[0];
  const adoptLock = (h: LockHolder) =>
    family(h.procedure) === family(plan.procedure) &&
    (h.procedure.endsWith(" stop") || h.procedure.endsWith(" start")) &&
    h.target === plan.target;
  if (plan.procedure.endsWith(" start")) {
    return { adoptLock, lockAfter: (r) => (r.result === "succeeded" ? "release" : "park") };
  }
  // A stop parks its lock for the start; any other procedure (an etcd restore or rejoin) is done when it succeeds.
  const parkWhenDone = plan.procedure.endsWith(" stop");
  return {
    adoptLock,
    lockAfter: (r, lock) =>
      (r.result === "succeeded" && parkWhenDone) ||
      (r.result !== "succeeded" && (lock.adopted || (r.reached !== undefined && changedNodeBy(plan, r.reached.id))))
        ? "park"
        : "release",
  };
}

/** Runs a procedure's plan: dry run, or journal + lock + executor + live progress, with cleanup that always runs. */
export async function runProcedure(opts: {
  ctx: CommandContext;
  session: ClusterSession;
  inventory: Inventory;
  plan: Plan;
  dryRun: boolean;
  /** Called before anything changes (the confirmation); skipped in a dry run. */
  confirm: () => Promise<void>;
  /** Who began it, when not an operator (serve's start on boot), and why: journaled, shown by `ops show`. */
  origin?: OperationOrigin;
  /** Resume this operation (its plan is `plan`, its epoch `epoch`): the steps in `completed` are not run again. */
  resume?: { op: string; epoch: number; completed: ReadonlyMap<string, Evidence> };
}): Promise<number> {
  const { ctx, session, plan } = opts;
  const { lockAfter, adoptLock } = procedureLock(plan);
  if (opts.dryRun) return dryRun(ctx, session, opts.inventory, plan);
  await opts.confirm();
  const op = opts.resume?.op ?? newOperationId(plan.procedure, plan.target);
  const journal = opts.resume
    ? await Journal.resume(session.config.stateDir, op, opts.resume.completed.size, opts.resume.epoch)
    : await Journal.create(session.config.stateDir, op, plan, opts.inventory, opts.origin);
  // Every change sent from here on carries the operation and its epoch: an agent refuses it once a newer operation
  // has changed its node (a request the network held up after this run gave up must not act late).
  session.agents.stampWith({ op, epoch: journal.epoch });
  const interrupt = new AbortController();
  const lock = new ClusterLock(
    session.api,
    { op, procedure: plan.procedure, target: plan.target },
    {
      stateDir: session.config.stateDir,
      // Someone took the lock from under us: stop starting steps, as on Ctrl-C.
      onLost: (err) => {
        session.log.error({ err, op }, "lost the cluster lock");
        ctx.stderr.write(`error: ${err.message}; stopping\n`);
        interrupt.abort();
      },
    },
  );
  const onSignal = (signal: NodeJS.Signals) => {
    session.log.warn({ signal, op }, "interrupted");
    interrupt.abort();
  };
  // SIGHUP: the operator's terminal went away (an ssh session dropped). Stopping cleanly at a step boundary, with the
  // lock released and the journal saying where, beats dying half-way through a step or running on unwatched.
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const s of signals) process.on(s, onSignal);
  const view = createProgress(
    progressMode(ctx.output, (ctx.stdout as { isTTY?: boolean }).isTTY === true),
    ctx.stdout,
    plan,
    op,
  );
  ctx.stderr.write(`operation ${op}${opts.resume ? " (resumed)" : ""}\n`);
  let result: ExecutionResult;
  try {
    // A resumed operation that had its lock holds it again first: the steps after the lock's need it.
    const api = opts.resume ? leaseAfter(plan, opts.resume.completed) : undefined;
    if (api !== undefined) await lock.acquire({ breakLock: false, api, adopt: (h) => h.op === op });
    result = await executePlan({
      plan,
      journal,
      runners: makeRunners({
        api: session.api,
        agents: session.agents,
        inventory: opts.inventory,
        config: session.config,
        lock,
        log: session.log,
        adoptLock,
      }),
      concurrency: session.config.concurrency,
      interrupt: interrupt.signal,
      log: session.log,
      onEvent: (e) => view.event(e),
      beforeChange: () => lock.fence(),
      ...(opts.resume ? { completed: opts.resume.completed } : {}),
    });
  } finally {
    view.close();
    for (const s of signals) process.off(s, onSignal);
    await journal.close();
  }
  // Cleanup must not inherit the interrupt: it gets its own deadline.
  const action = lockAfter(result, lock);
  await withDeadline(
    session.config.timeouts.cleanupMs,
    action === "park" ? lock.park() : action === "release" ? lock.release() : Promise.resolve(),
  ).catch((err: unknown) => session.log.error({ err, op }, "could not release the lock"));
  if (result.result === "succeeded") {
    ctx.stderr.write(`${plan.procedure} ${plan.target}: done (operation ${op})\n`);
    return 0;
  }
  const cause = result.failed?.error;
  // Stopped before anything changed: a refusal, whatever its cause (exit 2, as the quorum guard's).
  const refused =
    result.result === "failed" && result.failed !== undefined && !changedNodeBy(plan, result.failed.step.id);
  throw new KubecycleError(
    cause?.code ?? "CANCELLED",
    `${plan.procedure} ${plan.target} ${result.result === "interrupted" ? "interrupted" : refused ? "refused" : "failed"}` +
      (result.failed ? ` at ${result.failed.step.id}: ${cause?.message}` : ""),
    {
      ...(cause?.fields ?? {}),
      ...(refused ? { refused: true } : {}),
      op,
      hint: `${typeof cause?.fields.hint === "string" ? `${cause.fields.hint}; ` : ""}the journal: kubecycle ops show ${op}`,
    },
    { cause },
  );
}

/**
 * A dry run: the plan, then its read-only preflight checks run for real (nothing is journaled, locked or changed),
 * each with its answer: what a drain would evict, which certificate expires, which member is down. Exit 0 when they
 * all pass, 2 when the procedure would be refused.
 */
async function dryRun(ctx: CommandContext, session: ClusterSession, inventory: Inventory, plan: Plan): Promise<number> {
  const checks: Plan = { ...plan, phases: plan.phases.filter((p) => p.name === "preflight") };
  const journal = new MemoryJournal(newOperationId(`dry run ${plan.procedure}`, plan.target));
  const result =
    checks.phases.length === 0
      ? undefined
      : await executePlan({
          plan: checks,
          journal,
          runners: makeRunners({
            api: session.api,
            agents: session.agents,
            inventory,
            config: session.config,
            lock: new ClusterLock(
              session.api,
              { op: journal.op, procedure: plan.procedure, target: plan.target },
              {
                stateDir: session.config.stateDir,
              },
            ),
            log: session.log,
          }),
          concurrency: session.config.concurrency,
          // Every check runs, also after one refuses: the operator sees all that stands in the way at once.
          interrupt: new AbortController().signal,
          log: session.log,
          continueOnFailure: true,
        });
  interface Answer {
    step: string;
    ok: boolean;
    evidence?: Record<string, unknown>;
    error?: { code: string; message: string };
  }
  const answers = journal.entries.flatMap((e): Answer[] =>
    e.type === "step-succeeded"
      ? [{ step: e.step, ok: true, evidence: e.evidence }]
      : e.type === "step-failed"
        ? [{ step: e.step, ok: false, error: { code: e.code, message: e.message } }]
        : [],
  );
  if (ctx.output === "json" || ctx.output === "yaml") {
    ctx.stdout.write(renderOutput(ctx.output, { plan, preflight: answers }, () => ""));
  } else {
    const lines = answers.map((a) =>
      a.ok ? `  ✓ ${a.step}${summarize(a.evidence)}` : `  ✗ ${a.step}: ${a.error?.message ?? ""}`,
    );
    ctx.stdout.write(`${renderPlan(plan)}\nPreflight, run now (read-only):\n${lines.join("\n") || "  (none)"}\n`);
  }
  return result?.result === "failed" ? 2 : 0;
}

/** A check's evidence in one line: what a drain would evict is listed whole, the rest kept short. */
function summarize(evidence: Record<string, unknown> | undefined): string {
  if (!evidence || Object.keys(evidence).length === 0) return "";
  const pods = Array.isArray(evidence.evict) ? `; a drain would evict: ${evidence.evict.join(", ") || "nothing"}` : "";
  const rest = JSON.stringify({ ...evidence, evict: undefined });
  return ` ${rest.length > 120 ? `${rest.slice(0, 117)}...` : rest}${pods}`;
}

/**
 * Whether a resumed operation's lock includes the Lease, after the steps it completed: undefined when it had not
 * taken the lock yet (its acquire step will), false while the Lease was parked because the API was to be gone
 * (after a cluster stop's park-lease, or a cluster start that began with the API down and did not take it back).
 */
export function leaseAfter(plan: Plan, completed: { has(id: string): boolean }): boolean | undefined {
  let api: boolean | undefined;
  for (const s of plan.phases.flatMap((p) => p.steps)) {
    if (!completed.has(s.id)) continue;
    if (s.action.kind === "acquire-lock") api = s.action.api;
    if (s.action.kind === "park-lease") api = false;
    if (s.action.kind === "attach-lease") api = true;
  }
  return api;
}

function withDeadline<T>(ms: number, work: Promise<T>): Promise<T> {
  return Promise.race([
    work,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`did not finish within ${ms} ms`)), ms).unref(),
    ),
  ]);
}

/** Loads the inventory for a command. */
export function inventoryOf(session: ClusterSession): Promise<Inventory> {
  return loadInventory(session);
}
