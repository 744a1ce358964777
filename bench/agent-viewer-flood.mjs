#!/usr/bin/env node
// Can a crowd of readers stall an operator? The real agent (dist/, real mTLS, a unit manager that answers at once)
// runs alone in a child process. A worker thread opens 64 WatchStatus streams and then fires waves of 500 concurrent
// GetStatus calls from 10 viewer certificates for FLOOD_S seconds; meanwhile this thread times an operator's Health
// every 25 ms on a warm connection. Prints, medians over RUNS: the operator's latency idle and during the flood (p50,
// p95, max), and what the viewers got (answered, refused with RESOURCE_EXHAUSTED, other errors).
// Usage: node bench/agent-viewer-flood.mjs [RUNS=3] [FLOOD_S=5]   (`npm run build` first)
import { credentials, Metadata } from "@grpc/grpc-js";
import { fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker, isMainThread, workerData, parentPort } from "node:worker_threads";
import { createCa, issueAgentCert, issueClientCert } from "../dist/coordinator/index.js";
import { loadAgentProto, readTlsFiles } from "../dist/shared/index.js";

const VIEWERS = 10;
const STREAMS = 64;
const WAVE = 500;

function client(address, tls) {
  const Agent = loadAgentProto().kubecycle.v1.Agent;
  return new Agent(address, credentials.createSsl(tls.ca, tls.key, tls.cert), {
    "grpc.ssl_target_name_override": "flood-agent",
  });
}

function unary(c, method, req, deadlineMs = 10_000) {
  return new Promise((resolve) => {
    c[method](req, new Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (err) =>
      resolve(err ? (err.metadata?.get("kubecycle-error-code")[0] ?? `grpc ${err.code}`) : "ok"),
    );
  });
}

const tlsFor = (pki, name) =>
  readTlsFiles({
    ca: join(pki, "ca.crt"),
    cert: join(pki, "clients", `${name}.crt`),
    key: join(pki, "clients", `${name}.key`),
  });

if (process.argv[2] === "--agent") {
  // The child: the agent as it ships (dist/), with a unit manager standing for systemd.
  const [pki, stateDir, port] = process.argv.slice(3);
  const { startAgent, compileAgentConfig } = await import("../dist/agent/index.js");
  const { createLogger } = await import("../dist/shared/index.js");
  const unit = (name) => ({
    name,
    loadState: "loaded",
    activeState: "active",
    subState: "running",
    result: "success",
    unitFileState: "enabled",
    mainPid: 1,
    restarts: 0,
    invocationId: "x",
    jobPending: false,
    stateChangeUnixMs: 0,
  });
  const manager = {
    states: async (units) => units.map(unit),
    queueStart: async () => undefined,
    queueStop: async () => undefined,
    setEnabled: async () => undefined,
    journal: async () => [],
    powerOff: async () => undefined,
  };
  const config = compileAgentConfig({
    nodeName: "flood-agent",
    listen: { address: "127.0.0.1", port: Number(port) },
    tls: {
      ca: join(pki, "ca.crt"),
      cert: join(pki, "agents", "flood-agent.crt"),
      key: join(pki, "agents", "flood-agent.key"),
    },
    stateDir,
    etcd: { envFile: join(stateDir, "no-etcd.env") },
    kubernetes: { manifestDir: join(stateDir, "no-manifests") },
    log: { level: "warn" },
  });
  const agent = await startAgent({ config, manager, log: createLogger({ name: "agent", level: "warn" }) });
  process.send?.("ready");
  // The agent's own CPU time, asked around the flood: what the flood costs it, whatever else runs on the machine.
  process.on("message", (m) => m === "cpu" && process.send?.({ cpu: process.cpuUsage() }));
  process.on("disconnect", () => void agent.shutdown(1000).then(() => process.exit(0)));
} else if (!isMainThread) {
  // The flood, on its own event loop so that this process's client work does not count against the agent.
  const { address, pki, floodMs } = workerData;
  const viewers = await Promise.all(
    Array.from({ length: VIEWERS }, async (_, i) => client(address, await tlsFor(pki, `viewer-${i}`))),
  );
  await Promise.all(viewers.map((v) => unary(v, "Health", {})));
  const streams = Array.from({ length: STREAMS }, (_, i) => {
    const s = viewers[i % 8].WatchStatus({ intervalMs: 1000 });
    s.on("data", () => undefined);
    s.on("error", () => undefined);
    return s;
  });
  parentPort.postMessage({ started: true });
  const counts = {};
  const end = Date.now() + floodMs;
  while (Date.now() < end) {
    const res = await Promise.all(Array.from({ length: WAVE }, (_, i) => unary(viewers[i % VIEWERS], "GetStatus", {})));
    for (const r of res) counts[r] = (counts[r] ?? 0) + 1;
  }
  for (const s of streams) s.cancel();
  for (const v of viewers) v.close();
  parentPort.postMessage({ counts });
} else {
  const runs = Number(process.argv[2] ?? 3);
  const floodMs = Number(process.argv[3] ?? 5) * 1000;
  const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))];
  };
  const median = (xs) => pct(xs, 0.5);
  const dir = await mkdtemp(join(tmpdir(), "kc-bench-flood-"));
  try {
    const pki = join(dir, "pki");
    await createCa(pki);
    await issueAgentCert(pki, { node: "flood-agent", ips: ["127.0.0.1"] });
    await issueClientCert(pki, { name: "alice", role: "operator" });
    for (let i = 0; i < VIEWERS; i++) await issueClientCert(pki, { name: `viewer-${i}`, role: "viewer" });
    const results = [];
    for (let run = 0; run < runs; run++) {
      const port = await new Promise((resolve) => {
        const s = createServer().listen(0, "127.0.0.1", () => {
          const p = s.address().port;
          s.close(() => resolve(p));
        });
      });
      const child = fork(new URL(import.meta.url).pathname, ["--agent", pki, join(dir, `state-${run}`), String(port)], {
        execArgv: process.env.KC_AGENT_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.KC_AGENT_PROFILE}`] : [],
      });
      await new Promise((resolve, reject) => {
        child.once("message", resolve);
        child.once("exit", (code) => reject(new Error(`agent exited ${code}`)));
      });
      const address = `127.0.0.1:${port}`;
      const operator = client(address, await tlsFor(pki, "alice"));
      // A call that misses its 30 s deadline counts as 30 s (the agent stalled).
      const time = async () => {
        const t0 = performance.now();
        const r = await unary(operator, "Health", {}, 30_000);
        if (r !== "ok" && r !== "grpc 4") throw new Error(`operator Health: ${r}`);
        return performance.now() - t0;
      };
      // Steady state: the agent has answered, and its start-up work (the first facts collection) is behind it.
      while ((await unary(operator, "Health", {}, 30_000)) !== "ok") await new Promise((r) => setTimeout(r, 200));
      await new Promise((r) => setTimeout(r, 5000));
      for (let i = 0; i < 5; i++) await time();
      const idle = [];
      for (let i = 0; i < 40; i++) {
        idle.push(await time());
        await new Promise((r) => setTimeout(r, 25));
      }
      const cpu = () =>
        new Promise((resolve) => {
          child.once("message", (m) => resolve((m.cpu.user + m.cpu.system) / 1000));
          child.send("cpu");
        });
      const worker = new Worker(new URL(import.meta.url), { workerData: { address, pki, floodMs } });
      await new Promise((resolve) => worker.once("message", resolve));
      const cpuBefore = await cpu();
      const flood = [];
      let done;
      const counts = new Promise((resolve) => worker.once("message", (m) => resolve(m.counts)));
      void counts.then(() => (done = true));
      while (!done) {
        flood.push(await time());
        await new Promise((r) => setTimeout(r, 25));
      }
      const c = await counts;
      const cpuMs = (await cpu()) - cpuBefore;
      await worker.terminate();
      operator.close();
      child.disconnect();
      await new Promise((r) => child.once("exit", r));
      const calls = Object.values(c).reduce((a, b) => a + b, 0);
      results.push({ idle, flood, counts: c, cpuPerCall: cpuMs / calls });
      const fmt = (xs) =>
        `p50 ${median(xs).toFixed(1)} ms, p95 ${pct(xs, 0.95).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;
      console.log(
        `run ${run + 1}: operator Health idle ${fmt(idle)}; during the flood ${fmt(flood)} (${flood.length} calls)`,
      );
      console.log(
        `       viewers: ${JSON.stringify(c)}; the agent's CPU during the flood ${cpuMs.toFixed(0)} ms, ${(cpuMs / calls).toFixed(2)} ms per viewer call`,
      );
    }
    const m = (f) => median(results.map(f)).toFixed(1);
    console.log(
      `\nmedians over ${runs} runs: operator Health idle p50 ${m((r) => median(r.idle))} ms; during ${STREAMS} watch streams and waves of ${WAVE} viewer GetStatus: p50 ${m((r) => median(r.flood))} ms, p95 ${m((r) => pct(r.flood, 0.95))} ms, max ${m((r) => Math.max(...r.flood))} ms; agent CPU ${m((r) => r.cpuPerCall)} ms per viewer call`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
