#!/usr/bin/env node
// The coordinator's side of talking to many agents: N simulated agents (one gRPC server over real mTLS, listening on
// N loopback addresses 127.0.x.y, answering Health and GetStatus at once) in a child process, and kubecycle's
// AgentConnection fanning out to all of them from this one. Measures, medians over RUNS:
// - cold: N new connections (a TLS handshake each) and one Health call on each, all at once;
// - warm: one GetStatus on each of the N open connections, all at once;
// with the per-call p50 and p99. The agents' own work is nil here: what grows with N is kubecycle's.
// Usage: node bench/agent-fanout.mjs [RUNS=5] [N=1000]   (`npm run build` first)
import { Server } from "@grpc/grpc-js";
import { fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentConnection, createCa, issueAgentCert, issueClientCert } from "../dist/coordinator/index.js";
import { loadAgentProto, readTlsFiles } from "../dist/shared/index.js";

const SERVER_NAME = "sim-agent";
const PORT = 19443;
const address = (i) => `127.0.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`;

if (process.argv[2] === "--agents") {
  // The child: N listening sockets on one server, the real proto and mTLS, static answers.
  const [n, pki] = [Number(process.argv[3]), process.argv[4]];
  const { ServerCredentials } = await import("@grpc/grpc-js");
  const tls = await readTlsFiles({
    ca: join(pki, "ca.crt"),
    cert: join(pki, "agents", `${SERVER_NAME}.crt`),
    key: join(pki, "agents", `${SERVER_NAME}.key`),
  });
  const creds = ServerCredentials.createSsl(tls.ca, [{ private_key: tls.key, cert_chain: tls.cert }], true);
  const server = new Server();
  const units = ["kubelet", "etcd", "containerd"].map((u) => ({
    name: `${u}.service`,
    exists: true,
    activeState: "active",
    subState: "running",
  }));
  server.addService(loadAgentProto().kubecycle.v1.Agent.service, {
    Health: (_call, cb) => cb(null, { state: "serving", nodeName: "sim", agentVersion: "sim" }),
    GetStatus: (_call, cb) => cb(null, { nodeName: "sim", units }),
  });
  await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise((resolve, reject) =>
          server.bindAsync(`${address(i)}:${PORT}`, creds, (err) => (err ? reject(err) : resolve())),
        ),
    ),
  );
  process.send?.("ready");
  process.on("disconnect", () => server.forceShutdown());
} else {
  const runs = Number(process.argv[2] ?? 5);
  const n = Number(process.argv[3] ?? 1000);
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

  const work = await mkdtemp(join(tmpdir(), "kc-bench-fanout-"));
  const agents = { kill: () => undefined };
  try {
    const pki = join(work, "pki");
    await createCa(pki);
    await issueAgentCert(pki, { node: SERVER_NAME, ips: ["127.0.0.1"] });
    await issueClientCert(pki, { name: "bench", role: "operator" });
    const tls = await readTlsFiles({
      ca: join(pki, "ca.crt"),
      cert: join(pki, "clients", "bench.crt"),
      key: join(pki, "clients", "bench.key"),
    });
    const child = fork(new URL(import.meta.url).pathname, ["--agents", String(n), pki], { stdio: "inherit" });
    agents.kill = () => child.kill("SIGKILL");
    await new Promise((resolve, reject) => {
      child.once("message", resolve);
      child.once("exit", (code) => reject(new Error(`the simulated agents exited (${code})`)));
    });

    const timed = async (f) => {
      const t0 = performance.now();
      await f();
      return performance.now() - t0;
    };
    const cold = { wall: [], p50: [], p99: [] };
    const warm = { wall: [], p50: [], p99: [] };
    for (let r = 0; r < runs; r++) {
      const conns = Array.from(
        { length: n },
        (_, i) =>
          new AgentConnection({
            node: `sim-${i}`,
            address: `${address(i)}:${PORT}`,
            tls,
            serverName: SERVER_NAME,
          }),
      );
      for (const [phase, call] of [
        [cold, (c) => c.health({ deadlineMs: 60_000 })],
        [warm, (c) => c.getStatus({}, { deadlineMs: 60_000 })],
      ]) {
        const each = [];
        phase.wall.push(await timed(() => Promise.all(conns.map(async (c) => each.push(await timed(() => call(c)))))));
        phase.p50.push(pct(each, 50));
        phase.p99.push(pct(each, 99));
      }
      for (const c of conns) c.close();
    }
    const f = (ms) => `${Math.round(ms)}`.padStart(8);
    console.log(`agent fan-out to ${n} simulated agents over mTLS (medians of ${runs} runs, ms)`);
    console.log(`${"".padEnd(34)}${"wall".padStart(8)}${"p50".padStart(8)}${"p99".padStart(8)}`);
    for (const [name, p] of [
      ["cold: connect + Health, all at once", cold],
      ["warm: GetStatus, all at once", warm],
    ]) {
      console.log(`${name.padEnd(34)}${f(median(p.wall))}${f(median(p.p50))}${f(median(p.p99))}`);
    }
  } finally {
    agents.kill();
    await rm(work, { recursive: true, force: true });
  }
}
