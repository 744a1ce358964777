import { setMaxListeners } from "node:events";
import { KubecycleError, agentOperationId, type ErrorFields, type Logger } from "../../shared/index.js";
import { changesNodes, type Plan, type Step, type StepAction, type StepKind } from "../plan/index.js";
import type { JournalEntry, JournalWriter } from "./journal.js";

/** What a step hands back as proof of success; journaled as the step's evidence. */
export type Evidence = Record<string, unknown>;

/** What a step runner gets. */
export interface StepContext<A extends StepAction = StepAction> {
  op: string;
  step: Step & { action: A };
  /**
   * The operation id of an agent call this step makes, about `parts` (a unit). It is the same on every run of the
   * same step, so a resumed or retried step replays the agent's recorded result instead of acting twice.
   */
  agentOpId: (...parts: string[]) => string;
  /** Aborted at the step's deadline (DEADLINE_EXCEEDED) or when the operator interrupts (CANCELLED). */
  signal: AbortSignal;
  /** A line of progress for the live view and the journal ("3 pods left, web-2 blocked by PDB web"). */
  progress: (message: string) => void;
  /**
   * The evidence of a step of this operation that succeeded before this one (in this run or, on resume, an earlier
   * one): how a step uses what an earlier one learned (a restore's check, the snapshot's revision its staging read).
   */
  evidenceOf: (stepId: string) => Evidence | undefined;
  log: Logger;
}

/** The runners, one per step kind (coordinator/run/steps/). */
export type StepRunners = {
  [K in StepKind]?: (ctx: StepContext<Extract<StepAction, { kind: K }>>) => Promise<Evidence>;
};

/** How an execution ended. */
export interface ExecutionResult {
  result: "succeeded" | "failed" | "interrupted";
  /** The first step that failed, with its error. */
  failed?: { step: Step; error: KubecycleError };
  /** The furthest step in the plan that was started (in this run or, on resume, an earlier one). */
  reached?: Step;
}

/** Options of {@link executePlan}. */
export interface ExecuteOptions {
  plan: Plan;
  journal: JournalWriter;
  runners: StepRunners;
  /** Steps of one phase run at most this many at a time. */
  concurrency: number;
  /** Aborted on SIGINT/SIGTERM/SIGHUP: no new step starts, running ones are told to stop. */
  interrupt: AbortSignal;
  log: Logger;
  /** Run every step even after one failed (a dry run's checks); the result still says it failed. Default false. */
  continueOnFailure?: boolean;
  /** Steps already done (from the journal of an earlier run), by id with their evidence: skipped on resume. */
  completed?: ReadonlyMap<string, Evidence>;
  /** Every journal entry, as it is written: for the live view and the JSON event stream. */
  onEvent?: (entry: JournalEntry) => void;
  /**
   * Called before every step that changes a node; a rejection fails the step before it acts. The lock's fence:
   * an operation that lost its lock changes nothing more.
   */
  beforeChange?: (step: Step) => Promise<void>;
}

/**
 * Runs a plan: phases in order with a barrier between them, the steps of a phase with bounded concurrency, each step
 * under its own deadline. Every start, result and piece of evidence is journaled (fsynced) before anything else
 * happens. A failed step stops the procedure once the steps already running in its phase have finished.
 */
export async function executePlan(opts: ExecuteOptions): Promise<ExecutionResult> {
  const { plan, journal, interrupt } = opts;
  const record = async (entry: JournalEntry) => {
    await journal.append(entry);
    opts.onEvent?.(entry);
    logEntry(opts.log, journal.op, entry);
  };

  let failed: ExecutionResult["failed"];
  const evidence = new Map<string, Evidence>(opts.completed);
  const order = plan.phases.flatMap((p) => p.steps);
  let reached: Step | undefined = order.filter((s) => opts.completed?.has(s.id)).at(-1);
  const reach = (step: Step) => {
    if (!reached || order.indexOf(step) > order.indexOf(reached)) reached = step;
  };
  for (const phase of plan.phases) {
    const stop = () => interrupt.aborted || (failed !== undefined && !opts.continueOnFailure);
    if (stop()) break;
    const todo = phase.steps.filter((s) => !opts.completed?.has(s.id));
    for (const s of phase.steps.filter((x) => opts.completed?.has(x.id))) {
      await record({ type: "step-skipped", step: s.id, reason: "already done in an earlier run" });
    }
    if (todo.length === 0) continue;
    await record({ type: "phase-started", phase: phase.name });
    const queue = [...todo];
    const worker = async () => {
      for (let step = queue.shift(); step; step = queue.shift()) {
        if (stop()) return;
        reach(step);
        const error = await runStep(step, phase.name);
        if (error) failed ??= { step, error };
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, todo.length)) }, worker));
  }

  // An interrupt wins over the CANCELLED errors it caused in the steps it cut short.
  const cutShort = failed?.error.code === "CANCELLED" && interrupt.aborted;
  const result: ExecutionResult["result"] =
    failed && !cutShort ? "failed" : interrupt.aborted ? "interrupted" : "succeeded";
  await record({
    type: "operation-finished",
    result,
    ...(result === "failed" && failed ? { reason: `${failed.step.id}: ${failed.error.message}` } : {}),
    ...(result === "interrupted" ? { reason: "interrupted by the operator" } : {}),
  });
  return { result, ...(failed ? { failed } : {}), ...(reached ? { reached } : {}) };

  async function runStep(step: Step, phase: string): Promise<KubecycleError | undefined> {
    const runner = opts.runners[step.action.kind] as ((ctx: StepContext) => Promise<Evidence>) | undefined;
    await record({ type: "step-started", step: step.id, phase, ...(step.node ? { node: step.node } : {}) });
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), step.timeoutMs);
    const signal = AbortSignal.any([deadline.signal, interrupt]);
    // A step may ask every node at once under its one signal (record-inventory does): a listener per call in flight
    // is expected, not a leak, and Node's warning about it would land on the operator's terminal.
    setMaxListeners(0, signal);
    const progressWrites: Array<Promise<void>> = [];
    let lastProgress = "";
    const cutOff = whenAborted(signal);
    try {
      if (!runner) throw new KubecycleError("INTERNAL", `no runner for step kind ${step.action.kind}`);
      const ctx: StepContext = {
        op: journal.op,
        step,
        agentOpId: (...parts) => agentOperationId(journal.op, step.id, ...parts),
        signal,
        progress: (message) => {
          lastProgress = message;
          progressWrites.push(record({ type: "step-progress", step: step.id, message }));
        },
        evidenceOf: (id) => evidence.get(id),
        log: opts.log.child({ op: journal.op, step: step.id, ...(step.node ? { node: step.node } : {}) }),
      };
      if (opts.beforeChange && changesNodes(step.action)) await opts.beforeChange(step);
      // A runner that ignores its signal must still not hold the procedure past the deadline.
      const proof = await Promise.race([runner(ctx), cutOff.promise]);
      await Promise.all(progressWrites);
      await record({ type: "step-succeeded", step: step.id, evidence: proof });
      evidence.set(step.id, proof);
      return undefined;
    } catch (err) {
      await Promise.allSettled(progressWrites);
      const error = asStepError(err, step, deadline.signal.aborted, interrupt.aborted, lastProgress);
      await record({
        type: "step-failed",
        step: step.id,
        code: error.code,
        message: error.message,
        fields: plain(error.fields),
      });
      return error;
    } finally {
      clearTimeout(timer);
      cutOff.dispose();
    }
  }
}

/** Every journal entry as a log line too: the log file tells the whole operation, beside the journal. */
function logEntry(log: Logger, op: string, e: JournalEntry): void {
  const { type, ...fields } = e;
  const line = { op, ...fields };
  if (type === "step-failed" || (type === "operation-finished" && e.result !== "succeeded")) log.error(line, type);
  else if (type === "step-progress") log.debug(line, type);
  else log.info(line, type);
}

/**
 * A promise that rejects when `signal` aborts, and the way to remove its listener once the step is over: Node keeps a
 * signal made by AbortSignal.any alive while it has listeners and a source that may still abort (the operation's
 * interrupt), so a listener left behind holds every step's signal, and what it reaches, until the process ends.
 */
function whenAborted(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let fail = (): void => undefined;
  const promise = new Promise<never>((_, reject) => {
    fail = () => reject(new Error("aborted"));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener("abort", fail) };
}

function asStepError(err: unknown, step: Step, timedOut: boolean, interrupted: boolean, last: string): KubecycleError {
  const where: ErrorFields = { step: step.id, ...(step.node ? { node: step.node } : {}) };
  if (interrupted) {
    return new KubecycleError("CANCELLED", `${step.id}: interrupted by the operator`, where, { cause: err });
  }
  if (timedOut) {
    return new KubecycleError(
      "DEADLINE_EXCEEDED",
      `${step.id}: did not finish within ${Math.round(step.timeoutMs / 1000)} s${last ? ` (last: ${last})` : ""}`,
      { ...where, timeoutMs: step.timeoutMs },
      { cause: err },
    );
  }
  if (err instanceof KubecycleError) return err;
  return new KubecycleError("INTERNAL", `${step.id}: ${(err as Error)?.message ?? String(err)}`, where, { cause: err });
}

/** Error fields as journal-safe JSON. */
function plain(fields: Readonly<ErrorFields>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(fields)) as Record<string, unknown>;
}
