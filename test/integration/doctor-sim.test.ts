// `kubecycle doctor` through the real CLI entry against a simulated cluster (test/sim): real gRPC agents over real
// mTLS on loopback addresses, the simulated API injected. Each case injects a fault into the simulated nodes' own
// state (a unit stopped, journal lines, an alarm, a firewall-dropped port...), asks doctor, and checks it names the
// fault with the right cause; where doctor's fix is a kubecycle command, the fix is run and doctor then finds
// nothing, so the finding was about the fault and the fix fixes it.
import type { V1CertificateSigningRequest } from "@kubernetes/client-node";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Finding } from "../../coordinator/index.js";
import { startSimFixture, type SimFixture } from "../sim/fixture.js";
import type { SimNode } from "../sim/model.js";
import { createSimPki, type SimPki } from "../sim/pki.js";
import { simClusterSpec } from "../sim/spec.js";

/** 3 masters (etcd members as systemd units, containerd), 2 workers. Its own loopback net: files may run together. */
const spec = () => simClusterSpec({ masters: 3, workers: 2, net: 78 });
const MASTERS = ["sim-master-1", "sim-master-2", "sim-master-3"];
const WORKERS = ["sim-worker-1", "sim-worker-2"];

let work: string;
let pki: SimPki;
let sim: SimFixture;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "kc-doctor-sim-"));
  pki = await createSimPki(join(work, "pki"), [...MASTERS, ...WORKERS]);
  sim = await startSimFixture({ dir: join(work, "sim"), pki, spec: spec() });
});
afterAll(async () => {
  sim.close();
  await rm(work, { recursive: true, force: true });
});

interface DoctorRun {
  code: number;
  findings: Finding[];
  stdout: string;
  stderr: string;
}

async function doctor(...args: string[]): Promise<DoctorRun> {
  const res = await sim.kubecycle(["doctor", "-o", "json", ...args]);
  let findings: Finding[] = [];
  try {
    findings = (JSON.parse(res.stdout) as { findings: Finding[] }).findings;
  } catch {
    throw new Error(`doctor did not print JSON (exit ${res.code}): ${res.stdout}${res.stderr}`);
  }
  return { code: res.code, findings, stdout: res.stdout, stderr: res.stderr };
}

const node = (name: string): SimNode => sim.cluster.node(name);
const summary = (f: Finding[]) => f.map((x) => `${x.layer} ${x.code} ${x.node ?? "-"}`);

/** Waits until `ok()` holds on the simulated cluster (each node's state changes asynchronously). */
async function until(ok: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const allHealthy = () =>
  [...sim.cluster.nodes.values()].every(
    (n) => [...n.units.values()].every((u) => u.active === "active") && n.sandboxes.every((s) => s.ready),
  ) && sim.cluster.etcd.members.every((m) => sim.cluster.etcd.healthy(m));

describe("kubecycle doctor on the simulated cluster", () => {
  beforeEach(async () => {
    await until(allHealthy, "the cluster healthy before the case");
  });

  it("finds nothing on a healthy cluster and exits 0 (so the findings below come from the faults)", async () => {
    const run = await doctor();
    expect(run.findings, run.stdout).toEqual([]);
    expect(run.code).toBe(0);
    const human = await sim.kubecycle(["doctor"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^No problem found in cluster sim \(5 node\(s\)\)/);
  });

  it("a stopped runtime under a stopped etcd: names the runtime as the cause, and its fix (node start) fixes it", async () => {
    const m2 = node("sim-master-2");
    m2.stopUnit("containerd.service");
    m2.stopUnit("etcd.service");
    await until(
      () => m2.unit("containerd.service").active === "inactive" && m2.unit("etcd.service").active === "inactive",
      "containerd and etcd stopped",
    );
    const run = await doctor();
    expect(run.code).toBe(1);
    const [first] = run.findings;
    expect(first).toMatchObject({
      code: "runtime-stopped-under-etcd",
      layer: "etcd",
      node: "sim-master-2",
      fix: ["kubecycle node start sim-master-2"],
    });
    expect(first?.evidence.join("\n")).toMatch(/containerd\.service: inactive/);
    expect(first?.evidence.join("\n")).toMatch(/etcd\.service: inactive/);
    // The runtime is the cause, not a second finding of its own.
    expect(run.findings.filter((f) => f.node === "sim-master-2").map((f) => f.code)).toEqual([
      "runtime-stopped-under-etcd",
    ]);

    const fixed = await sim.kubecycle(["node", "start", "sim-master-2", "--yes", "-o", "json"]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(m2.unit("containerd.service").active).toBe("active");
    expect(sim.cluster.etcd.healthy(sim.cluster.etcd.memberOn("sim-master-2")!)).toBe(true);
    const after = await doctor();
    expect(summary(after.findings)).toEqual([]);
    expect(after.code).toBe(0);
  });

  it("an etcd member whose data is corrupted: names the damaged data from its journal, and the member replacement since the others keep quorum", async () => {
    const m3 = node("sim-master-3");
    m3.crash("etcd.service");
    m3.journal.set("etcd.service", [
      'etcd[4242]: {"level":"info","msg":"opened backend db","path":"/var/lib/etcd/member/snap/db"}',
      "etcd[4242]: panic: freepages: failed to get all reachable pages (page 8: multiple references)",
      "etcd[4242]: goroutine 1 [running]:",
    ]);
    try {
      const run = await doctor();
      expect(run.code).toBe(1);
      const [first] = run.findings;
      expect(first).toMatchObject({ code: "etcd-data-damaged", layer: "etcd", node: "sim-master-3" });
      expect(first?.evidence.join("\n")).toMatch(/panic: freepages/);
      expect(first?.evidence.join("\n")).toMatch(/etcd\.service: failed \(failed\), result exit-code/);
      expect(first?.fix[0]).toMatch(/other members keep quorum \(2 of 3 healthy\)/);
      expect(first?.fix).toContain("kubecycle etcd rejoin sim-master-3");
    } finally {
      m3.journal.delete("etcd.service");
      m3.startUnit("etcd.service");
    }
  });

  it("etcd down on two of three members: no quorum, the API fails; doctor works from the cache and says cluster start", async () => {
    for (const n of ["sim-master-1", "sim-master-2"]) node(n).stopUnit("etcd.service");
    await until(() => sim.cluster.etcd.leader === undefined, "etcd without a leader");
    try {
      const run = await doctor();
      expect(run.code).toBe(1);
      const etcd = run.findings.filter((f) => f.layer === "etcd");
      expect(summary(etcd)).toEqual([
        "etcd etcd-stopped sim-master-1",
        "etcd etcd-stopped sim-master-2",
        "etcd etcd-unhealthy sim-master-3",
      ]);
      for (const f of etcd) expect(f.fix).toEqual(["kubecycle cluster start"]);
      expect(etcd[2]?.cause).toMatch(/no quorum: 0 of 3 members healthy/);
      expect(run.findings.find((f) => f.code === "api-unreachable")?.layer).toBe("control-plane");
      // Ordered: every etcd finding before any other.
      const layers = run.findings.map((f) => f.layer);
      expect(layers.lastIndexOf("etcd")).toBeLessThan(layers.findIndex((l) => l !== "etcd"));
    } finally {
      for (const n of ["sim-master-1", "sim-master-2"]) node(n).startUnit("etcd.service");
    }
  });

  it("etcd's NOSPACE alarm: the quota named full, with the sizes, and defrag as the way out when most of the db is free pages", async () => {
    const m = sim.cluster.etcd.memberOn("sim-master-1")!;
    Object.assign(m, { alarms: ["NOSPACE"], dbSizeBytes: 2 * 2 ** 30, dbSizeInUseBytes: 2 ** 29 });
    try {
      const run = await doctor();
      const f = run.findings.find((x) => x.code === "etcd-quota-full");
      expect(f).toMatchObject({ layer: "etcd", node: "sim-master-1", severity: "error" });
      expect(f?.evidence.join("\n")).toMatch(/alarm:NOSPACE/);
      expect(f?.evidence.join("\n")).toMatch(/db 2\.00 GiB \(in use 0\.50 GiB\) of a 2\.00 GiB quota/);
      expect(f?.cause).toMatch(/freed pages/);
      expect(f?.fix).toContain("etcdctl alarm disarm");
    } finally {
      Object.assign(m, { alarms: [], dbSizeBytes: 20 * 2 ** 20, dbSizeInUseBytes: 16 * 2 ** 20 });
    }
  });

  it("a worker cut off by a firewall: named unreachable with the timeouts, not as a stopped agent", async () => {
    const w = node("sim-worker-1");
    w.setReachable(false);
    try {
      const run = await doctor();
      expect(run.code).toBe(1);
      const f = run.findings.find((x) => x.node === "sim-worker-1");
      expect(f).toMatchObject({ code: "node-cut-off", layer: "node" });
      expect(f?.cause).toMatch(/firewall rule/);
      expect(f?.fix.join("\n")).toMatch(/nft list ruleset/);
    } finally {
      w.setReachable(true);
    }
  });

  it("an agent that does not run (the node answers, nothing listens): agent-down, start the agent", async () => {
    sim.agents.stopAgent("sim-worker-2");
    try {
      const run = await doctor();
      const f = run.findings.find((x) => x.node === "sim-worker-2");
      expect(f).toMatchObject({ code: "agent-down", fix: ["on sim-worker-2: systemctl start kubecycle-agent"] });
    } finally {
      await sim.agents.startAgent("sim-worker-2");
    }
  });

  it("a firewall rule dropping etcd's peer port on one master: the others see their peer's packets dropped", async () => {
    node("sim-master-3").blockedPorts.add(2380);
    try {
      const run = await doctor();
      const dropped = run.findings.filter((x) => x.code === "etcd-peer-dropped");
      expect(summary(dropped)).toEqual([
        "etcd etcd-peer-dropped sim-master-1",
        "etcd etcd-peer-dropped sim-master-2",
        "etcd etcd-peer-dropped sim-master-3",
      ]);
      expect(dropped[0]?.evidence.join("\n")).toMatch(/etcd member etcd-sim-master-3 127\.78\.1\.3:2380: timed out/);
    } finally {
      node("sim-master-3").blockedPorts.delete(2380);
    }
  });

  it("an expired kubelet certificate, a drifted clock and a nearly full etcd disk are each named on their node", async () => {
    const w = node("sim-worker-2");
    const m1 = node("sim-master-1");
    const cert = w.certificates.find((c) => c.purpose === "kubelet-client")!;
    const notAfter = cert.notAfterUnixMs;
    cert.notAfterUnixMs = Date.now() - 86_400_000;
    m1.clockOffsetMs = 4000;
    node("sim-master-2").diskFree.set("etcd-data", { availableBytes: 2 ** 30, inodesFree: 6_000_000 });
    try {
      const run = await doctor();
      expect(summary(run.findings)).toEqual([
        "etcd clock-offset sim-master-1",
        "etcd disk-full sim-master-2",
        "kubelet certificate-expired sim-worker-2",
      ]);
      const clock = run.findings[0];
      expect(clock?.evidence[0]).toMatch(/^offset (39|40)\d\d ms/);
      expect(run.findings[1]?.evidence[0]).toMatch(/1\.00 GiB free of 100\.00 GiB/);
      expect(run.findings[2]?.what).toMatch(/kubelet-client certificate on sim-worker-2 expired/);
    } finally {
      cert.notAfterUnixMs = notAfter;
      m1.clockOffsetMs = 0;
      node("sim-master-2").diskFree.delete("etcd-data");
    }
  });

  it("orders etcd before kubelet before pods: a stopped runtime under etcd, a stopped kubelet, a pod waiting on another", async () => {
    const m2 = node("sim-master-2");
    const w1 = node("sim-worker-1");
    const pod = w1.sandboxes.find((s) => s.scope === "workload")!;
    m2.stopUnit("containerd.service");
    m2.stopUnit("etcd.service");
    node("sim-worker-2").stopUnit("kubelet.service");
    pod.restarts = 7;
    pod.crashLoop = {
      reason: "Error",
      exitCode: 1,
      message: "dial tcp 10.96.0.15:5432: connect: connection refused\nwaiting for postgres",
      finishedAt: Date.now(),
    };
    await until(
      () =>
        m2.unit("etcd.service").active === "inactive" &&
        node("sim-worker-2").unit("kubelet.service").active === "inactive",
      "the units stopped",
    );
    try {
      const run = await doctor();
      expect(summary(run.findings)).toEqual([
        "etcd runtime-stopped-under-etcd sim-master-2",
        "kubelet kubelet-stopped sim-worker-2",
        `pods pod-crash-looping sim-worker-1`,
      ]);
      const p = run.findings[2];
      expect(p?.what).toMatch(
        new RegExp(`${pod.namespace}/${pod.name} restarts again and again \\(7 restarts, CrashLoopBackOff\\)`),
      );
      expect(p?.evidence.join("\n")).toMatch(/connection refused/);
      expect(p?.cause).toMatch(/waits on another service/);
      // The human view: numbered in the same order.
      const human = await sim.kubecycle(["doctor"]);
      expect(human.stdout).toMatch(
        /1\. \[etcd\] ERROR etcd is not running on sim-master-2[\s\S]*2\. \[kubelet\][\s\S]*3\. \[pods\]/,
      );
    } finally {
      delete pod.crashLoop;
      pod.restarts = 0;
      for (const u of ["containerd.service", "etcd.service"]) m2.startUnit(u);
      node("sim-worker-2").startUnit("kubelet.service");
    }
  });

  it("NODE limits the agents asked; an unknown NODE is a clear error", async () => {
    node("sim-worker-2").stopUnit("kubelet.service");
    try {
      const one = await doctor("sim-worker-1");
      expect(one.findings.filter((f) => f.node === "sim-worker-2" && f.code === "kubelet-stopped")).toEqual([]);
      const two = await doctor("sim-worker-2");
      expect(summary(two.findings)).toEqual(["kubelet kubelet-stopped sim-worker-2"]);
      const bad = await sim.kubecycle(["doctor", "no-such-node"]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/no-such-node/);
    } finally {
      node("sim-worker-2").startUnit("kubelet.service");
    }
  });
});

/** A kubelet's CSR as the API stores it, its PKCS#10 request made by openssl as a kubelet makes one. */
async function kubeletCsr(o: {
  name: string;
  node: string;
  requester?: string;
  san: string;
}): Promise<V1CertificateSigningRequest> {
  const key = join(work, `${o.name}.key`);
  const out = join(work, `${o.name}.csr`);
  // prettier-ignore
  await promisify(execFile)("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", `/O=system:nodes/CN=system:node:${o.node}`, "-addext", `subjectAltName=${o.san}`, "-out", out]);
  const requester = o.requester ?? `system:node:${o.node}`;
  return {
    apiVersion: "certificates.k8s.io/v1",
    kind: "CertificateSigningRequest",
    metadata: { name: o.name, creationTimestamp: new Date(), resourceVersion: "1" },
    spec: {
      request: Buffer.from(await readFile(out)).toString("base64"),
      signerName: "kubernetes.io/kubelet-serving",
      username: requester,
      groups: requester.startsWith("system:bootstrap:")
        ? ["system:bootstrappers", "system:authenticated"]
        : ["system:nodes", "system:authenticated"],
      usages: ["digital signature", "key encipherment", "server auth"],
    },
    status: {},
  };
}

const approved = (name: string) =>
  sim.api.csrs
    .find((c) => c.metadata?.name === name)
    ?.status?.conditions?.some((c) => c.type === "Approved" && c.status === "True") === true;

describe("kubelet CSRs after a long outage", () => {
  it("doctor lists a pending kubelet CSR with the command that approves it", async () => {
    await until(allHealthy, "the cluster healthy");
    // Clean as doctor sees it too (a kubelet the case before restarted is Ready in the API a little later), so the
    // one finding below comes from the CSR alone.
    for (const end = Date.now() + 20_000; ;) {
      const clean = await doctor();
      if (clean.findings.length === 0) break;
      if (Date.now() > end) throw new Error(`doctor never came clean: ${summary(clean.findings).join("; ")}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const w1 = node("sim-worker-1");
    sim.api.csrs.push(await kubeletCsr({ name: "csr-doctor", node: w1.name, san: `DNS:${w1.name},IP:${w1.address}` }));
    try {
      const run = await doctor();
      expect(summary(run.findings)).toEqual(["kubelet kubelet-csr-pending sim-worker-1"]);
      expect(run.findings[0]?.fix[0]).toBe("kubecycle cluster start --approve-kubelet-csrs");
      expect(approved("csr-doctor")).toBe(false);
    } finally {
      sim.api.csrs = [];
    }
  });

  it("cluster start --approve-kubelet-csrs approves what a recorded node asks for itself, and refuses the rest saying why", async () => {
    await until(allHealthy, "the cluster healthy");
    const stop = await sim.kubecycle(["cluster", "stop", "--yes", "-o", "json"]);
    expect(stop.code, stop.stderr).toBe(0);
    const w1 = node("sim-worker-1");
    const w2 = node("sim-worker-2");
    sim.api.csrs.push(
      await kubeletCsr({ name: "csr-good", node: w1.name, san: `DNS:${w1.name},IP:${w1.address}` }),
      await kubeletCsr({
        name: "csr-bootstrap",
        node: w2.name,
        requester: "system:bootstrap:abcdef",
        san: `DNS:${w2.name},IP:${w2.address}`,
      }),
      await kubeletCsr({ name: "csr-foreign-ip", node: w2.name, san: `DNS:${w2.name},IP:10.9.9.9` }),
      await kubeletCsr({ name: "csr-stranger", node: "not-a-node", san: "DNS:not-a-node" }),
    );
    const start = await sim.kubecycle(["cluster", "start", "--approve-kubelet-csrs", "--settle-timeout", "0"]);
    expect(start.code, start.stdout + start.stderr).toBe(0);
    // In the API's own store: only the good one carries the approval.
    expect(approved("csr-good")).toBe(true);
    expect(approved("csr-bootstrap")).toBe(false);
    expect(approved("csr-foreign-ip")).toBe(false);
    expect(approved("csr-stranger")).toBe(false);
    const approvals = sim.cluster.calls.filter((c) => c.rpc === "api:approve certificatesigningrequest");
    expect(approvals.map((c) => c.about)).toEqual(["approve certificatesigningrequest csr-good"]);
    expect(start.stdout).toMatch(/csr-bootstrap.*refused: it was requested with a bootstrap token/);
    expect(start.stdout).toMatch(/csr-foreign-ip.*refused: addresses 10\.9\.9\.9 are not sim-worker-2's/);
    expect(start.stdout).toMatch(/csr-stranger.*refused: not-a-node is not a node of the recorded inventory/);

    // Afterwards doctor still names the refused ones (a warning each), and not the approved one.
    const after = await doctor();
    expect(summary(after.findings.filter((f) => f.code.startsWith("kubelet-csr")))).toEqual([
      "kubelet kubelet-csr-refused not-a-node",
      "kubelet kubelet-csr-refused sim-worker-2",
      "kubelet kubelet-csr-refused sim-worker-2",
    ]);
    sim.api.csrs = [];
  });

  it("cluster start without the flag lists the pending CSRs and approves none", async () => {
    await until(allHealthy, "the cluster healthy");
    const stop = await sim.kubecycle(["cluster", "stop", "--yes", "-o", "json"]);
    expect(stop.code, stop.stderr).toBe(0);
    const w1 = node("sim-worker-1");
    sim.api.csrs.push(await kubeletCsr({ name: "csr-listed", node: w1.name, san: `DNS:${w1.name},IP:${w1.address}` }));
    const from = sim.cluster.calls.length;
    const start = await sim.kubecycle(["cluster", "start", "--settle-timeout", "0"]);
    expect(start.code, start.stdout + start.stderr).toBe(0);
    expect(start.stdout).toMatch(/csr-listed.*would be approved with --approve-kubelet-csrs/);
    expect(approved("csr-listed")).toBe(false);
    expect(sim.cluster.calls.slice(from).filter((c) => c.rpc.startsWith("api:approve"))).toEqual([]);
    sim.api.csrs = [];
  });
});
