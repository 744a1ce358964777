import { describe, expect, it } from "vitest";
import { changedNodeBy, planNodeStart, planNodeStop, type NodeTimeouts } from "./node.js";
import { renderPlan } from "./render.js";
import type { InventoryNode, Plan, UnitNames } from "./types.js";

const units: UnitNames = {
  kubelet: "kubelet",
  etcd: "etcd",
  runtime: { containerd: ["containerd"], docker: ["docker", "cri-dockerd"] },
};

const timeouts: NodeTimeouts = {
  agentCallMs: 10_000,
  lockMs: 10_000,
  backupMs: 120_000,
  cordonMs: 10_000,
  drainMs: 300_000,
  replacementMs: 120_000,
  unitSettleMs: 90_000,
  podSandboxesMs: 60_000,
  nodeNotReadyMs: 120_000,
  nodeReadyMs: 300_000,
  etcdHealthyMs: 60_000,
  controlPlaneMs: 120_000,
};

const master: InventoryNode = {
  name: "m1",
  address: "10.0.0.11",
  controlPlane: true,
  etcdMember: true,
  runtime: "containerd",
};
const worker: InventoryNode = {
  name: "w1",
  address: "10.0.0.21",
  controlPlane: false,
  etcdMember: false,
  runtime: "containerd",
};
const dockerWorker: InventoryNode = { ...worker, name: "w2", runtime: "docker" };
const controlPlaneOnly: InventoryNode = { ...master, name: "cp4", etcdMember: false };

const stopOpts = { skipBackup: false, force: false, breakLock: false, backupKeep: 5, timeouts };
const startOpts = { breakLock: false, timeouts };

const phases = (p: Plan) => p.phases.map((ph) => ph.name);
const kinds = (p: Plan, phase: string) => p.phases.find((ph) => ph.name === phase)?.steps.map((s) => s.action.kind);
const action = (p: Plan, phase: string) => p.phases.find((ph) => ph.name === phase)?.steps[0]?.action;

describe("planNodeStop", () => {
  it("stops an etcd member: quorum guard, backup, then kubelet, pods, etcd, runtime, and verifies etcd", () => {
    const p = planNodeStop(master, units, stopOpts);
    expect(p).toMatchObject({ version: 1, procedure: "node stop", target: "m1" });
    expect(phases(p)).toEqual([
      "preflight",
      "lock",
      "backup",
      "cordon",
      "drain",
      "stop-kubelet",
      "stop-pods",
      "stop-etcd",
      "stop-runtime",
      "verify",
    ]);
    expect(kinds(p, "preflight")).toEqual(["check-agent", "check-node-exists", "check-etcd-quorum", "check-capacity"]);
    expect(action(p, "stop-kubelet")).toEqual({ kind: "stop-units", units: ["kubelet"], ignoreMissing: [] });
    expect(action(p, "stop-etcd")).toEqual({ kind: "stop-units", units: ["etcd"], ignoreMissing: [] });
    expect(action(p, "stop-runtime")).toEqual({ kind: "stop-units", units: ["containerd"], ignoreMissing: [] });
    expect(kinds(p, "verify")).toEqual(["wait-node-ready", "check-etcd-healthy"]);
    expect(p.phases.find((ph) => ph.name === "verify")?.steps[1]?.action).toEqual({
      kind: "check-etcd-healthy",
      excluding: ["m1"],
    });
    expect(action(p, "backup")).toEqual({ kind: "etcd-snapshot", keep: 5 });
  });

  it("stops a worker without quorum guard, backup or etcd", () => {
    const p = planNodeStop(worker, units, stopOpts);
    expect(phases(p)).toEqual([
      "preflight",
      "lock",
      "cordon",
      "drain",
      "stop-kubelet",
      "stop-pods",
      "stop-runtime",
      "verify",
    ]);
    expect(kinds(p, "preflight")).toEqual(["check-agent", "check-node-exists", "check-capacity"]);
    expect(kinds(p, "verify")).toEqual(["wait-node-ready"]);
    expect(action(p, "verify")).toEqual({ kind: "wait-node-ready", ready: false });
  });

  it("treats a control-plane node that is not an etcd member like a worker for etcd", () => {
    const p = planNodeStop(controlPlaneOnly, units, stopOpts);
    expect(phases(p)).not.toContain("stop-etcd");
    expect(phases(p)).not.toContain("backup");
    expect(kinds(p, "preflight")).not.toContain("check-etcd-quorum");
  });

  it("stops cri-dockerd before docker, and only if present", () => {
    const p = planNodeStop(dockerWorker, units, stopOpts);
    expect(action(p, "stop-runtime")).toEqual({
      kind: "stop-units",
      units: ["cri-dockerd", "docker"],
      ignoreMissing: ["cri-dockerd"],
    });
  });

  it("skips the backup with --skip-backup", () => {
    expect(phases(planNodeStop(master, units, { ...stopOpts, skipBackup: true }))).not.toContain("backup");
  });

  it("passes --force to the capacity check and --break-lock to the lock", () => {
    const p = planNodeStop(worker, units, { ...stopOpts, force: true, breakLock: true });
    expect(p.phases[0]?.steps.find((s) => s.action.kind === "check-capacity")?.action).toEqual({
      kind: "check-capacity",
      leaving: "w1",
      force: true,
    });
    expect(action(p, "lock")).toEqual({ kind: "acquire-lock", breakLock: true });
  });

  it("gives the drain room for PDB retries and for the replacements", () => {
    const drain = planNodeStop(worker, units, stopOpts).phases.find((ph) => ph.name === "drain")?.steps[0];
    expect(drain?.action).toEqual({ kind: "drain", drainTimeoutMs: 300_000, replacementTimeoutMs: 120_000 });
    expect(drain?.timeoutMs).toBeGreaterThanOrEqual(420_000);
  });

  it("gives every step a unique id, a node where it acts on one, a timeout and a check", () => {
    for (const node of [master, worker, dockerWorker, controlPlaneOnly]) {
      const steps = planNodeStop(node, units, stopOpts).phases.flatMap((ph) => ph.steps);
      expect(new Set(steps.map((s) => s.id)).size).toBe(steps.length);
      for (const s of steps) {
        expect(s.timeoutMs).toBeGreaterThan(0);
        expect(s.check).not.toBe("");
      }
      const clusterWide = steps.filter((s) => s.node === undefined).map((s) => s.action.kind);
      expect(
        clusterWide.every((k) =>
          ["check-etcd-quorum", "acquire-lock", "etcd-snapshot", "check-etcd-healthy"].includes(k),
        ),
      ).toBe(true);
    }
  });

  it("is pure: the same input gives the same plan", () => {
    expect(planNodeStop(master, units, stopOpts)).toEqual(planNodeStop(master, units, stopOpts));
  });
});

describe("planNodeStart", () => {
  it("starts an etcd member: runtime, etcd, kubelet, then Ready, etcd health, control plane, uncordon, unlock", () => {
    const p = planNodeStart(master, units, startOpts);
    expect(phases(p)).toEqual([
      "preflight",
      "lock",
      "start-runtime",
      "start-etcd",
      "start-kubelet",
      "verify",
      "uncordon",
      "unlock",
    ]);
    expect(kinds(p, "verify")).toEqual(["wait-node-ready", "check-etcd-healthy", "check-control-plane"]);
    expect(action(p, "start-etcd")).toEqual({
      kind: "start-units",
      units: ["etcd"],
      ignoreMissing: [],
      noBlock: false,
    });
    expect(action(p, "verify")).toEqual({ kind: "wait-node-ready", ready: true });
  });

  it("starts a worker without etcd or control-plane checks", () => {
    const p = planNodeStart(worker, units, startOpts);
    expect(phases(p)).toEqual(["preflight", "lock", "start-runtime", "start-kubelet", "verify", "uncordon", "unlock"]);
    expect(kinds(p, "verify")).toEqual(["wait-node-ready"]);
  });

  it("checks the control plane of a control-plane node that is not an etcd member", () => {
    const p = planNodeStart(controlPlaneOnly, units, startOpts);
    expect(kinds(p, "verify")).toEqual(["wait-node-ready", "check-control-plane"]);
  });

  it("starts docker before cri-dockerd", () => {
    expect(action(planNodeStart(dockerWorker, units, startOpts), "start-runtime")).toEqual({
      kind: "start-units",
      units: ["docker", "cri-dockerd"],
      ignoreMissing: ["cri-dockerd"],
      noBlock: false,
    });
  });
});

describe("changedNodeBy", () => {
  it("is false for a stop that ended in preflight, lock or backup, true from the cordon on", () => {
    const p = planNodeStop(master, units, stopOpts);
    const byPhase = Object.fromEntries(p.phases.map((ph) => [ph.name, ph.steps.map((s) => changedNodeBy(p, s.id))]));
    expect(byPhase).toEqual({
      preflight: [false, false, false, false],
      lock: [false],
      backup: [false],
      cordon: [true],
      drain: [true],
      "stop-kubelet": [true],
      "stop-pods": [true],
      "stop-etcd": [true],
      "stop-runtime": [true],
      verify: [true, true],
    });
  });

  it("is true for a start from its first unit on", () => {
    const p = planNodeStart(worker, units, startOpts);
    const first = p.phases.find((ph) => ph.steps.some((s) => s.action.kind === "start-units"))?.steps[0];
    expect(changedNodeBy(p, p.phases[0]?.steps[0]?.id ?? "")).toBe(false);
    expect(changedNodeBy(p, first?.id ?? "")).toBe(true);
  });

  it("refuses a step that is not in the plan", () => {
    expect(() => changedNodeBy(planNodeStop(worker, units, stopOpts), "nope/nope")).toThrow(/not in the plan/);
  });
});

describe("renderPlan", () => {
  it("lists phases in order with node, action, timeout and check", () => {
    const text = renderPlan(planNodeStop(dockerWorker, units, stopOpts));
    expect(text).toContain("Plan: node stop w2 (plan v1)");
    expect(text).toMatch(/1\. Preflight checks[\s\S]*2\. Take the cluster operation lock[\s\S]*3\. Cordon/);
    expect(text).toContain("[w2] stop cri-dockerd, docker (cri-dockerd if present)  (timeout 90s)");
    expect(text).toContain("check: the Node turns NotReady in the API");
    expect(text).toContain("drain (PDB retries up to 5m)");
  });
});
