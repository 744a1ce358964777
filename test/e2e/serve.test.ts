// kubecycle serve on the lab, run on the admin side (the host) as an operator runs it, with every lab agent reporting
// to it: the reports of every boot, refusals of another CA and of a node claiming another's name, serve killed with
// SIGKILL while reports arrive, and the unattended restart after a planned outage (`cluster stop --poweroff
// --boot-hold --start-on-boot`, the nodes booting one by one at random, the cluster coming up by itself once the
// last one reported, and not before). Outcomes are checked through channels of their own: the nodes' systemd and
// boot ids, etcd, the API; serve's own answers only where serve is what is tested.
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCa, issueAgentCert } from "../../coordinator/index.js";
import { loadRegistryProto, readTlsFiles, serveDial, type BootReport, type TlsMaterial } from "../../shared/index.js";
import { labUp, type Lab } from "../lab/lab.js";
import { SERVE_ENDPOINT } from "../lab/layout.js";
import { serveMetrics, serveReports, startLabServe, type LabServe } from "../lab/serve.js";
import { ClusterProbe, keyOf } from "./cluster.js";
import { downLab, kubecycle as cli, opOf, waitFor, SEED, seededRandom } from "./helpers.js";

let lab: Lab;
let probe: ClusterProbe;
let serve: LabServe;
let scratch: string;
const kubecycle = (args: string[]) => cli(lab, args);

/** Every node's boot id as the node itself has it. */
async function bootIds(): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const n of lab.nodes) m.set(n.kubeName, await n.bootId());
  return m;
}

/** What serve keeps, per node: boot id and when it received the report. */
async function kept(): Promise<Map<string, { bootId: string; receivedUnixMs: number; bootedUnixMs: number }>> {
  const list = await serveReports(lab);
  return new Map(
    list.reports.map((k) => [
      k.report?.nodeName ?? "",
      { bootId: k.report?.bootId ?? "", receivedUnixMs: k.receivedUnixMs, bootedUnixMs: k.report?.bootedUnixMs ?? 0 },
    ]),
  );
}

/** Waits until serve's last report of every node is from the boot the node is in now. */
async function allReportedCurrentBoot(timeoutMs = 60_000): Promise<void> {
  const want = await bootIds();
  await waitFor(
    "every node's current boot reported to serve",
    async () => {
      const k = await kept();
      return [...want].every(([n, id]) => k.get(n)?.bootId === id) ? true : undefined;
    },
    timeoutMs,
  );
}

function registry(tls: TlsMaterial) {
  const dial = serveDial(SERVE_ENDPOINT, tls);
  const Registry = loadRegistryProto().kubecycle.v1.Registry;
  const c = new Registry(SERVE_ENDPOINT, dial.credentials, dial.options);
  return {
    report: (r: BootReport) =>
      new Promise<void>((resolve, reject) =>
        c.Report(r, new Metadata(), { deadline: new Date(Date.now() + 5000) }, (err: ServiceError | null) =>
          err ? reject(err) : resolve(),
        ),
      ),
    close: () => c.close(),
  };
}

beforeAll(async () => {
  console.log(`serve e2e seed: ${SEED} (KUBECYCLE_E2E_SEED=${SEED} to repeat)`);
  scratch = await mkdtemp(join(tmpdir(), "kc-serve-e2e-"));
  lab = await labUp({ masters: 3, workers: 2, build: "skip" });
  probe = await ClusterProbe.open(lab);
  serve = await startLabServe(lab);
  await probe.settled();
}, 240_000);

afterAll(async () => {
  await serve?.kill("SIGTERM");
  await copyFile(join(lab.paths.root, "serve.log"), "/tmp/kc-serve-e2e.log").catch(() => undefined);
  await downLab(lab, import.meta.url);
  await rm(scratch, { recursive: true, force: true });
}, 120_000);

describe("kubecycle serve on the lab", () => {
  it("has every node's report from its current boot, and status shows each with its age", async () => {
    await allReportedCurrentBoot();
    const status = await kubecycle(["status", "-o", "json"]);
    expect(status.code, status.stderr).toBe(0);
    const data = JSON.parse(status.stdout) as {
      serve: { reachable: boolean };
      nodes: Array<{ node: string; bootId: string; lastReport: { bootId: string; ageMs: number } | null }>;
    };
    expect(data.serve.reachable).toBe(true);
    for (const r of data.nodes) {
      expect(r.lastReport?.bootId, r.node).toBe(r.bootId);
      expect(r.lastReport?.ageMs, r.node).toBeGreaterThanOrEqual(0);
    }
    const table = await kubecycle(["status"]);
    expect(table.stdout).toMatch(/LAST REPORT/);
    expect(table.stdout).toMatch(/kclab-worker-1 .* \d+[smhd] ago/);
  });

  it("refuses a report from another CA's certificate, and from a node's certificate claiming another node", async () => {
    const [w1, w2] = lab.workers;
    if (!w1 || !w2) throw new Error("two workers expected");
    const before = (await kept()).get(w2.kubeName)?.bootId;
    const forged = (node: string): BootReport => ({
      nodeName: node,
      bootId: "forged-boot",
      bootedUnixMs: Date.now(),
      agentStartedUnixMs: Date.now() + 60_000,
      agentInstance: "forger",
      sequence: 1,
      reason: "REPORT_REASON_START",
    });
    // Another CA, issuing a certificate with the right node name.
    const other = join(scratch, "other-pki");
    await createCa(other, { commonName: "not-the-lab" });
    await issueAgentCert(other, { node: w2.kubeName, ips: [w2.ip] });
    const foreign = await readTlsFiles({
      ca: join(lab.paths.pki, "ca.crt"),
      cert: join(other, "agents", `${w2.kubeName}.crt`),
      key: join(other, "agents", `${w2.kubeName}.key`),
    });
    const c1 = registry(foreign);
    await expect(c1.report(forged(w2.kubeName))).rejects.toMatchObject({ code: 14 });
    c1.close();
    // The lab CA's certificate of worker 1, claiming to be worker 2.
    const w1Tls = await readTlsFiles({
      ca: join(lab.paths.pki, "ca.crt"),
      cert: join(lab.paths.pki, "agents", `${w1.kubeName}.crt`),
      key: join(lab.paths.pki, "agents", `${w1.kubeName}.key`),
    });
    const c2 = registry(w1Tls);
    await expect(c2.report(forged(w2.kubeName))).rejects.toMatchObject({ code: 7 });
    c2.close();
    expect((await kept()).get(w2.kubeName)?.bootId).toBe(before);
    expect(before).toBe(await w2.bootId());
    expect(await serveMetrics()).toMatch(/^kubecycle_reports_total\{outcome="refused"\} [1-9]/m);
    expect(serve.log()).toContain(`the certificate of node ${w1.kubeName} may not report about node ${w2.kubeName}`);
  });

  it("loses no report when SIGKILLed while reports arrive", async () => {
    const workers = lab.workers.map((w) => w.name);
    const rnd = seededRandom(SEED);
    // Each time serve logs a report it stored (fsynced, its answer on the way), it is killed at once, a few times.
    let kills = 0;
    let killsLeft = 3;
    // The last kill's exit: a kill is sent synchronously from the log line, so once no kills are left, this is the
    // only one that may still be under way.
    let lastKill: Promise<void> = Promise.resolve();
    const restart = async (): Promise<LabServe> => {
      const self: { serve?: LabServe } = {};
      let killing = false;
      self.serve = await startLabServe(lab, {
        onLine: (line) => {
          if (
            !killing &&
            killsLeft > 0 &&
            self.serve &&
            line.includes('"msg":"report"') &&
            line.includes('"stored":true')
          ) {
            killing = true;
            kills += 1;
            killsLeft -= 1;
            lastKill = self.serve.kill("SIGKILL");
          }
        },
      });
      return self.serve;
    };
    await serve.kill("SIGKILL");
    serve = await restart();
    const rebooting = (async () => {
      for (const w of workers) {
        await lab.poweroff(w);
        await new Promise((r) => setTimeout(r, Math.round(rnd() * 2000)));
        await lab.boot(w);
      }
    })();
    // Restart serve whenever it was killed, until the reboots are done and no kill is left.
    while (true) {
      const done = await Promise.race([
        rebooting.then(() => true),
        new Promise((r) => setTimeout(() => r(false), 200)),
      ]);
      if (serve.child.exitCode !== null || serve.child.signalCode !== null) serve = await restart();
      if (done) break;
    }
    await rebooting;
    // No more kills; a serve killed at the very end is started once more, as systemd would (Restart=always).
    killsLeft = 0;
    await lastKill;
    if (serve.child.exitCode !== null || serve.child.signalCode !== null) serve = await restart();
    expect(kills).toBeGreaterThan(0);
    // Every node's last report is from the boot it is in, as the node itself says.
    await allReportedCurrentBoot();
  }, 300_000);

  it("starts the cluster by itself after the outage, once the last node has reported, and not before", async () => {
    const PREFIX = "/kubecycle-e2e/serve/";
    const KEYS = 10_000;
    const NS = "kc-outage";
    await probe.settled();
    await probe.writeKeys(PREFIX, KEYS);
    const keysBefore = await probe.readKeys(PREFIX);
    expect(keysBefore.size).toBe(KEYS);
    // API objects too: they must come back through the API as they went.
    await probe.core.createNamespace({ body: { metadata: { name: NS } } });
    for (let i = 0; i < 3; i++) {
      await probe.coordination.createNamespacedLease({
        namespace: NS,
        body: { metadata: { name: `kept-${i}`, namespace: NS }, spec: { holderIdentity: `holder-${i}` } },
      });
    }
    const stoppedBoots = await bootIds();

    const stop = await kubecycle(["cluster", "stop", "--yes", "--poweroff", "--boot-hold", "--start-on-boot"]);
    expect(stop.code, stop.stderr).toBe(0);
    const stopOp = opOf(stop);
    await lab.waitPoweredOff(probe.nodes);

    // serve waits for every node; status says which are missing and since when.
    await waitFor(
      "serve waiting for every node",
      async () => ((await serveReports(lab)).startOnBoot?.missing.length === lab.nodes.length ? true : undefined),
      30_000,
    );
    const waiting = await kubecycle(["status"]);
    expect(waiting.stdout).toContain(`start on boot (armed by cluster stop ${stopOp}): waiting`);
    expect(waiting.stdout).toMatch(/kclab-worker-1: not reported since \d{4}-\d\d-\d\dT/);

    // Power returns node by node, in a random order at random intervals.
    const rnd = seededRandom(SEED + 1);
    const order = [...probe.nodes].sort(() => rnd() - 0.5);
    console.log(`boot order: ${order.join(", ")}`);
    const last = order.at(-1) ?? "";
    for (const n of order) {
      await new Promise((r) => setTimeout(r, Math.round(500 + rnd() * 3000)));
      if (n === last) {
        // Before the last node: nothing started anywhere, and serve waits for exactly that one.
        const sob = (await serveReports(lab)).startOnBoot;
        expect(sob?.state).toBe("waiting");
        expect(sob?.missing.map((m) => m.nodeName)).toEqual([lab.node(last).kubeName]);
        for (const b of order.slice(0, -1)) {
          for (const u of ["containerd", "kubelet"]) {
            expect((await probe.unitTimes(b, u)).active, `${b} ${u} before the last node`).toBe("inactive");
          }
          if (lab.node(b).role === "master") expect((await probe.unitTimes(b, "etcd")).active).toBe("inactive");
        }
        const ops = await kubecycle(["ops", "list", "-o", "json"]);
        expect(ops.stdout).not.toMatch(/"procedure": "cluster start"[^}]*"result": "running"/);
      }
      await lab.boot(n);
    }
    // The last node's agent was active before anything started (its own systemd's record).
    const lastAgentUp = (await probe.unitTimes(last, "kubecycle-agent")).activeEnter;

    // serve runs the start by itself.
    const startOp = await waitFor(
      "serve's cluster start to succeed",
      async () => {
        const sob = (await serveReports(lab)).startOnBoot;
        if (sob?.state === "failed") throw new Error(`serve's start failed: ${sob.reason}`);
        return sob?.state === "started" ? sob.startOperation : undefined;
      },
      600_000,
      2000,
    );
    const show = await kubecycle(["ops", "show", startOp]);
    expect(show.stdout).toContain("result: succeeded");
    expect(show.stdout).toContain(`started by kubecycle serve: armed by cluster stop ${stopOp} (--start-on-boot)`);

    // Every key, every node Ready, etcd healthy, the units enabled again, the lock released: etcd, the API, systemd.
    const keysAfter = await probe.readKeys(PREFIX);
    expect([...keysAfter.entries()]).toEqual([...keysBefore.entries()]);
    expect(keysAfter.get(keyOf(PREFIX, 4242))).toBe("value-4242");
    await probe.settled();
    for (const n of probe.nodes) expect(await probe.nodeReady(n)).toBe(true);
    expect((await lab.etcdHealth()).endpoints.filter((e) => e.health)).toHaveLength(3);
    const now = await bootIds();
    for (const n of lab.nodes) expect(now.get(n.kubeName)).not.toBe(stoppedBoots.get(n.kubeName));
    for (const n of probe.nodes) {
      for (const u of ["kubelet", "containerd"])
        expect((await probe.unitTimes(n, u)).enabled, `${n} ${u}`).toBe("enabled");
    }
    await probe.untouched();
    const leases = await probe.coordination.listNamespacedLease({ namespace: NS });
    expect(leases.items.map((l) => l.spec?.holderIdentity).sort()).toEqual(["holder-0", "holder-1", "holder-2"]);
    // The workload runs again.
    await waitFor(
      "the web pods running",
      async () => {
        const pods = (await probe.core.listPodForAllNamespaces({ labelSelector: "app=web" })).items;
        return pods.length > 0 && pods.every((p) => p.status?.phase === "Running") ? true : undefined;
      },
      120_000,
    );

    // Order, from each node's systemd: nothing began before the last node's agent was up; then the runtimes, etcd,
    // the control plane's kubelets, the workers' kubelets.
    const runtime = await Promise.all(probe.nodes.map((n) => probe.unitTimes(n, "containerd")));
    const etcd = await Promise.all(probe.masters.map((n) => probe.unitTimes(n, "etcd")));
    const masterKubelet = await Promise.all(probe.masters.map((n) => probe.unitTimes(n, "kubelet")));
    const workerKubelet = await Promise.all(lab.workers.map((n) => probe.unitTimes(n.name, "kubelet")));
    expect(Math.min(...runtime.map((u) => u.inactiveExit))).toBeGreaterThan(lastAgentUp);
    expect(Math.min(...etcd.map((u) => u.inactiveExit))).toBeGreaterThanOrEqual(
      Math.max(...runtime.map((u) => u.activeEnter)),
    );
    const quorumAt = etcd.map((u) => u.activeEnter).sort((a, b) => a - b)[1] ?? Number.NaN;
    expect(Math.min(...masterKubelet.map((u) => u.inactiveExit))).toBeGreaterThanOrEqual(quorumAt);
    expect(Math.min(...workerKubelet.map((u) => u.inactiveExit))).toBeGreaterThanOrEqual(
      Math.max(...masterKubelet.map((u) => u.activeEnter)),
    );

    // How soon after its boot each node's report arrived (serve's clock and the node's: one host in the lab).
    const reports = await kept();
    const latency = [...reports.values()].map((k) => k.receivedUnixMs - k.bootedUnixMs).sort((a, b) => a - b);
    console.log(
      `report latency after boot (ms): median ${latency[Math.floor(latency.length / 2)]}, max ${latency.at(-1)}`,
    );
    const metrics = await serveMetrics();
    expect(metrics).toMatch(/^kubecycle_operations_total\{procedure="cluster start",result="succeeded"\} [1-9]/m);
    expect(metrics).toMatch(
      /^kubecycle_phase_duration_seconds_count\{procedure="cluster start",phase="start-etcd"\} [1-9]/m,
    );
    expect(metrics).toMatch(/^kubecycle_agents_reporting 5$/m);
  }, 900_000);
});
