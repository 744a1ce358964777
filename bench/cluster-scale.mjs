#!/usr/bin/env node
// The coordinator at scale (issue 11, "Scale"): the real `kubecycle cluster stop` and `cluster start` (the CLI entry,
// planClusterStop/planClusterStart, the executor, the step runners, the AgentPool) against N simulated agents (3 of
// them etcd members) answering over real mTLS on N loopback addresses with realistic delays, and a simulated API.
// The simulated world runs in one process (test/sim/scale/host.ts), the coordinator in another, a fresh one per
// run (test/sim/scale/coordinator.ts), so the coordinator's time and peak RSS are its own. Per phase:
// - wall: from the phase's start to the next one's, as the coordinator's JSON event stream tells it;
// - floor: the least the simulated world needed (the slowest node's unit transitions and pod stops, or the moment
//   what the phase waits for became true; see host.ts);
// - overhead: wall minus floor, the coordinator's own share (an upper bound: it includes gRPC and the journal);
// - cpu: the coordinator process's CPU time in the phase, which a machine busy with other work does not inflate;
// - sim cpu: the simulated side's (all N agents and the API, one process); where it nears the wall time, the phase
//   waited for the simulation, which a real cluster spreads over N machines.
// Medians over RUNS; targets: overhead ≤ 500 ms a phase, peak RSS ≤ 300 MB.
// Usage: node bench/cluster-scale.mjs [RUNS=3] [SIZES=100,1000] [--profile DIR]   (bundles test/sim with esbuild)
import { fork } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { stringify } from "yaml";
import { median } from "./lib.mjs";

const args = process.argv.slice(2);
const profileAt = args.indexOf("--profile");
const profileDir = profileAt >= 0 ? resolve(args.splice(profileAt, 2)[1] ?? "cpu-profiles") : undefined;
const runs = Number(args[0] ?? 3);
const sizes = (args[1] ?? "100,1000").split(",").map(Number);
const TARGET_OVERHEAD_MS = 500;
// Node flags for the coordinator's process, e.g. to try V8 heap sizes: KC_COORDINATOR_FLAGS="--optimize-for-size".
const COORDINATOR_FLAGS = (process.env.KC_COORDINATOR_FLAGS ?? "").split(" ").filter(Boolean);
const TARGET_RSS_MB = 300;

// The fixtures are TypeScript: bundle them (node_modules stay external), with each source file's import.meta.url
// pinned to its own location, as test/lab/run.mjs does (the proto is found beside the sources, and the CLI's main
// does not mistake the bundle for its own entry point).
const repo = fileURLToPath(new URL("..", import.meta.url));
const out = join(repo, "node_modules", ".cache", "kubecycle-sim", String(process.pid));
await build({
  entryPoints: { host: join(repo, "test/sim/scale/host.ts"), coordinator: join(repo, "test/sim/scale/coordinator.ts") },
  outdir: out,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
  plugins: [
    {
      name: "pin-import-meta-url",
      setup(b) {
        b.onLoad({ filter: /\.ts$/ }, async ({ path }) => ({
          contents: (await readFile(path, "utf8")).replaceAll(
            "import.meta.url",
            JSON.stringify(pathToFileURL(path).href),
          ),
          loader: "ts",
        }));
      },
    },
  ],
});

/** Forks a bundled entry and resolves with its first message of `type`; rejects if it exits first. */
function forkEntry(name, argv, execArgv = []) {
  const child = fork(join(out, `${name}.mjs`), argv, { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv });
  const next = (type) =>
    new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (m?.type !== type) return;
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve(m);
      };
      const onExit = (code) => reject(new Error(`${name} exited (${code}) before answering ${type}`));
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
  return { child, next };
}

// /var/tmp: on disk, like a real state directory (a tmpfs /tmp would make every fsync free).
const work = await mkdtemp(join("/var/tmp", "kc-bench-scale-"));
const results = [];
try {
  for (const n of sizes) {
    const host = forkEntry("host", [String(n), join(work, `world-${n}`)]);
    let world;
    try {
      world = await host.next("ready");
      const perRun = [];
      for (let r = 0; r < runs; r++) {
        const dir = join(work, `n${n}-run${r}`);
        await mkdir(dir, { recursive: true });
        const config = join(dir, "kubecycle.yaml");
        // The coordinator's defaults, but for where the agents and the state are.
        await writeFile(
          config,
          stringify({
            cluster: world.cluster,
            kubeconfig: join(dir, "unused-kubeconfig"),
            // 30 s instead of the default 10 s per agent call and check: on a shared 2-core machine, one process
            // serving the agents' side of a thousand nodes saturates, and a preflight check that waits for it is
            // not what this measures. (The simulated side's CPU is printed beside the coordinator's.)
            agents: { port: world.port, tls: world.operator, callTimeoutMs: 30_000 },
            stateDir: join(dir, "state"),
          }),
        );
        const execArgv = [
          ...COORDINATOR_FLAGS,
          ...(profileDir
            ? ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `coordinator-n${n}-run${r}.cpuprofile`]
            : []),
        ];
        const coordinator = forkEntry("coordinator", [config, world.socket], execArgv);
        const res = await coordinator.next("result");
        await new Promise((resolve) => coordinator.child.once("exit", resolve));
        for (const [what, p] of [
          ["stop", res.stop],
          ["start", res.start],
        ]) {
          if (!p || p.code !== 0)
            throw new Error(`run ${r} at ${n} nodes: cluster ${what} failed (${p?.code}): ${p?.stderr}`);
        }
        const windows = ["stop", "start"].flatMap((what) =>
          res[what].phases.map((ph) => ({ key: `${what}/${ph.name}`, name: ph.name, start: ph.start, end: ph.end })),
        );
        host.child.send({ type: "floors", phases: windows });
        const { floors, cpu: simCpu } = await host.next("floors");
        host.child.send({ type: "reset" });
        await host.next("reset");
        perRun.push({ res, floors, simCpu });
        const total = (p) => ((p.endedAt - p.startedAt) / 1000).toFixed(1);
        console.error(
          `  ${n} nodes, run ${r + 1}/${runs}: stop ${total(res.stop)} s, start ${total(res.start)} s, peak RSS ${Math.round(res.maxRssKb / 1024)} MB`,
        );
      }
      results.push({ n, perRun });
    } finally {
      host.child.kill("SIGTERM");
    }
  }
} catch (err) {
  // The state directories (journals, logs) say what went wrong; keep them.
  console.error(`kept ${work} for its journals and logs`);
  throw err;
} finally {
  await rm(out, { recursive: true, force: true });
}
await rm(work, { recursive: true, force: true });

// The table: per size, per procedure, per phase, medians over the runs.
const f = (ms, w = 8) => (Number.isNaN(ms) ? "-" : String(Math.round(ms))).padStart(w);
console.log(`cluster stop and start against N simulated agents (3 etcd members), medians of ${runs} runs, ms`);
for (const { n, perRun } of results) {
  console.log(`\nN = ${n}`);
  console.log(
    `${"phase".padEnd(28)}${"steps".padStart(7)}${"wall".padStart(8)}${"floor".padStart(8)}${"overhead".padStart(10)}`,
  );
  let worst = { overhead: -Infinity, phase: "" };
  for (const what of ["stop", "start"]) {
    const first = perRun[0].res[what];
    console.log(
      `${`${what}: prepare (inventory, plan)`.padEnd(28)}${"".padStart(7)}${f(median(perRun.map((x) => x.res[what].prepareMs)))}`,
    );
    for (const [i, ph] of first.phases.entries()) {
      const walls = perRun.map((x) => x.res[what].phases[i].end - x.res[what].phases[i].start);
      const floors = perRun.map((x) => x.floors[`${what}/${ph.name}`]);
      const overheads = walls.map((w, j) => w - floors[j]);
      const o = median(overheads);
      const cpus = perRun.map((x) => x.res[what].phases[i].cpuMs);
      const simCpus = perRun.map((x) => x.simCpu[`${what}/${ph.name}`]);
      if (o > worst.overhead) worst = { overhead: o, phase: `${what}/${ph.name}` };
      console.log(
        `${`${what}: ${ph.name}`.padEnd(28)}${String(ph.steps).padStart(7)}${f(median(walls))}${f(median(floors))}${f(o, 10)}${f(median(cpus))}${f(median(simCpus), 9)}${o > TARGET_OVERHEAD_MS ? "  > target" : ""}`,
      );
    }
    const totals = perRun.map((x) => x.res[what].endedAt - x.res[what].startedAt);
    const cpus = perRun.map((x) => x.res[what].cpuMs);
    console.log(
      `${`${what}: total`.padEnd(28)}${"".padStart(7)}${f(median(totals))}${"".padStart(18)}${f(median(cpus))}`,
    );
  }
  const rss = median(perRun.map((x) => x.res.maxRssKb / 1024));
  const lag = (p) => Math.round(median(perRun.map((x) => x.res.lagMs[p])));
  const atPeak = (k) => Math.round(median(perRun.map((x) => x.res.atPeakMb[k])));
  console.log(
    `coordinator memory at its sampled peak: rss ${atPeak("rss")} MB = JS heap ${atPeak("heapTotal")} MB (${atPeak("heapUsed")} used) + the rest (code, sockets, TLS, buffers)`,
  );
  console.log(
    `coordinator event-loop lag p50 ${lag("p50")} ms, p99 ${lag("p99")} ms; load average ${median(perRun.map((x) => x.res.load)).toFixed(1)} on ${availableParallelism()} cores`,
  );
  console.log(
    `coordinator peak RSS ${Math.round(rss)} MB (target ≤ ${TARGET_RSS_MB}); worst phase overhead ${Math.round(worst.overhead)} ms (${worst.phase}; target ≤ ${TARGET_OVERHEAD_MS})`,
  );
}
if (profileDir) console.log(`\nCPU profiles of the coordinator runs: ${profileDir}`);
