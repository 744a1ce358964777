import { spawnSync } from "node:child_process";
import { getEventListeners } from "node:events";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { KubecycleError } from "../../shared/index.js";
import { PLAN_VERSION, type Phase, type Plan, type Step } from "../plan/index.js";
import { executePlan, type StepRunners } from "./executor.js";
import { Journal, listOperations, newOperationId, readOperation, type JournalEntry } from "./journal.js";

const log = pino({ level: "silent" });

function step(id: string, node: string, timeoutMs = 5000): Step {
  return { id, node, action: { kind: "cordon" }, timeoutMs, check: "cordoned" };
}

function plan(phases: Phase[]): Plan {
  return { version: PLAN_VERSION, procedure: "test run", target: "lab", phases };
}

async function setup(p: Plan) {
  const stateDir = await mkdtemp(join(tmpdir(), "kc-exec-"));
  const op = newOperationId(p.procedure, p.target);
  const journal = await Journal.create(stateDir, op, p, { nodes: [] });
  return { stateDir, op, journal };
}

describe("executePlan", () => {
  it("leaves no listener on a step's signal once the step is over (a signal with listeners outlives its step)", async () => {
    const p = plan([{ name: "one", title: "One", steps: [step("one/a", "a"), step("one/b", "b")] }]);
    const { journal } = await setup(p);
    const signals: AbortSignal[] = [];
    const runners: StepRunners = {
      cordon: (ctx) => {
        signals.push(ctx.signal);
        return Promise.resolve({});
      },
    };
    const interrupt = new AbortController();
    const res = await executePlan({ plan: p, journal, runners, concurrency: 2, interrupt: interrupt.signal, log });
    await journal.close();
    expect(res.result).toBe("succeeded");
    expect(signals).toHaveLength(2);
    for (const s of signals) expect(getEventListeners(s, "abort")).toEqual([]);
  });

  it("runs phases in order with a barrier, steps of a phase concurrently up to the bound, and journals evidence", async () => {
    const p = plan([
      { name: "one", title: "One", steps: [step("one/a", "a"), step("one/b", "b"), step("one/c", "c")] },
      { name: "two", title: "Two", steps: [step("two/a", "a")] },
    ]);
    const { stateDir, op, journal } = await setup(p);
    const timeline: string[] = [];
    let running = 0;
    let peak = 0;
    const runners: StepRunners = {
      cordon: async (ctx) => {
        running++;
        peak = Math.max(peak, running);
        timeline.push(`start ${ctx.step.id}`);
        await sleep(30);
        ctx.progress(`working on ${ctx.step.node}`);
        timeline.push(`end ${ctx.step.id}`);
        running--;
        return { node: ctx.step.node, agentOp: ctx.agentOpId() };
      },
    };
    const res = await executePlan({
      plan: p,
      journal,
      runners,
      concurrency: 2,
      interrupt: new AbortController().signal,
      log,
    });
    await journal.close();
    expect(res).toMatchObject({ result: "succeeded", reached: { id: "two/a" } });
    expect(peak).toBe(2);
    // Phase two starts only after every step of phase one ended.
    expect(timeline.indexOf("start two/a")).toBeGreaterThan(
      Math.max(...["one/a", "one/b", "one/c"].map((s) => timeline.indexOf(`end ${s}`))),
    );

    const summary = await readOperation(stateDir, op);
    expect(summary.result).toBe("succeeded");
    expect(summary.steps.map((s) => [s.step, s.status])).toEqual([
      ["one/a", "succeeded"],
      ["one/b", "succeeded"],
      ["one/c", "succeeded"],
      ["two/a", "succeeded"],
    ]);
    expect(summary.steps[0]?.evidence).toEqual({ node: "a", agentOp: `${op}.one.a` });
    expect(summary.steps[0]?.progress).toBe("working on a");
    expect(await listOperations(stateDir)).toHaveLength(1);
  });

  it("stops at a failed step: running siblings finish, nothing new starts, the error is journaled", async () => {
    const p = plan([
      { name: "one", title: "One", steps: [step("one/a", "a"), step("one/b", "b"), step("one/c", "c")] },
      { name: "two", title: "Two", steps: [step("two/a", "a")] },
    ]);
    const { stateDir, op, journal } = await setup(p);
    const started: string[] = [];
    const runners: StepRunners = {
      cordon: async (ctx) => {
        started.push(ctx.step.id);
        if (ctx.step.id === "one/a")
          throw new KubecycleError("NODE_UNREACHABLE", "a: agent does not answer", { node: "a" });
        await sleep(50);
        return {};
      },
    };
    const res = await executePlan({
      plan: p,
      journal,
      runners,
      concurrency: 2,
      interrupt: new AbortController().signal,
      log,
    });
    await journal.close();
    expect(res.result).toBe("failed");
    expect(res.failed?.step.id).toBe("one/a");
    expect(res.failed?.error.code).toBe("NODE_UNREACHABLE");
    expect(started).toEqual(["one/a", "one/b"]);
    const summary = await readOperation(stateDir, op);
    expect(summary.result).toBe("failed");
    expect(summary.reason).toContain("one/a: a: agent does not answer");
    expect(Object.fromEntries(summary.steps.map((s) => [s.step, s.status]))).toEqual({
      "one/a": "failed",
      "one/b": "succeeded",
      "one/c": "pending",
      "two/a": "pending",
    });
    expect(summary.steps[0]?.error).toMatchObject({ code: "NODE_UNREACHABLE", fields: { node: "a" } });
  });

  it("fails a step at its deadline even if the runner ignores its signal", async () => {
    const p = plan([{ name: "one", title: "One", steps: [step("one/slow", "a", 100)] }]);
    const { journal } = await setup(p);
    const t0 = Date.now();
    const res = await executePlan({
      plan: p,
      journal,
      runners: { cordon: () => sleep(5000).then(() => ({})) },
      concurrency: 1,
      interrupt: new AbortController().signal,
      log,
    });
    await journal.close();
    expect(res.failed?.error).toMatchObject({
      code: "DEADLINE_EXCEEDED",
      fields: { step: "one/slow", timeoutMs: 100 },
    });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("on interrupt starts nothing new, records where it stopped and finishes as interrupted", async () => {
    const p = plan([
      { name: "one", title: "One", steps: [step("one/a", "a")] },
      { name: "two", title: "Two", steps: [step("two/a", "a")] },
    ]);
    const { stateDir, op, journal } = await setup(p);
    const interrupt = new AbortController();
    const events: JournalEntry[] = [];
    const res = await executePlan({
      plan: p,
      journal,
      runners: {
        cordon: async (ctx) => {
          interrupt.abort();
          await sleep(10_000, undefined, { signal: ctx.signal });
          return {};
        },
      },
      concurrency: 1,
      interrupt: interrupt.signal,
      log,
      onEvent: (e) => events.push(e),
    });
    await journal.close();
    expect(res.result).toBe("interrupted");
    expect(res.failed?.error.code).toBe("CANCELLED");
    const summary = await readOperation(stateDir, op);
    expect(summary.result).toBe("interrupted");
    expect(summary.steps.map((s) => [s.step, s.status, s.error?.code])).toEqual([
      ["one/a", "failed", "CANCELLED"],
      ["two/a", "pending", undefined],
    ]);
    expect(events.at(-1)).toMatchObject({ type: "operation-finished", result: "interrupted" });
  });

  it("fences every step that changes a node: a refused fence fails the step before it acts", async () => {
    const p = plan([{ name: "one", title: "One", steps: [step("one/a", "a")] }]);
    const { journal } = await setup(p);
    const acted: string[] = [];
    const res = await executePlan({
      plan: p,
      journal,
      runners: { cordon: (ctx) => Promise.resolve({ acted: acted.push(ctx.step.id) }) },
      concurrency: 1,
      interrupt: new AbortController().signal,
      log,
      beforeChange: () => Promise.reject(new KubecycleError("LOCK_HELD", "lost the cluster lock")),
    });
    await journal.close();
    expect(res).toMatchObject({ result: "failed", failed: { error: { code: "LOCK_HELD" } } });
    expect(acted).toEqual([]);
  });

  it("skips steps an earlier run completed", async () => {
    const p = plan([{ name: "one", title: "One", steps: [step("one/a", "a"), step("one/b", "b")] }]);
    const { journal } = await setup(p);
    const ran: string[] = [];
    await executePlan({
      plan: p,
      journal,
      runners: { cordon: (ctx) => Promise.resolve({ id: ran.push(ctx.step.id) }) },
      concurrency: 2,
      interrupt: new AbortController().signal,
      log,
      completed: new Map([["one/a", {}]]),
    });
    await journal.close();
    expect(ran).toEqual(["one/b"]);
  });

  it("resumes a failed operation in its own journal: the earlier end is superseded, the completed steps kept", async () => {
    const p = plan([{ name: "one", title: "One", steps: [step("one/a", "a"), step("one/b", "b")] }]);
    const { stateDir, op, journal } = await setup(p);
    let fail = true;
    const runners: StepRunners = {
      cordon: (ctx) =>
        ctx.step.id === "one/b" && fail
          ? Promise.reject(new KubecycleError("NODE_UNREACHABLE", "b is gone"))
          : Promise.resolve({ agentOp: ctx.agentOpId("x") }),
    };
    const base = { plan: p, runners, concurrency: 1, interrupt: new AbortController().signal, log };
    expect((await executePlan({ ...base, journal })).result).toBe("failed");
    await journal.close();
    const failed = await readOperation(stateDir, op);
    expect([failed.result, failed.runs]).toEqual(["failed", 1]);

    fail = false;
    const completed = new Map(
      failed.steps.filter((s) => s.status === "succeeded").map((s) => [s.step, s.evidence ?? {}] as const),
    );
    const again = await Journal.resume(stateDir, op, completed.size, failed.epoch);
    // The resumed run keeps the epoch the operation began with: its changes are the same operation's.
    expect(again.epoch).toBe(journal.epoch);
    expect((await readOperation(stateDir, op)).result).not.toBe("failed");
    expect((await executePlan({ ...base, journal: again, completed })).result).toBe("succeeded");
    await again.close();
    const done = await readOperation(stateDir, op);
    expect([done.result, done.runs, done.reason]).toEqual(["succeeded", 2, undefined]);
    expect(done.steps.map((s) => [s.step, s.status])).toEqual([
      ["one/a", "skipped"],
      ["one/b", "succeeded"],
    ]);
    // The same step gives the same agent operation id in both runs: the agent replays instead of acting twice.
    expect(done.steps[1]?.evidence).toEqual({ agentOp: `${op}.one.b.x` });
  });

  it("hands a step the evidence of the steps before it, from this run and from an earlier one", async () => {
    const p = plan([
      { name: "one", title: "One", steps: [step("one/a", "a")] },
      { name: "two", title: "Two", steps: [step("two/b", "b")] },
      { name: "three", title: "Three", steps: [step("three/c", "c")] },
    ]);
    const { journal } = await setup(p);
    const seen: Record<string, unknown> = {};
    const runners: StepRunners = {
      cordon: (ctx) => {
        seen[ctx.step.id] = { a: ctx.evidenceOf("one/a"), b: ctx.evidenceOf("two/b"), c: ctx.evidenceOf("three/c") };
        return Promise.resolve({ by: ctx.step.id });
      },
    };
    await executePlan({
      plan: p,
      journal,
      runners,
      concurrency: 1,
      interrupt: new AbortController().signal,
      log,
      completed: new Map([["one/a", { revision: 42 }]]),
    });
    await journal.close();
    expect(seen).toEqual({
      "two/b": { a: { revision: 42 }, b: undefined, c: undefined },
      "three/c": { a: { revision: 42 }, b: { by: "two/b" }, c: undefined },
    });
  });
});

describe("journal", () => {
  it("makes readable, sortable operation ids", () => {
    expect(newOperationId("node stop", "Worker_1", new Date("2026-11-26T01:15:00Z"))).toMatch(
      /^20261126T011500-node-stop-worker-1-[0-9a-f]{4}$/,
    );
  });

  it("ignores a torn last line and reports an unfinished operation as running", async () => {
    const p = plan([{ name: "one", title: "One", steps: [step("one/a", "a")] }]);
    const { stateDir, op, journal } = await setup(p);
    await journal.append({ type: "step-started", step: "one/a", phase: "one", node: "a" });
    await journal.close();
    const { appendFile } = await import("node:fs/promises");
    await appendFile(join(stateDir, "operations", op, "journal.jsonl"), '{"type":"step-succ');
    const summary = await readOperation(stateDir, op);
    expect(summary.result).toBe("running");
    expect(summary.steps[0]?.status).toBe("running");
    const lines = (await readFile(join(stateDir, "operations", op, "journal.jsonl"), "utf8")).split("\n");
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ type: "operation-started", op, procedure: "test run" });
  });

  it("reports an unfinished operation whose kubecycle process is gone as abandoned, naming the pid", async () => {
    const p = plan([{ name: "one", title: "One", steps: [step("one/a", "a")] }]);
    const { stateDir, op, journal } = await setup(p);
    await journal.append({ type: "step-started", step: "one/a", phase: "one", node: "a" });
    await journal.close();
    // The journal as a kubecycle process that has exited since would have left it: its pid, this host.
    const gone = spawnSync(process.execPath, ["-e", ""]).pid;
    const file = join(stateDir, "operations", op, "journal.jsonl");
    const lines = (await readFile(file, "utf8")).trim().split("\n");
    const started = { ...JSON.parse(lines[0] ?? ""), pid: gone };
    await writeFile(file, [JSON.stringify(started), ...lines.slice(1)].join("\n") + "\n");
    const summary = await readOperation(stateDir, op);
    expect(summary.result).toBe("abandoned");
    expect(summary.reason).toBe(`its kubecycle process (pid ${gone}) is gone`);
    expect(summary.steps[0]?.status).toBe("running");

    // On another host this one cannot tell: it stays running.
    await writeFile(file, [JSON.stringify({ ...started, host: "admin-2" }), ...lines.slice(1)].join("\n") + "\n");
    expect((await readOperation(stateDir, op)).result).toBe("running");
  });

  it("writes concurrent appends whole and in order, each resolved once on disk, and refuses after close", async () => {
    const p = plan([{ name: "one", title: "One", steps: [step("one/a", "a")] }]);
    const { stateDir, op, journal } = await setup(p);
    const file = join(stateDir, "operations", op, "journal.jsonl");
    const settled: number[] = [];
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        journal.append({ type: "step-progress", step: "one/a", message: `m${i}` }).then(async () => {
          // Resolved only once its line is in the file.
          expect(await readFile(file, "utf8")).toContain(`"message":"m${i}"`);
          settled.push(i);
        }),
      ),
    );
    await journal.close();
    expect(settled).toHaveLength(500);
    const lines = (await readFile(file, "utf8")).trim().split("\n").slice(1);
    expect(lines.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(
      Array.from({ length: 500 }, (_, i) => `m${i}`),
    );
    await expect(journal.append({ type: "phase-started", phase: "one" })).rejects.toThrow(/closed/);
    await expect(journal.append({ type: "phase-started", phase: "two" })).rejects.toThrow(/closed/);
  });

  it("refuses an operation id that is not one", async () => {
    await expect(readOperation("/tmp", "../etc")).rejects.toMatchObject({ code: "INVALID_REQUEST" });
  });
});
