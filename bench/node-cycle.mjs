#!/usr/bin/env node
// Node cycle on the lab: `kubecycle node stop NODE` then `node start NODE`, RUNS times, alternating between the NODES
// (evicted pods do not move back, so a node drained twice in a row has nothing left to drain), timed from the outside (process
// start to exit) and from the journal (every phase and step). Prints medians of: the wall time of each command, each
// phase, the slowest step of each phase, and kubecycle's own overhead: the time a phase takes beyond its slowest step
// (the executor, the journal's fsyncs, the barrier) and the time outside the executor (config, API discovery,
// inventory, plan, lock parking, exit).
// Usage: node bench/node-cycle.mjs [RUNS=4] [NODES=kclab-worker-1,kclab-worker-2]   (needs root, like the lab)
// Uses a running lab if there is one, otherwise brings one up and takes it down at the end.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { exec, median } from "./lib.mjs";

const runs = Number(process.argv[2] ?? 4);
const nodes = (process.argv[3] ?? "kclab-worker-1,kclab-worker-2").split(",");
const repo = new URL("..", import.meta.url).pathname;
const cli = join(repo, "dist/bin/kubecycle.mjs");
const labState = join(repo, ".lab");

const lab = (...args) => exec([process.execPath, "test/lab/run.mjs", "test/lab/cli.ts", ...args], { cwd: repo });

/** Runs one kubecycle procedure; returns its wall time and its journal's records. */
async function procedure(args) {
  const t0 = performance.now();
  const r = await exec([process.execPath, cli, ...args, "--yes"], {
    cwd: repo,
    env: { KUBECYCLE_CONFIG: join(labState, "kubecycle.yaml") },
  });
  const wallMs = performance.now() - t0;
  if (r.code !== 0) throw new Error(`kubecycle ${args.join(" ")} failed (${r.code}):\n${r.stderr}`);
  const op = /operation (\S+)/.exec(r.stderr)?.[1];
  const text = await readFile(join(labState, "coordinator", "operations", op, "journal.jsonl"), "utf8");
  const records = text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  return { wallMs, records };
}

/** Per phase: its duration and its slowest step; and the time the executor ran. */
function analyse({ wallMs, records }) {
  const at = (r) => Date.parse(r.t);
  const started = records.find((r) => r.type === "operation-started");
  const finished = records.find((r) => r.type === "operation-finished");
  const phaseStarts = records.filter((r) => r.type === "phase-started");
  const stepStart = new Map();
  const slowest = new Map();
  const phaseOfStep = new Map();
  for (const r of records) {
    if (r.type === "step-started") {
      stepStart.set(r.step, at(r));
      phaseOfStep.set(r.step, r.phase);
    }
    if (r.type === "step-succeeded" || r.type === "step-failed" || r.type === "step-skipped") {
      const ms = stepStart.has(r.step) ? at(r) - stepStart.get(r.step) : 0;
      const phase = phaseOfStep.get(r.step) ?? r.step.split("/")[0];
      slowest.set(phase, Math.max(slowest.get(phase) ?? 0, ms));
    }
  }
  const phases = phaseStarts.map((p, i) => {
    const end = i + 1 < phaseStarts.length ? at(phaseStarts[i + 1]) : at(finished);
    const ms = end - at(p);
    return { phase: p.phase, ms, slowestStepMs: slowest.get(p.phase) ?? 0 };
  });
  const executorMs = at(finished) - at(started);
  return { wallMs, executorMs, outsideMs: wallMs - executorMs, phases };
}

function report(title, samples) {
  const f = (ms) => `${Math.round(ms)}`.padStart(7);
  console.log(`\n${title} (medians of ${samples.length} runs, ms)`);
  console.log(`  wall time                 ${f(median(samples.map((s) => s.wallMs)))}`);
  console.log(`  outside the executor      ${f(median(samples.map((s) => s.outsideMs)))}`);
  const overheads = samples.map((s) => s.phases.reduce((sum, p) => sum + (p.ms - p.slowestStepMs), 0));
  console.log(`  executor overhead, total  ${f(median(overheads))}   (phases beyond their slowest step)`);
  console.log(`  ${"phase".padEnd(24)}${"phase".padStart(8)}${"slowest step".padStart(14)}${"overhead".padStart(10)}`);
  for (const { phase } of samples[0].phases) {
    const of = samples.map((s) => s.phases.find((p) => p.phase === phase)).filter(Boolean);
    const ms = median(of.map((p) => p.ms));
    const step = median(of.map((p) => p.slowestStepMs));
    const over = median(of.map((p) => p.ms - p.slowestStepMs));
    console.log(`  ${phase.padEnd(24)}${f(ms).padStart(8)}${f(step).padStart(14)}${f(over).padStart(10)}`);
  }
}

const wasUp = (await lab("status")).code === 0;
if (!wasUp) {
  console.log("bringing the lab up...");
  const up = await lab("up", "--no-build");
  if (up.code !== 0) throw new Error(`lab up failed:\n${up.stderr}`);
}
let interrupted = false;
process.on("SIGINT", () => (interrupted = true));
try {
  const stops = [];
  const starts = [];
  for (let i = 0; i < runs && !interrupted; i++) {
    const node = nodes[i % nodes.length];
    stops.push(analyse(await procedure(["node", "stop", node])));
    starts.push(analyse(await procedure(["node", "start", node])));
    const [stop, start] = [stops.at(-1).wallMs, starts.at(-1).wallMs].map(Math.round);
    console.log(`run ${i + 1}, ${node}: stop ${stop} ms, start ${start} ms`);
  }
  if (stops.length > 0) {
    report(`node stop (${nodes.join(", ")})`, stops);
    report(`node start (${nodes.join(", ")})`, starts);
  }
} finally {
  if (!wasUp) {
    console.log("\ntaking the lab down...");
    await lab("down");
  }
}
