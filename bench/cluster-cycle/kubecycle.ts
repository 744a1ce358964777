// kubecycle's `cluster stop` and `cluster start` as an operator runs them: the built CLI as a process, `--yes -o json`.
// Its JSON event stream has every phase's and step's start and end (stamped as they are written, after the journal's
// fsync), so its time can be broken down per phase; the wall time is the process's, from spawn to exit.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../test/lab/agent.js";
import type { Lab } from "../../test/lab/lab.js";

export const CLI = join(REPO_ROOT, "dist/bin/kubecycle.mjs");

/** One phase of an operation, as its events timed it. */
export interface PhaseTiming {
  phase: string;
  /** ms since the epoch. */
  startAt: number;
  endAt: number;
  /** Its slowest step, start to end. */
  slowestStepMs: number;
}

/** One run of a kubecycle procedure. */
export interface KubecycleRun {
  op: string;
  spawnedAt: number;
  exitedAt: number;
  /** From its first event (the first phase's start) to operation-finished. */
  operationStartAt: number;
  operationEndAt: number;
  phases: PhaseTiming[];
  /** Its JSON event stream as it printed it, and its stderr. */
  stdout: string;
  stderr: string;
}

interface Event {
  t: string;
  type: string;
  op?: string;
  phase?: string;
  step?: string;
  result?: string;
  reason?: string;
}

/** Options of {@link runKubecycle}. */
export interface KubecycleOptions {
  /** Node flags for the CLI's process (e.g. --cpu-prof); default none. */
  nodeFlags?: readonly string[];
  /** Killed after this long; default 10 minutes. */
  timeoutMs?: number;
}

/** kubecycle ended with a non-zero exit code (2: refused, nothing changed). */
export class KubecycleFailed extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/** Runs `kubecycle cluster VERB --yes -o json` against the lab; throws unless it succeeds. */
export function runKubecycle(lab: Lab, verb: "stop" | "start", o: KubecycleOptions = {}): Promise<KubecycleRun> {
  return new Promise((resolve, reject) => {
    const spawnedAt = Date.now();
    const child = spawn(process.execPath, [...(o.nodeFlags ?? []), CLI, "cluster", verb, "--yes", "-o", "json"], {
      cwd: REPO_ROOT,
      env: { ...process.env, KUBECYCLE_CONFIG: lab.kubecycleConfigPath },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGINT"), o.timeoutMs ?? 600_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const exitedAt = Date.now();
      if (code !== 0) {
        reject(new KubecycleFailed(`kubecycle cluster ${verb} exited ${code}:\n${stderr.trim()}`, code ?? -1));
        return;
      }
      try {
        // Every JSON event names its operation; stderr names it too, as for an operator.
        const events = parseEvents(stdout);
        const op = events[0]?.op ?? /operation (\S+)/.exec(stderr)?.[1] ?? "?";
        resolve({ ...analyse(op, events, spawnedAt, exitedAt), stdout, stderr });
      } catch (err) {
        reject(new Error(`kubecycle cluster ${verb}: ${(err as Error).message}\n${stderr.trim()}`));
      }
    });
  });
}

function parseEvents(stdout: string): Event[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Event);
}

function analyse(
  op: string,
  events: readonly Event[],
  spawnedAt: number,
  exitedAt: number,
): Omit<KubecycleRun, "stdout" | "stderr"> {
  const at = (e: Event) => Date.parse(e.t);
  const started = events[0];
  const finished = events.find((e) => e.type === "operation-finished");
  if (!started || !finished) throw new Error("its event stream has no events or no operation-finished");
  if (finished.result !== "succeeded") throw new Error(`it ${finished.result}: ${finished.reason ?? ""}`);
  const stepStart = new Map<string, number>();
  const slowest = new Map<string, number>();
  for (const e of events) {
    if (e.type === "step-started" && e.step && e.phase) stepStart.set(e.step, at(e));
    if (e.type === "step-succeeded" && e.step) {
      const phase = e.step.split("/")[0] ?? "";
      const ms = at(e) - (stepStart.get(e.step) ?? at(e));
      slowest.set(phase, Math.max(slowest.get(phase) ?? 0, ms));
    }
  }
  const starts = events.filter((e) => e.type === "phase-started");
  const phases = starts.map((p, i) => {
    const next = starts[i + 1];
    return {
      phase: p.phase ?? "?",
      startAt: at(p),
      endAt: next ? at(next) : at(finished),
      slowestStepMs: slowest.get(p.phase ?? "") ?? 0,
    };
  });
  return { op, spawnedAt, exitedAt, operationStartAt: at(started), operationEndAt: at(finished), phases };
}

/** The time from one phase's start to another's end (both included), or undefined when either did not run. */
export function span(run: KubecycleRun, from: string, to: string): { startAt: number; endAt: number } | undefined {
  const a = run.phases.find((p) => p.phase === from);
  const b = run.phases.find((p) => p.phase === to);
  return a && b ? { startAt: a.startAt, endAt: b.endAt } : undefined;
}
