#!/usr/bin/env node
// The executor's own overhead as the number of nodes grows: one phase of N steps (one per simulated node) that each
// take STEP_MS, all allowed to run at once, journaled (fsynced) in a state directory on disk as a real run would be.
// The phase can take no less than STEP_MS; what it takes beyond that is kubecycle's: scheduling, the journal's
// appends and fsyncs, the progress events. Prints medians over RUNS for N = 10, 100, 1000.
// Usage: node bench/executor-overhead.mjs [RUNS=5] [STEP_MS=200]   (`npm run build` first)
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { executePlan } from "../dist/coordinator/run/executor.js";
import { Journal, newOperationId } from "../dist/coordinator/run/journal.js";
import { median } from "./lib.mjs";

const runs = Number(process.argv[2] ?? 5);
const stepMs = Number(process.argv[3] ?? 200);
const log = pino({ level: "silent" });

function plan(n) {
  const steps = Array.from({ length: n }, (_, i) => ({
    id: `stop-kubelet/stop-units/node-${i}`,
    node: `node-${i}`,
    action: { kind: "stop-units", units: ["kubelet"], ignoreMissing: [] },
    timeoutMs: 60_000,
    check: "kubelet is inactive",
  }));
  return { version: 1, procedure: "bench", target: `${n} nodes`, phases: [{ name: "stop-kubelet", title: "", steps }] };
}

// /var/tmp: on disk, like a real state directory (/tmp may be tmpfs, where fsync costs nothing).
const dir = await mkdtemp(join("/var/tmp", "kc-bench-exec-"));
try {
  console.log(`executor overhead: one phase of N steps of ${stepMs} ms each, all at once (medians of ${runs} runs)`);
  console.log(`${"N".padStart(6)}${"phase ms".padStart(12)}${"overhead ms".padStart(14)}${"per step ms".padStart(14)}`);
  for (const n of [10, 100, 1000]) {
    const overheads = [];
    const phases = [];
    for (let r = 0; r < runs; r++) {
      const p = plan(n);
      const op = newOperationId("bench", `n${n}`);
      const journal = await Journal.create(dir, op, p);
      const runners = { "stop-units": async () => (await sleep(stepMs), { outcomes: ["kubelet.service: stopped"] }) };
      let events = 0;
      const t0 = performance.now();
      const res = await executePlan({
        plan: p,
        journal,
        runners,
        concurrency: n,
        interrupt: new AbortController().signal,
        log,
        onEvent: () => events++,
      });
      const ms = performance.now() - t0;
      await journal.close();
      if (res.result !== "succeeded") throw new Error(`run failed: ${JSON.stringify(res)}`);
      phases.push(ms);
      overheads.push(ms - stepMs);
    }
    const over = median(overheads);
    console.log(
      `${String(n).padStart(6)}${median(phases).toFixed(0).padStart(12)}${over.toFixed(0).padStart(14)}${(over / n).toFixed(2).padStart(14)}`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
