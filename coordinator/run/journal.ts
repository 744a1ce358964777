import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { KubecycleError, writeFileDurably } from "../../shared/index.js";
import { kubecycleProcess, thisProcess, type ProcessRef } from "../liveness.js";
import type { Plan } from "../plan/index.js";

/** One line of an operation's journal. Appended and fsynced before the executor moves on. */
export type JournalRecord =
  | {
      type: "operation-started";
      t: string;
      op: string;
      /** The operation's epoch (unix ms), which every change it sends carries; absent in older journals (then t). */
      epoch?: number;
      procedure: string;
      target: string;
      user: string;
      host: string;
      pid: number;
      started?: number;
      origin?: OperationOrigin;
    }
  | {
      type: "operation-resumed";
      t: string;
      user: string;
      host: string;
      pid: number;
      started?: number;
      completed: number;
    }
  | { type: "phase-started"; t: string; phase: string }
  | { type: "step-started"; t: string; step: string; phase: string; node?: string }
  | { type: "step-progress"; t: string; step: string; message: string }
  | { type: "step-succeeded"; t: string; step: string; evidence: Record<string, unknown> }
  | { type: "step-failed"; t: string; step: string; code: string; message: string; fields: Record<string, unknown> }
  | { type: "step-skipped"; t: string; step: string; reason: string }
  | { type: "operation-finished"; t: string; result: "succeeded" | "failed" | "interrupted"; reason?: string };

type Body<R> = R extends unknown ? Omit<R, "t"> : never;
/** A record as the executor hands it over; the journal stamps the time. */
export type JournalEntry = Body<JournalRecord>;

/**
 * Who began an operation other than an operator at a terminal, and why: `serve` running the start a cluster stop
 * armed (`--start-on-boot`), once every node reported after its new boot.
 */
export interface OperationOrigin {
  by: string;
  why: string;
}

/** What the steps of an operation worked from, beside its plan: a resume works from the same. */
const INVENTORY = "inventory.json";

const OP_ID = /^[0-9]{8}T[0-9]{6}-[a-z0-9-]+-[0-9a-f]{4}$/;

/** A new operation id: sortable by time, readable, unique. e.g. 20261126T011500-node-stop-w1-a3f9 */
export function newOperationId(procedure: string, target: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").slice(0, 15);
  const slug = `${procedure}-${target}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 60);
  return `${stamp}-${slug}-${randomBytes(2).toString("hex")}`;
}

/** Where the executor records what happens: an operation's journal, or (for a dry run's checks) nowhere durable. */
export interface JournalWriter {
  readonly op: string;
  append(entry: JournalEntry): Promise<void>;
}

/** A journal that keeps its entries in memory: a dry run changes nothing, its state directory included. */
export class MemoryJournal implements JournalWriter {
  readonly op: string;
  readonly entries: JournalEntry[] = [];

  constructor(op: string) {
    this.op = op;
  }

  append(entry: JournalEntry): Promise<void> {
    this.entries.push(entry);
    return Promise.resolve();
  }
}

/**
 * The durable record of one operation, in `<stateDir>/operations/<op>/`: plan.json (written whole via temp file,
 * fsync and rename) and journal.jsonl (append-only, one fsynced line per record). What it says is what happened,
 * also after a crash: a record is on disk before the executor acts on the next step.
 */
export class Journal implements JournalWriter {
  readonly op: string;
  readonly dir: string;
  /** The operation's epoch: when it began, by this machine's clock; a resumed operation keeps it (see OperationStamp). */
  readonly epoch: number;
  #fh: FileHandle | undefined;
  /** Lines waiting for the next write; each promise settles once its line is on disk. */
  #pending: Array<{ line: string; done: (err?: Error) => void }> = [];
  /** The write-and-fsync loop, while it runs. */
  #flushing: Promise<void> | undefined;

  private constructor(op: string, dir: string, epoch: number) {
    this.op = op;
    this.dir = dir;
    this.epoch = epoch;
  }

  /**
   * Creates the operation's directory, writes its plan and what the steps work from (the inventory), and opens its
   * journal.
   */
  static async create(
    stateDir: string,
    op: string,
    plan: Plan,
    inventory: unknown,
    origin?: OperationOrigin,
  ): Promise<Journal> {
    const dir = join(stateDir, "operations", op);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileDurably(join(dir, "plan.json"), `${JSON.stringify(plan, null, 2)}\n`);
    await writeFileDurably(join(dir, INVENTORY), `${JSON.stringify(inventory, null, 2)}\n`);
    const j = new Journal(op, dir, Date.now());
    j.#fh = await open(join(dir, "journal.jsonl"), "a", 0o600);
    await j.append({
      type: "operation-started",
      op,
      epoch: j.epoch,
      procedure: plan.procedure,
      target: plan.target,
      ...thisProcess(),
      ...(origin ? { origin } : {}),
    });
    return j;
  }

  /**
   * Opens an operation's journal again to resume it, with the epoch it began with (OperationSummary.epoch): what
   * follows is appended after a record saying so.
   */
  static async resume(stateDir: string, op: string, completed: number, epoch: number): Promise<Journal> {
    const dir = join(stateDir, "operations", op);
    const j = new Journal(op, dir, epoch);
    j.#fh = await open(join(dir, "journal.jsonl"), "a", 0o600);
    await j.append({ type: "operation-resumed", ...thisProcess(), completed });
    return j;
  }

  /**
   * Appends one record; resolves once it is fsynced. Records are written whole and in order, so concurrent steps
   * never interleave a line. Records that arrive while a write is in flight go out together in the next write, with
   * one fsync (group commit): a phase on a thousand nodes costs a few fsyncs, not two thousand.
   */
  append(entry: JournalEntry): Promise<void> {
    const line = `${JSON.stringify({ ...entry, t: new Date().toISOString() })}\n`;
    return new Promise((resolve, reject) => {
      this.#pending.push({ line, done: (err) => (err === undefined ? resolve() : reject(err)) });
      this.#flushing ??= this.#flush();
    });
  }

  async #flush(): Promise<void> {
    // Yield first, so that append() has stored this promise before the loop can end and clear it.
    await Promise.resolve();
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      let failure: Error | undefined;
      try {
        if (!this.#fh) throw new KubecycleError("INTERNAL", `journal ${this.op} is closed`);
        await this.#fh.appendFile(batch.map((b) => b.line).join(""));
        await this.#fh.sync();
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
      }
      for (const b of batch) b.done(failure);
    }
    this.#flushing = undefined;
  }

  async close(): Promise<void> {
    await this.#flushing;
    await this.#fh?.close();
    this.#fh = undefined;
  }
}

/** The state of one step as the journal tells it. */
export interface StepState {
  step: string;
  phase: string;
  node?: string;
  status: "pending" | "running" | "succeeded" | "failed" | "skipped";
  startedAt?: string;
  finishedAt?: string;
  evidence?: Record<string, unknown>;
  error?: { code: string; message: string; fields: Record<string, unknown> };
  progress?: string;
}

/** An operation as read back from its directory. */
export interface OperationSummary {
  op: string;
  procedure: string;
  target: string;
  user: string;
  host: string;
  startedAt: string;
  /** The operation's epoch (see Journal.epoch). */
  epoch: number;
  finishedAt?: string;
  /** Set when something else than an operator began it (serve's start on boot), with why. */
  origin?: OperationOrigin;
  /**
   * Without a finish record: "running" while the kubecycle process that writes it is alive (or on another host, where
   * this one cannot tell), "abandoned" once that process is gone (killed, or its machine went down).
   */
  result: "succeeded" | "failed" | "interrupted" | "running" | "abandoned";
  reason?: string;
  /** 1, plus one for every `ops resume`. */
  runs: number;
  steps: StepState[];
  plan: Plan;
}

/** Reads an operation's plan and journal. A torn last line (crash mid-write) is ignored. */
export async function readOperation(stateDir: string, op: string): Promise<OperationSummary> {
  if (!OP_ID.test(op)) {
    throw new KubecycleError("INVALID_REQUEST", `"${op}" is not an operation id`, {
      hint: "list them with `kubecycle ops list`",
    });
  }
  const dir = join(stateDir, "operations", op);
  let planText: string;
  let journalText: string;
  try {
    [planText, journalText] = await Promise.all([
      readFile(join(dir, "plan.json"), "utf8"),
      readFile(join(dir, "journal.jsonl"), "utf8"),
    ]);
  } catch {
    throw new KubecycleError("INVALID_REQUEST", `no operation ${op} in ${stateDir}`, {
      hint: "list them with `kubecycle ops list`",
    });
  }
  const plan = JSON.parse(planText) as Plan;
  const records: JournalRecord[] = [];
  for (const line of journalText.split("\n")) {
    if (line.trim() === "") continue;
    try {
      records.push(JSON.parse(line) as JournalRecord);
    } catch {
      // Only the last line can be torn; everything before it was fsynced whole.
    }
  }
  const steps = new Map<string, StepState>();
  for (const phase of plan.phases) {
    for (const s of phase.steps) {
      steps.set(s.id, { step: s.id, phase: phase.name, ...(s.node ? { node: s.node } : {}), status: "pending" });
    }
  }
  let writer: ProcessRef = {};
  const summary: OperationSummary = {
    op,
    procedure: plan.procedure,
    target: plan.target,
    user: "",
    host: "",
    startedAt: "",
    epoch: 0,
    result: "running",
    runs: 1,
    steps: [],
    plan,
  };
  for (const r of records) {
    const s = "step" in r ? steps.get(r.step) : undefined;
    switch (r.type) {
      case "operation-started":
        Object.assign(summary, {
          user: r.user,
          host: r.host,
          startedAt: r.t,
          epoch: r.epoch ?? Date.parse(r.t),
          ...(r.origin ? { origin: r.origin } : {}),
        });
        writer = { host: r.host, pid: r.pid, started: r.started };
        break;
      case "operation-resumed":
        // A resumed operation runs again: its earlier end no longer says how it ended.
        Object.assign(summary, { user: r.user, host: r.host, result: "running", runs: summary.runs + 1 });
        delete summary.finishedAt;
        delete summary.reason;
        writer = { host: r.host, pid: r.pid, started: r.started };
        break;
      case "step-started":
        if (s) Object.assign(s, { status: "running", startedAt: r.t });
        break;
      case "step-progress":
        if (s) s.progress = r.message;
        break;
      case "step-succeeded":
        if (s) Object.assign(s, { status: "succeeded", finishedAt: r.t, evidence: r.evidence });
        break;
      case "step-failed":
        if (s)
          Object.assign(s, {
            status: "failed",
            finishedAt: r.t,
            error: { code: r.code, message: r.message, fields: r.fields },
          });
        break;
      case "step-skipped":
        if (s) Object.assign(s, { status: "skipped", finishedAt: r.t });
        break;
      case "operation-finished":
        Object.assign(summary, { result: r.result, finishedAt: r.t, ...(r.reason ? { reason: r.reason } : {}) });
        break;
      case "phase-started":
        break;
    }
  }
  summary.steps = [...steps.values()];
  if (summary.result === "running" && kubecycleProcess(writer) === "gone") {
    summary.result = "abandoned";
    summary.reason = `its kubecycle process (pid ${writer.pid ?? "unknown"}) is gone`;
  }
  return summary;
}

/** Every operation in the state directory, newest first. */
export async function listOperations(stateDir: string): Promise<OperationSummary[]> {
  let names: string[];
  try {
    names = await readdir(join(stateDir, "operations"));
  } catch {
    return [];
  }
  const ops = await Promise.all(
    names.filter((n) => OP_ID.test(n)).map((n) => readOperation(stateDir, n).catch(() => undefined)),
  );
  return ops.filter((o): o is OperationSummary => o !== undefined).sort((a, b) => b.op.localeCompare(a.op));
}

/** What an operation's steps worked from (see Journal.create). */
export async function readOperationInventory<T>(stateDir: string, op: string): Promise<T> {
  const path = join(stateDir, "operations", op, INVENTORY);
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    throw new KubecycleError("INVALID_REQUEST", `operation ${op} has no recorded inventory (${path})`, {
      hint: "it was started by an older kubecycle, which cannot be resumed; run the procedure again",
    });
  }
}
