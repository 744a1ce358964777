#!/usr/bin/env node
// How long an operator waits for `kubecycle status` on the lab: the whole command (process start to exit: config, API
// discovery, every agent's layout, units and etcd, the cached inventory written), timed from the outside, RUNS times
// after one warm-up. Prints the median, min and max, and checks every answer was whole (every agent answered, every
// etcd member healthy), so a fast run that skipped a node does not count.
// Usage: node bench/status.mjs [RUNS=7] [WORKERS=9] [SETTLE_S=45]   (needs root, like the lab; `npm run build` first)
// Uses a running lab if there is one (whatever its size), otherwise brings up 3 masters and WORKERS workers, lets it
// settle SETTLE_S seconds (a lab just up starts its pods and keeps both cores busy) and takes it down at the end.
// Prints the machine's load beside the numbers. Run it under the lab lock: flock /tmp/kubecycle-lab.lock node ...
// Each run also times `kubecycle --version` just before, the CLI's start alone (node, the bundle loaded), so the
// report splits the wait into the start and the command's own work. Each run also times bench/get-nodes.mjs, what
// `kubectl get nodes` does (a process that reads the kubeconfig and lists the nodes over one TLS connection): the
// floor this machine, under this lab's load, puts under any CLI that asks the API once. With KC_STATUS_PROF=DIR each
// status run is profiled (node --cpu-prof) into DIR.
import { loadavg } from "node:os";
import { join } from "node:path";
import { exec, median } from "./lib.mjs";

const runs = Number(process.argv[2] ?? 7);
const workers = process.argv[3] ?? "9";
const settleS = Number(process.argv[4] ?? 45);
const repo = new URL("..", import.meta.url).pathname;
const cli = join(repo, "dist/bin/kubecycle.mjs");

const lab = (...args) => exec([process.execPath, "test/lab/run.mjs", "test/lab/cli.ts", ...args], { cwd: repo });

const prof = process.env.KC_STATUS_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.KC_STATUS_PROF] : [];

/** The CLI's start alone: `kubecycle --version`'s wall time. */
async function start() {
  const t0 = performance.now();
  const r = await exec([process.execPath, cli, "--version"], { cwd: repo });
  if (r.code !== 0) throw new Error(`kubecycle --version failed (${r.code}):\n${r.stderr}`);
  return performance.now() - t0;
}

/** bench/get-nodes.mjs against the lab's API: its wall time. */
async function getNodes() {
  const t0 = performance.now();
  const r = await exec([process.execPath, join(repo, "bench/get-nodes.mjs"), join(repo, ".lab", "kubeconfig")], {
    cwd: repo,
  });
  if (r.code !== 0) throw new Error(`bench/get-nodes.mjs failed (${r.code}):\n${r.stderr}`);
  return performance.now() - t0;
}

/** One `kubecycle status -o json`: its wall time, and what was missing from its answer. */
async function status() {
  const t0 = performance.now();
  const r = await exec([process.execPath, ...prof, cli, "status", "-o", "json"], {
    cwd: repo,
    env: { KUBECYCLE_CONFIG: join(repo, ".lab", "kubecycle.yaml") },
  });
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`kubecycle status failed (${r.code}):\n${r.stderr}`);
  const out = JSON.parse(r.stdout);
  const rows = out.nodes ?? out;
  const missing = rows.flatMap((n) => [
    ...(n.agent === "ok" ? [] : [`${n.node}: agent ${n.agent}`]),
    ...(n.etcd && !n.etcd.healthy ? [`${n.node}: etcd ${n.etcd.error ?? "unhealthy"}`] : []),
  ]);
  return { ms, nodes: rows.length, members: rows.filter((n) => n.etcd).length, missing };
}

const wasUp = (await lab("status")).code === 0;
if (!wasUp) {
  console.log(`bringing the lab up (3 masters, ${workers} workers)...`);
  const up = await lab("up", "--no-build", "--workers", workers);
  if (up.code !== 0) throw new Error(`lab up failed:\n${up.stderr}`);
  console.log(`letting it settle ${settleS} s...`);
  await new Promise((r) => setTimeout(r, settleS * 1000));
}
const load = () => loadavg()[0].toFixed(1);
try {
  const warm = await status();
  console.log(`${warm.nodes} nodes, ${warm.members} etcd members; warm-up ${Math.round(warm.ms)} ms (load ${load()})`);
  const times = [];
  const starts = [];
  const floors = [];
  for (let i = 0; i < runs; i++) {
    const st = await start();
    const fl = await getNodes();
    const s = await status();
    if (s.missing.length > 0) throw new Error(`an incomplete status does not count:\n  ${s.missing.join("\n  ")}`);
    times.push(s.ms);
    starts.push(st);
    floors.push(fl);
    console.log(
      `  run ${i + 1}: ${Math.round(s.ms)} ms, the CLI's start ${Math.round(st)} ms, get-nodes ${Math.round(fl)} ms (load ${load()})`,
    );
  }
  const range = (xs) =>
    `median ${Math.round(median(xs))} ms (min ${Math.round(Math.min(...xs))}, max ${Math.round(Math.max(...xs))})`;
  console.log(`kubecycle status, ${warm.nodes} nodes, ${runs} runs: ${range(times)}`);
  console.log(`  of which the CLI's start (kubecycle --version): ${range(starts)}`);
  console.log(`  the command's own work (each run less its start): ${range(times.map((t, i) => t - starts[i]))}`);
  console.log(`the floor, a process that lists the nodes as kubectl get nodes does: ${range(floors)}`);
} finally {
  if (!wasUp) {
    console.log("taking the lab down...");
    await lab("down");
  }
}
