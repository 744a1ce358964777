// `kubecycle cluster stop` and `cluster start` through the real CLI entry, executor and step runners, against a
// simulated cluster (test/sim): real gRPC agents over real mTLS on loopback addresses, a simulated API injected into
// the CLI. Fast tier: no root, seconds. Every outcome is checked in the simulated nodes' own state (unit histories,
// sandboxes, etcd, the calls each agent received), not in kubecycle's report.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentConnection } from "../../coordinator/index.js";
import { readTlsFiles } from "../../shared/index.js";
import { startSimFixture, type SimFixture } from "../sim/fixture.js";
import type { CallRecord, SimCluster, SimUnit } from "../sim/model.js";
import { createSimPki, type SimPki } from "../sim/pki.js";
import { simClusterSpec } from "../sim/spec.js";

/** 3 masters (etcd members, containerd), 3 workers (the third on docker with cri-dockerd). */
const spec = () => simClusterSpec({ masters: 3, workers: 3, dockerEvery: 3 });
const MASTERS = ["sim-master-1", "sim-master-2", "sim-master-3"];
const WORKERS = ["sim-worker-1", "sim-worker-2", "sim-worker-3"];
const NODES = [...MASTERS, ...WORKERS];
const CORDONED_BY = "kubecycle.io/cordoned-by";
const LEASE = ["kube-system", "kubecycle-lock"] as const;

let work: string;
let pki: SimPki;
let fixtures = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "kc-cluster-sim-"));
  pki = await createSimPki(join(work, "pki"), NODES);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const newSim = () => startSimFixture({ dir: join(work, `sim-${++fixtures}`), pki, spec: spec() });

/** Every unit of every node, with its node. */
function units(cluster: SimCluster): Array<{ node: string; unit: SimUnit }> {
  return [...cluster.nodes.values()].flatMap((n) => [...n.units.values()].map((unit) => ({ node: n.name, unit })));
}

const isRuntime = (name: string) => /^(containerd|docker|cri-docker)\./.test(name);

/** When the unit last began to stop / became inactive / began to start / became active, after `since`. */
function entered(u: SimUnit, state: SimUnit["active"], since: number): number | undefined {
  return u.history.find((e) => e.at >= since && e.active === state)?.at;
}

function must(t: number | undefined, what: string): number {
  if (t === undefined) throw new Error(`never happened: ${what}`);
  return t;
}

/** The mutating calls agents (and the API) received since `from` (an index into cluster.calls). */
const changesSince = (cluster: SimCluster, from: number): CallRecord[] =>
  cluster.calls.slice(from).filter((c) => c.mutating);

describe("cluster stop, then cluster start", () => {
  let sim: SimFixture;
  let stopAt = 0;
  let startAt = 0;

  beforeAll(async () => {
    sim = await newSim();
    // An administrator's cordon, which must survive the whole cycle.
    await sim.api.patchNode("sim-worker-2", { unschedulable: true });
  });
  afterAll(() => sim.close());

  it("cluster stop: every phase on every node, each done everywhere before the next begins", async () => {
    stopAt = Date.now();
    const res = await sim.kubecycle(["cluster", "stop", "--yes", "-o", "json"]);
    expect(res.code, res.stderr).toBe(0);
    const { cluster, api } = sim;

    // Everything is down, on every node, in the nodes' own state.
    for (const { node, unit } of units(cluster)) expect(`${node} ${unit.name} ${unit.active}`).toMatch(/ inactive$/);
    for (const n of cluster.nodes.values()) expect(n.sandboxes.filter((s) => s.ready).map((s) => s.name)).toEqual([]);
    expect(cluster.etcd.leader).toBeUndefined();
    expect(api.serving).toBe(false);

    // The order, from the units' own histories: all kubelets inactive before any pod was stopped; every control-plane
    // sandbox stopped before any etcd began to stop; every etcd inactive before any runtime unit began to stop.
    const all = units(cluster);
    const kubeletsDown = Math.max(
      ...all
        .filter((x) => x.unit.name === "kubelet.service")
        .map((x) => must(entered(x.unit, "inactive", stopAt), `${x.node} kubelet stop`)),
    );
    const podCalls = cluster.calls.filter((c) => c.rpc === "StopPodSandboxes" && c.at >= stopAt);
    expect(podCalls.map((c) => `${c.node} ${c.about}`).sort()).toEqual(
      [...NODES.map((n) => `${n} POD_SCOPE_WORKLOAD`), ...MASTERS.map((n) => `${n} POD_SCOPE_CONTROL_PLANE`)].sort(),
    );
    expect(Math.min(...podCalls.map((c) => c.at))).toBeGreaterThan(kubeletsDown);
    const workloadDone = Math.max(
      ...podCalls.filter((c) => c.about === "POD_SCOPE_WORKLOAD").map((c) => must(c.answeredAt, "answer")),
    );
    const cpCalls = podCalls.filter((c) => c.about === "POD_SCOPE_CONTROL_PLANE");
    expect(Math.min(...cpCalls.map((c) => c.at))).toBeGreaterThan(workloadDone);
    const etcds = all.filter((x) => x.unit.name === "etcd.service");
    expect(etcds.map((x) => x.node)).toEqual(MASTERS);
    const etcdStopBegan = Math.min(
      ...etcds.map((x) => must(entered(x.unit, "deactivating", stopAt), `${x.node} etcd stop`)),
    );
    expect(etcdStopBegan).toBeGreaterThan(Math.max(...cpCalls.map((c) => must(c.answeredAt, "answer"))));
    const etcdDown = Math.max(
      ...etcds.map((x) => must(entered(x.unit, "inactive", stopAt), `${x.node} etcd inactive`)),
    );
    const runtimeStopBegan = Math.min(
      ...all
        .filter((x) => isRuntime(x.unit.name))
        .map((x) => must(entered(x.unit, "deactivating", stopAt), `${x.node} ${x.unit.name} stop`)),
    );
    expect(runtimeStopBegan).toBeGreaterThan(etcdDown);
    // Each phase ran on all its nodes at once: the last kubelet began to stop before the first one was done.
    const kubelets = all.filter((x) => x.unit.name === "kubelet.service");
    expect(Math.max(...kubelets.map((x) => must(entered(x.unit, "deactivating", stopAt), "stop")))).toBeLessThan(
      Math.min(...kubelets.map((x) => must(entered(x.unit, "inactive", stopAt), "inactive"))),
    );
    // docker's sockets stopped before their services, or a client would start them again.
    const docker = cluster.node("sim-worker-3");
    for (const [socket, service] of [
      ["docker.socket", "docker.service"],
      ["cri-docker.socket", "cri-docker.service"],
    ] as const) {
      expect(must(entered(docker.unit(socket), "deactivating", stopAt), socket)).toBeLessThan(
        must(entered(docker.unit(service), "deactivating", stopAt), service),
      );
    }

    // Every node cordoned by kubecycle but the administrator's, which stays theirs; the lock parked for the start;
    // a verified snapshot on disk.
    for (const n of NODES) {
      const node = api.storedNode(n);
      expect(node.spec?.unschedulable, n).toBe(true);
      expect(node.metadata?.annotations?.[CORDONED_BY] !== undefined, n).toBe(n !== "sim-worker-2");
    }
    expect(api.lease(...LEASE)?.metadata?.annotations?.["kubecycle.io/state"]).toBe("parked");
    expect(JSON.parse(await readFile(join(sim.stateDir, "lock"), "utf8"))).toMatchObject({ state: "parked" });
    const backups = await readdir(join(sim.stateDir, "backups"));
    expect(backups.filter((f) => f.endsWith(".db"))).toHaveLength(1);
    expect(backups.filter((f) => f.endsWith(".db.sha256"))).toHaveLength(1);
  });

  it("cluster start: runtime, etcd with quorum, control plane, workers, every node Ready, cordons lifted", async () => {
    startAt = Date.now();
    const res = await sim.kubecycle(["cluster", "start", "-o", "json"]);
    expect(res.code, res.stderr).toBe(0);
    const { cluster, api } = sim;

    for (const { node, unit } of units(cluster)) expect(`${node} ${unit.name} ${unit.active}`).toMatch(/ active$/);
    for (const n of cluster.nodes.values()) expect(n.sandboxes.filter((s) => !s.ready).map((s) => s.name)).toEqual([]);
    expect(cluster.etcd.members.every((m) => cluster.etcd.healthy(m))).toBe(true);
    for (const n of NODES) {
      const node = await api.getNode(n);
      expect(node?.status?.conditions?.find((c) => c.type === "Ready")?.status, n).toBe("True");
      // Only the administrator's cordon is left, untouched.
      expect(node?.spec?.unschedulable === true, n).toBe(n === "sim-worker-2");
      expect(node?.metadata?.annotations?.[CORDONED_BY], n).toBeUndefined();
    }
    expect(api.lease(...LEASE)).toBeUndefined();
    expect(existsSync(join(sim.stateDir, "lock"))).toBe(false);

    // The order, from the nodes' own records: no etcd before every runtime was active; no kubelet before etcd had a
    // leader; no worker's kubelet before the control plane answered healthy.
    const all = units(cluster);
    const runtimesUp = Math.max(
      ...all
        .filter((x) => isRuntime(x.unit.name))
        .map((x) => must(entered(x.unit, "active", startAt), `${x.node} ${x.unit.name}`)),
    );
    const etcds = all.filter((x) => x.unit.name === "etcd.service");
    expect(Math.min(...etcds.map((x) => must(entered(x.unit, "activating", startAt), "etcd start")))).toBeGreaterThan(
      runtimesUp,
    );
    const quorum = Math.min(
      ...cluster.instants.filter((i) => i.what === "etcd-healthy" && i.at >= startAt).map((i) => i.at),
    );
    const kubeletStart = (n: string) =>
      must(entered(cluster.node(n).unit("kubelet.service"), "activating", startAt), `${n} kubelet`);
    for (const m of MASTERS) expect(kubeletStart(m)).toBeGreaterThan(quorum);
    const controlPlaneHealthy = Math.max(
      ...MASTERS.map((m) =>
        Math.max(
          ...cluster.instants
            .filter((i) => i.node === m && i.what === "components-healthy" && i.at >= startAt)
            .map((i) => i.at),
        ),
      ),
    );
    for (const w of WORKERS) expect(kubeletStart(w)).toBeGreaterThan(controlPlaneHealthy);
  });
});

describe("cluster stop refuses, with nothing changed", () => {
  let sim: SimFixture;
  beforeAll(async () => {
    sim = await newSim();
  });
  afterAll(() => sim.close());

  /** Runs `cluster stop` and checks that no agent and no API object was changed, and nothing was recorded. */
  async function refused(opts: { config?: string } = {}, args = ["cluster", "stop", "--yes"]) {
    const from = sim.cluster.calls.length;
    const state = () =>
      units(sim.cluster).map(({ node, unit }) => `${node} ${unit.name} ${unit.active} ${unit.history.length}`);
    const before = state();
    const res = await sim.kubecycle(args, opts);
    expect(changesSince(sim.cluster, from).map((c) => `${c.node} ${c.rpc} ${c.about ?? ""}`)).toEqual([]);
    expect(state()).toEqual(before);
    for (const n of NODES) expect(sim.api.storedNode(n).spec?.unschedulable, n).toBeUndefined();
    expect(sim.api.lease(...LEASE)).toBeUndefined();
    expect(existsSync(join(sim.stateDir, "cluster-record.json"))).toBe(false);
    expect(existsSync(join(sim.stateDir, "lock"))).toBe(false);
    return res;
  }

  it("a certificate that expires inside --cert-window: named with its node, path and date", async () => {
    const node = sim.cluster.node("sim-worker-1");
    const cert = node.certificates.find((c) => c.purpose === "kubelet-client");
    if (!cert) throw new Error("no kubelet-client certificate");
    const saved = cert.notAfterUnixMs;
    cert.notAfterUnixMs = Date.now() + 10 * 86_400_000;
    try {
      const res = await refused();
      expect(res.code).toBe(2);
      expect(res.stderr).toContain("sim-worker-1");
      expect(res.stderr).toContain("/var/lib/kubelet/pki/kubelet-client-current.pem");
      expect(res.stderr).toContain(new Date(cert.notAfterUnixMs).toISOString().slice(0, 10));
    } finally {
      cert.notAfterUnixMs = saved;
    }
  });

  it("an agent that does not answer: named", async () => {
    sim.agents.stopAgent("sim-worker-3");
    try {
      const res = await refused();
      // Refused before anything changed: the operator's to decide, as every preflight refusal (exit 2).
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/sim-worker-3.*unreachable/);
    } finally {
      await sim.agents.startAgent("sim-worker-3");
    }
  });

  it("an etcd member that is not healthy: named", async () => {
    const m2 = sim.cluster.node("sim-master-2");
    m2.crash("etcd.service");
    try {
      const res = await refused();
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/etcd is not healthy.*sim-master-2/);
    } finally {
      m2.startUnit("etcd.service");
      const member = sim.cluster.etcd.memberOn("sim-master-2");
      expect(await m2.until(() => member !== undefined && sim.cluster.etcd.healthy(member), 5000)).toBe(true);
    }
  });

  it("a node whose address drifted from its etcd peer URL: named with the old address", async () => {
    const old = sim.cluster.node("sim-master-3").address;
    await sim.agents.moveNode("sim-master-3", "127.77.200.3");
    try {
      const res = await refused();
      expect(res.code).toBe(2);
      expect(res.stderr).toContain(`sim-master-3 no longer has ${old}`);
    } finally {
      await sim.agents.moveNode("sim-master-3", old);
    }
  });

  it("a viewer's certificate: refused before anything is asked of a node", async () => {
    const res = await refused({ config: sim.viewerConfig });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("viewer");
  });

  it("--dry-run runs every preflight check, names all the faults at once, and changes nothing", async () => {
    const cert = sim.cluster.node("sim-worker-1").certificates.find((c) => c.purpose === "kubelet-client");
    if (!cert) throw new Error("no kubelet-client certificate");
    const saved = cert.notAfterUnixMs;
    cert.notAfterUnixMs = Date.now() + 10 * 86_400_000;
    sim.agents.stopAgent("sim-worker-3");
    try {
      const res = await refused({}, ["cluster", "stop", "--dry-run", "-o", "json"]);
      expect(res.code, res.stderr).toBe(2);
      const out = JSON.parse(res.stdout) as {
        plan: { procedure: string };
        preflight: Array<{ step: string; ok: boolean; error?: { message: string } }>;
      };
      expect(out.plan.procedure).toBe("cluster stop");
      const failed = out.preflight.filter((a) => !a.ok).map((a) => a.error?.message ?? "");
      expect(failed.some((m) => m.includes("/var/lib/kubelet/pki/kubelet-client-current.pem"))).toBe(true);
      expect(failed.some((m) => /sim-worker-3.*unreachable/.test(m))).toBe(true);
      // The checks that could pass did, and say so.
      expect(out.preflight.filter((a) => a.ok).length).toBeGreaterThan(0);
    } finally {
      cert.notAfterUnixMs = saved;
      await sim.agents.startAgent("sim-worker-3");
    }
    const clean = await refused({}, ["node", "stop", "sim-worker-1", "--dry-run"]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain("Preflight, run now (read-only):");
    expect(clean.stdout).toMatch(/✓ \S*check-drainable\S*.*a drain would evict: /);
  });

  it("and with every fault undone, the same cluster stops (so the refusals above had a cause)", async () => {
    const res = await sim.kubecycle(["cluster", "stop", "--yes"]);
    expect(res.code, res.stderr).toBe(0);
    expect(units(sim.cluster).every((x) => x.unit.active === "inactive")).toBe(true);
  });
});

describe("a node that stops answering during cluster stop", () => {
  let sim: SimFixture;
  beforeAll(async () => {
    sim = await newSim();
  });
  afterAll(() => sim.close());

  it("fails at that phase's barrier naming it, and nothing of the next phase runs on any node", async () => {
    const lost = sim.cluster.node("sim-worker-2");
    // It drops off the network as its kubelet's stop arrives: the call is never answered, kubelet keeps running.
    lost.dropWhen = (rpc) => rpc === "StopUnits";
    const from = sim.cluster.calls.length;
    const res = await sim.kubecycle(["cluster", "stop", "--yes"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/failed at stop-kubelet\/stop-units\/sim-worker-2/);

    const { cluster } = sim;
    for (const n of NODES.filter((x) => x !== "sim-worker-2")) {
      expect(cluster.node(n).unit("kubelet.service").active, n).toBe("inactive");
    }
    expect(lost.unit("kubelet.service").active).toBe("active");
    // Nothing of the next phases: no pod stopped, no etcd or runtime touched, on any node.
    expect(cluster.calls.slice(from).filter((c) => c.rpc === "StopPodSandboxes")).toEqual([]);
    for (const n of cluster.nodes.values())
      expect(
        n.sandboxes.every((s) => s.ready),
        n.name,
      ).toBe(true);
    for (const { node, unit } of units(cluster).filter((x) => x.unit.name !== "kubelet.service")) {
      expect(`${node} ${unit.name} ${unit.active}`).toMatch(/ active$/);
    }
    expect(cluster.etcd.members.every((m) => cluster.etcd.healthy(m))).toBe(true);
    // The stop touched nodes: the lock stays parked for the start (or the same stop, once the node is back).
    expect(JSON.parse(await readFile(join(sim.stateDir, "lock"), "utf8"))).toMatchObject({ state: "parked" });
  });
});

describe("the etcd phase of cluster start", () => {
  let sim: SimFixture;
  let stoppedAt = 0;
  beforeAll(async () => {
    sim = await newSim();
    const res = await sim.kubecycle(["cluster", "stop", "--yes"]);
    expect(res.code, res.stderr).toBe(0);
    stoppedAt = Date.now();
  });
  afterAll(() => sim.close());

  it("one member at a time (the runbook's loop) deadlocks: each waits for a quorum that never comes", async () => {
    const tls = await readTlsFiles(pki.operator);
    const ask = (node: string) =>
      new AgentConnection({ node, address: `${sim.cluster.node(node).address}:${sim.agents.port}`, tls });
    const etcd = (node: string) => sim.cluster.node(node).unit("etcd.service");
    for (const [i, node] of ["sim-master-1", "sim-master-2"].entries()) {
      const agent = ask(node);
      try {
        // `systemctl start etcd` as the runbook runs it: waits for the member to be ready.
        const res = await agent.startUnits(
          { operationId: `runbook-serial-${i}`, units: [{ name: "etcd", settleTimeoutMs: 1500 }] },
          { deadlineMs: 5000 },
        );
        expect(res.ok).toBe(false);
        expect(res.outcomes[0]?.outcome).toBe("OUTCOME_TIMED_OUT");
        expect(res.outcomes[0]?.journal.join("\n")).toContain("no quorum");
      } finally {
        agent.close();
      }
      expect(etcd(node).active).toBe("activating");
      // The loop's next member is only asked once this one returns; none of the others has been started.
      for (const other of MASTERS.slice(i + 1))
        expect(entered(etcd(other), "activating", stoppedAt), other).toBeUndefined();
      // systemd's start timeout ends the waiting member before the loop reaches the next one.
      expect(await sim.cluster.node(node).until(() => etcd(node).active === "failed", 5000)).toBe(true);
      expect(etcd(node).result).toBe("timeout");
    }
    expect(sim.cluster.etcd.leader).toBeUndefined();
    expect(sim.cluster.instants.filter((x) => x.what === "etcd-healthy" && x.at >= stoppedAt)).toEqual([]);
  });

  it("cluster start starts every member at once, without waiting for any member's readiness", async () => {
    const startAt = Date.now();
    const res = await sim.kubecycle(["cluster", "start"]);
    expect(res.code, res.stderr).toBe(0);
    const { cluster } = sim;
    const calls = cluster.calls.filter((c) => c.rpc === "StartUnits" && c.about === "etcd.service" && c.at >= startAt);
    expect(calls.map((c) => c.node).sort()).toEqual(MASTERS);
    const firstActive = Math.min(
      ...MASTERS.map((m) => must(entered(cluster.node(m).unit("etcd.service"), "active", startAt), m)),
    );
    // Every member was asked before any became ready, and each agent answered while its member still waited.
    expect(Math.max(...calls.map((c) => c.at))).toBeLessThan(firstActive);
    for (const c of calls) expect(must(c.answeredAt, "answer"), c.node).toBeLessThan(firstActive);
    expect(cluster.etcd.leader).toBeDefined();
    expect(cluster.etcd.members.every((m) => cluster.etcd.healthy(m))).toBe(true);
  });
});

describe("cluster stop --poweroff --boot-hold, the nodes boot, cluster start", () => {
  let sim: SimFixture;
  beforeAll(async () => {
    sim = await newSim();
  });
  afterAll(() => sim.close());

  it("powers every node off, nothing starts at boot, and the start brings all back with auto-start restored", async () => {
    const boots = new Map(NODES.map((n) => [n, sim.cluster.node(n).bootId]));
    const stop = await sim.kubecycle(["cluster", "stop", "--yes", "--poweroff", "--boot-hold"]);
    expect(stop.code, stop.stderr).toBe(0);
    for (const n of sim.cluster.nodes.values()) {
      expect(n.powered, n.name).toBe(false);
      expect(
        [...n.units.values()].filter((u) => u.enabled !== "disabled").map((u) => u.name),
        n.name,
      ).toEqual([]);
    }

    for (const n of sim.cluster.nodes.values()) n.powerOn();
    for (const n of sim.cluster.nodes.values()) {
      expect(n.bootId, n.name).not.toBe(boots.get(n.name));
      expect(
        [...n.units.values()].filter((u) => u.active !== "inactive").map((u) => u.name),
        n.name,
      ).toEqual([]);
    }

    const start = await sim.kubecycle(["cluster", "start"]);
    expect(start.code, start.stderr).toBe(0);
    for (const { node, unit } of units(sim.cluster)) {
      expect(`${node} ${unit.name} ${unit.active} ${unit.enabled}`).toMatch(/ active enabled$/);
    }
    expect(sim.cluster.etcd.members.every((m) => sim.cluster.etcd.healthy(m))).toBe(true);
    for (const n of NODES) expect(sim.api.readyStatus(sim.cluster.node(n)), n).toBe("True");
  });
});
