#!/usr/bin/env node
// What one node's drain asks of the API server on a large cluster (issue 12, "Drain"): coordinator/kube's drainNode
// against the simulated API (test/sim/api.ts) holding NODES nodes with PER_NODE pods each, spread over 1,000
// ReplicaSets in 50 namespaces. Replacements take 3-8 s to be Ready (image pull, readiness probe), the time the
// drain waits. Run twice on a fresh world each: "before", the drain of REF (default: where this branch left main,
// which re-listed every pod in the cluster once a second while waiting), and "after", this tree's (watches), RUNS
// times each, alternating. Prints medians: the drain's time, split into what comes before the first eviction (the
// lists it needs to count), the floor (from the first eviction until the world has every replacement Ready, the
// simulation's own instant) and the wait past it (how late the drain saw it); then the requests by verb and
// resource and the JSON bytes lists answered and watches sent. Both drains meet the same world: the simulated API
// draws its request latencies apart from the pods' start times, so more requests do not move the floor.
// Usage: node bench/drain-requests.mjs [NODES=1000] [PER_NODE=100] [REF] [RUNS=3]
import { execFileSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { median } from "./lib.mjs";

const nodes = Number(process.argv[2] ?? 1000);
const perNode = Number(process.argv[3] ?? 100);
const repo = fileURLToPath(new URL("..", import.meta.url));
const git = (...a) => execFileSync("git", a, { cwd: repo, encoding: "utf8" }).trim();
const ref = process.argv[4] || git("merge-base", "HEAD", "main");
const runs = Number(process.argv[5] ?? 3);
const beforeSource = git("show", `${ref}:coordinator/kube/drain.ts`);

const entry = `
import { SimCluster } from "./test/sim/model.js";
import { SimClusterApi } from "./test/sim/api.js";
import { simClusterSpec, BENCH_TIMING } from "./test/sim/spec.js";
import { spreadWorkload } from "./test/sim/workload.js";
import { drainNode as after } from "./coordinator/kube/drain.js";
import { drainNode as before } from "drain-before";
export async function run(which, nodes, perNode) {
  const spec = simClusterSpec({ masters: 3, workers: nodes - 3, net: 91, workloadPods: 0,
    timing: { ...BENCH_TIMING, podStart: [3000, 8000] } });
  const cluster = new SimCluster(spec);
  spreadWorkload(cluster, { perNode, controllers: 1000, namespaces: 50 });
  const api = new SimClusterApi(cluster);
  api.measureBytes = true;
  const node = [...cluster.nodes.keys()][3];
  // The coordinator cordons before it drains.
  await api.patchNode(node, { unschedulable: true });
  const pods = [...cluster.nodes.values()].reduce((n, x) => n + x.sandboxes.length, 0);
  const from = cluster.calls.length;
  const t0 = Date.now();
  const evidence = await (which === "before" ? before : after)(api, node, {
    drainTimeoutMs: 60_000, replacementTimeoutMs: 120_000, force: false, deleteEmptyDirData: false,
    signal: AbortSignal.timeout(300_000), progress: (m) => process.env.DEBUG_DRAIN && console.log(Date.now() - t0, m),
  });
  const ms = Date.now() - t0;
  const calls = cluster.calls.slice(from);
  const firstEviction = calls.find((c) => c.rpc === "api:evict pod")?.at ?? t0;
  // When the world last had every pod of a node Ready: the replacements' node, once they all run.
  const ready = Math.max(firstEviction, ...cluster.instants.filter((i) => i.what === "pods-ready" && i.at >= t0).map((i) => i.at));
  cluster.close();
  return {
    pods, evicted: evidence.evicted.length, ms,
    beforeEvictionMs: firstEviction - t0, floorMs: ready - firstEviction, pastFloorMs: t0 + ms - ready,
    calls: calls.map((c) => ({ rpc: c.rpc, bytes: c.bytes ?? 0 })),
  };
}
`;
const out = join(repo, "node_modules", ".cache", "kubecycle-drain-bench");
await mkdir(out, { recursive: true });
const file = join(out, `bench-${process.pid}.mjs`);
await build({
  stdin: { contents: entry, resolveDir: repo, loader: "ts", sourcefile: "drain-bench-entry.ts" },
  outfile: file,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
  plugins: [
    {
      name: "drain-before",
      setup(b) {
        b.onResolve({ filter: /^drain-before$/ }, () => ({ path: "drain-before", namespace: "drain-before" }));
        b.onLoad({ filter: /.*/, namespace: "drain-before" }, () => ({
          contents: beforeSource,
          loader: "ts",
          resolveDir: join(repo, "coordinator", "kube"),
        }));
      },
    },
  ],
});
const { run } = await import(pathToFileURL(file).href);

const results = { before: [], after: [] };
for (let i = 0; i < runs; i++) {
  for (const which of ["before", "after"]) {
    const r = await run(which, nodes, perNode);
    const byRpc = {};
    for (const c of r.calls) {
      const k = c.rpc.replace(/^api:/, "");
      byRpc[k] ??= { n: 0, bytes: 0 };
      byRpc[k].n++;
      byRpc[k].bytes += c.bytes;
    }
    results[which].push({ ...r, byRpc });
    console.log(
      `${which} #${i + 1}: drained ${r.evicted} pods in ${(r.ms / 1000).toFixed(1)} s on ${nodes} nodes / ${r.pods} pods ` +
        `(before the first eviction ${(r.beforeEvictionMs / 1000).toFixed(1)} s, floor ${(r.floorMs / 1000).toFixed(1)} s, ` +
        `past it ${(r.pastFloorMs / 1000).toFixed(2)} s); ${r.calls.length} requests`,
    );
  }
}

const s = (ms) => (ms / 1000).toFixed(2);
const col = (x) => String(x).padStart(10);
console.log(`\nmedians of ${runs} run(s), seconds     ${col("before")}${col("after")}`);
for (const [label, f] of [
  ["drain", (r) => r.ms],
  ["  before the first eviction", (r) => r.beforeEvictionMs],
  ["  floor (replacements Ready)", (r) => r.floorMs],
  ["  past the floor", (r) => r.pastFloorMs],
]) {
  console.log(`${label.padEnd(32)}${col(s(median(results.before.map(f))))}${col(s(median(results.after.map(f))))}`);
}

const mb = (b) => (b / 1e6).toFixed(1);
const keys = [...new Set(Object.values(results).flatMap((rs) => rs.flatMap((r) => Object.keys(r.byRpc))))].sort();
const med = (which, k, field) => median(results[which].map((r) => r.byRpc[k]?.[field] ?? 0));
console.log(`\n${"requests (medians)".padEnd(32)}${col("before")}${col("after")}   MB (before / after)`);
for (const k of keys) {
  const bytes = med("before", k, "bytes") || med("after", k, "bytes");
  console.log(
    `${k.padEnd(32)}${col(med("before", k, "n"))}${col(med("after", k, "n"))}` +
      (bytes ? `   ${mb(med("before", k, "bytes"))} / ${mb(med("after", k, "bytes"))}` : ""),
  );
}
const total = (which, field) =>
  median(results[which].map((r) => Object.values(r.byRpc).reduce((sum, x) => sum + x[field], 0)));
console.log(
  `${"total".padEnd(32)}${col(total("before", "n"))}${col(total("after", "n"))}   ${mb(total("before", "bytes"))} / ${mb(total("after", "bytes"))}`,
);
