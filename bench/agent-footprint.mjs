#!/usr/bin/env node
// Agent footprint: time from process start to serving (first successful Health over mTLS), resident memory and CPU
// use when idle. Runs the built agent (`npm run build` first) on loopback RUNS times and prints medians.
// Usage: node bench/agent-footprint.mjs [RUNS=5] [IDLE_SECONDS=5]
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AgentConnection, createCa, issueAgentCert, issueClientCert } from "../dist/coordinator/index.js";
import { readTlsFiles } from "../dist/shared/index.js";
import { median } from "./lib.mjs";

const runs = Number(process.argv[2] ?? 5);
const idleSeconds = Number(process.argv[3] ?? 5);
// The shipped entry point, run through its own #! line so its V8 flags apply.
const agentMain = new URL("../dist/bin/kubecycle-agent.mjs", import.meta.url).pathname;
const clockTicks = 100; // USER_HZ on Linux

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function procStats(pid) {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1].split(" ");
  const cpuTicks = Number(stat[11]) + Number(stat[12]); // utime + stime
  return { rssMb: rssKb / 1024, cpuSeconds: cpuTicks / clockTicks };
}

const work = await mkdtemp(join(tmpdir(), "kc-bench-agent-"));
try {
  const pki = join(work, "pki");
  await createCa(pki);
  await issueAgentCert(pki, { node: "bench", ips: ["127.0.0.1"] });
  await issueClientCert(pki, { name: "bench", role: "operator" });
  const tls = await readTlsFiles({
    ca: join(pki, "ca.crt"),
    cert: join(pki, "clients", "bench.crt"),
    key: join(pki, "clients", "bench.key"),
  });
  const startup = [];
  const rss = [];
  const idleCpu = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const config = join(work, `agent-${i}.yaml`);
    await writeFile(
      config,
      [
        "nodeName: bench",
        `listen: { address: 127.0.0.1, port: ${port} }`,
        `tls: { ca: ${pki}/ca.crt, cert: ${pki}/agents/bench.crt, key: ${pki}/agents/bench.key }`,
        `stateDir: ${work}/state-${i}`,
        "log: { level: warn }",
      ].join("\n"),
    );
    const t0 = performance.now();
    const child = spawn(agentMain, ["--config", config], { stdio: ["ignore", "ignore", "inherit"] });
    const conn = new AgentConnection({ node: "bench", address: `127.0.0.1:${port}`, tls });
    for (;;) {
      try {
        await conn.health({ deadlineMs: 200 });
        break;
      } catch {
        if (performance.now() - t0 > 10_000) throw new Error("agent did not serve within 10 s");
        await sleep(5);
      }
    }
    startup.push(performance.now() - t0);
    conn.close();
    // Let the background fact probes finish, then measure a quiet window.
    await sleep(2000);
    const before = await procStats(child.pid);
    await sleep(idleSeconds * 1000);
    const after = await procStats(child.pid);
    rss.push(after.rssMb);
    idleCpu.push(((after.cpuSeconds - before.cpuSeconds) / idleSeconds) * 100);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  console.log(`agent footprint over ${runs} runs (idle window ${idleSeconds} s)`);
  console.log(
    `  start to serving (median): ${median(startup).toFixed(0)} ms   [${startup.map((x) => x.toFixed(0)).join(", ")}]`,
  );
  console.log(
    `  idle RSS (median):         ${median(rss).toFixed(1)} MB   [${rss.map((x) => x.toFixed(1)).join(", ")}]`,
  );
  console.log(
    `  idle CPU (median):         ${median(idleCpu).toFixed(2)} %   [${idleCpu.map((x) => x.toFixed(2)).join(", ")}]`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
