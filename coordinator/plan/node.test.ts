import { describe, expect, it } from "vitest";
import { changedNodeBy, planNodeStart, planNodeStop } from "./node.js";
import {
  TIMEOUTS as timeouts,
  controlPlaneOnly as cpOnly,
  dockerWorker as docker,
  kubeadmMaster,
  kubekeyMaster,
  worker as workerNode,
} from "./nodes.fixtures.js";
import { renderPlan } from "./render.js";
import type { InventoryNode, Plan } from "./types.js";

const master = kubekeyMaster("m1");
const worker = workerNode("w1");
const dockerWorker = docker("w2", 2);
const controlPlaneOnly = cpOnly("cp4");
const staticPodMaster = kubeadmMaster("m2", 2);
const stopOpts = {
  skipBackup: false,
  force: false,
  deleteEmptyDirData: false,
  breakLock: false,
  backupKeep: 5,
  apiElsewhere: true,
  timeouts,
};
const startOpts = { breakLock: false, timeouts };

const phases = (p: Plan) => p.phases.map((ph) => ph.name);
const kinds = (p: Plan, phase: string) => p.phases.find((ph) => ph.name === phase)?.steps.map((s) => s.action.kind);
const action = (p: Plan, phase: string) => p.phases.find((ph) => ph.name === phase)?.steps[0]?.action;

describe("planNodeStop", () => {
  it("stops an etcd member: quorum guard, backup, then kubelet, pods, etcd, runtime, and verifies etcd", () => {
    const p = planNodeStop(master, stopOpts);
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
    expect(kinds(p, "preflight")).toEqual([
      "check-agent",
      "check-node-exists",
      "check-etcd-quorum",
      "check-api-servers",
      "check-drainable",
      "check-capacity",
    ]);
    expect(action(p, "stop-pods")).toEqual({ kind: "stop-pod-sandboxes", scope: "all" });
    expect(action(p, "stop-kubelet")).toEqual({ kind: "stop-units", units: ["kubelet.service"], ignoreMissing: [] });
    expect(action(p, "stop-etcd")).toEqual({ kind: "stop-units", units: ["etcd.service"], ignoreMissing: [] });
    expect(action(p, "stop-runtime")).toEqual({ kind: "stop-units", units: ["containerd.service"], ignoreMissing: [] });
    expect(kinds(p, "verify")).toEqual(["wait-node-ready", "check-etcd-healthy"]);
    expect(p.phases.find((ph) => ph.name === "verify")?.steps[1]?.action).toEqual({
      kind: "check-etcd-healthy",
      excluding: ["m1"],
      wait: true,
    });
    expect(action(p, "backup")).toEqual({ kind: "etcd-snapshot", keep: 5 });
  });

  it("stops a worker without quorum guard, backup or etcd", () => {
    const p = planNodeStop(worker, stopOpts);
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
    expect(kinds(p, "preflight")).toEqual(["check-agent", "check-node-exists", "check-drainable", "check-capacity"]);
    expect(kinds(p, "verify")).toEqual(["wait-node-ready"]);
    expect(action(p, "verify")).toEqual({ kind: "wait-node-ready", ready: false });
  });

  it("treats a control-plane node that is not an etcd member like a worker for etcd", () => {
    const p = planNodeStop(controlPlaneOnly, stopOpts);
    expect(phases(p)).not.toContain("stop-etcd");
    expect(phases(p)).not.toContain("backup");
    expect(kinds(p, "preflight")).not.toContain("check-etcd-quorum");
    expect(kinds(p, "preflight")).toContain("check-api-servers");
  });

  it("stops each runtime part's socket before its service, cri-dockerd first, docker's containerd last", () => {
    const p = planNodeStop(dockerWorker, stopOpts);
    expect(action(p, "stop-runtime")).toEqual({
      kind: "stop-units",
      units: ["cri-docker.socket", "cri-docker.service", "docker.socket", "docker.service", "containerd.service"],
      ignoreMissing: [],
    });
  });

  it("stops a static-pod etcd member's other pods first, then etcd's sandbox, then the runtime", () => {
    const p = planNodeStop(staticPodMaster, stopOpts);
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
    expect(kinds(p, "preflight")).toContain("check-etcd-quorum");
    expect(action(p, "stop-pods")).toEqual({ kind: "stop-pod-sandboxes", scope: "all-but-etcd" });
    expect(action(p, "stop-etcd")).toEqual({ kind: "stop-pod-sandboxes", scope: "etcd" });
    expect(kinds(p, "verify")).toEqual(["wait-node-ready", "check-etcd-healthy"]);
  });

  it("refuses a node whose etcd membership nobody could tell, or a member whose etcd it cannot control", () => {
    const unknown: InventoryNode = { ...master, agent: "unreachable", etcd: { role: "unknown", mode: "unknown" } };
    expect(() => planNodeStop(unknown, stopOpts)).toThrow(/cannot tell whether m1 is an etcd member/);
    const foreign: InventoryNode = { ...master, etcd: { role: "voter", mode: "none", memberId: "1" } };
    expect(() => planNodeStart(foreign, startOpts)).toThrow(/neither an etcd unit nor an etcd static pod/);
    const noRuntime: InventoryNode = { ...worker, agent: "unreachable", runtime: { kind: "unknown", units: [] } };
    expect(() => planNodeStop(noRuntime, stopOpts)).toThrow(/container runtime of w1 is unknown/);
  });

  it("skips the NotReady check when the API goes down with the node (the last control plane, --force)", () => {
    const p = planNodeStop(controlPlaneOnly, { ...stopOpts, force: true, apiElsewhere: false });
    expect(kinds(p, "preflight")).toContain("check-api-servers");
    expect(phases(p)).not.toContain("verify");
    expect(kinds(planNodeStop(controlPlaneOnly, stopOpts), "verify")).toEqual(["wait-node-ready"]);
  });

  it("skips the backup with --skip-backup", () => {
    expect(phases(planNodeStop(master, { ...stopOpts, skipBackup: true }))).not.toContain("backup");
  });

  it("passes --force to the capacity check and --break-lock to the lock", () => {
    const p = planNodeStop(worker, { ...stopOpts, force: true, breakLock: true });
    expect(p.phases[0]?.steps.find((s) => s.action.kind === "check-capacity")?.action).toEqual({
      kind: "check-capacity",
      leaving: "w1",
      force: true,
    });
    expect(action(p, "lock")).toEqual({ kind: "acquire-lock", breakLock: true, api: true });
  });

  it("gives the drain room for PDB retries and for the replacements", () => {
    const drain = planNodeStop(worker, stopOpts).phases.find((ph) => ph.name === "drain")?.steps[0];
    expect(drain?.action).toEqual({
      kind: "drain",
      drainTimeoutMs: 300_000,
      replacementTimeoutMs: 120_000,
      force: false,
      deleteEmptyDirData: false,
    });
    expect(drain?.timeoutMs).toBeGreaterThanOrEqual(420_000);
  });

  it("gives every step a unique id, a node where it acts on one, a timeout and a check", () => {
    for (const node of [master, worker, dockerWorker, controlPlaneOnly, staticPodMaster]) {
      const steps = planNodeStop(node, stopOpts).phases.flatMap((ph) => ph.steps);
      expect(new Set(steps.map((s) => s.id)).size).toBe(steps.length);
      for (const s of steps) {
        expect(s.timeoutMs).toBeGreaterThan(0);
        expect(s.check).not.toBe("");
      }
      const clusterWide = steps.filter((s) => s.node === undefined).map((s) => s.action.kind);
      expect(
        clusterWide.every((k) =>
          ["check-etcd-quorum", "check-api-servers", "acquire-lock", "etcd-snapshot", "check-etcd-healthy"].includes(k),
        ),
      ).toBe(true);
    }
  });

  it("is pure: the same input gives the same plan", () => {
    expect(planNodeStop(master, stopOpts)).toEqual(planNodeStop(master, stopOpts));
  });
});

describe("planNodeStart", () => {
  it("starts an etcd member: runtime, etcd, kubelet, then Ready, etcd health, control plane, uncordon, unlock", () => {
    const p = planNodeStart(master, startOpts);
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
      units: ["etcd.service"],
      ignoreMissing: [],
      noBlock: false,
    });
    expect(action(p, "verify")).toEqual({ kind: "wait-node-ready", ready: true });
  });

  it("starts a worker without etcd or control-plane checks", () => {
    const p = planNodeStart(worker, startOpts);
    expect(phases(p)).toEqual(["preflight", "lock", "start-runtime", "start-kubelet", "verify", "uncordon", "unlock"]);
    expect(kinds(p, "verify")).toEqual(["wait-node-ready"]);
  });

  it("checks the control plane of a control-plane node that is not an etcd member", () => {
    const p = planNodeStart(controlPlaneOnly, startOpts);
    expect(kinds(p, "verify")).toEqual(["wait-node-ready", "check-control-plane"]);
  });

  it("starts each runtime part's socket before its service: containerd, docker, cri-dockerd", () => {
    expect(action(planNodeStart(dockerWorker, startOpts), "start-runtime")).toEqual({
      kind: "start-units",
      units: ["containerd.service", "docker.socket", "docker.service", "cri-docker.socket", "cri-docker.service"],
      ignoreMissing: [],
      noBlock: false,
    });
  });

  it("starts a static-pod etcd member through kubelet and waits for the member before anything else", () => {
    const p = planNodeStart(staticPodMaster, startOpts);
    expect(phases(p)).toEqual([
      "preflight",
      "lock",
      "start-runtime",
      "start-kubelet",
      "wait-etcd",
      "verify",
      "uncordon",
      "unlock",
    ]);
    expect(action(p, "wait-etcd")).toEqual({ kind: "wait-etcd-member" });
    expect(p.phases.find((ph) => ph.name === "wait-etcd")?.steps[0]?.node).toBe("m2");
  });
});

describe("changedNodeBy", () => {
  it("is false for a stop that ended in preflight, lock or backup, true from the cordon on", () => {
    const p = planNodeStop(master, stopOpts);
    const byPhase = Object.fromEntries(p.phases.map((ph) => [ph.name, ph.steps.map((s) => changedNodeBy(p, s.id))]));
    expect(byPhase).toEqual({
      preflight: [false, false, false, false, false, false],
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
    const p = planNodeStart(worker, startOpts);
    const first = p.phases.find((ph) => ph.steps.some((s) => s.action.kind === "start-units"))?.steps[0];
    expect(changedNodeBy(p, p.phases[0]?.steps[0]?.id ?? "")).toBe(false);
    expect(changedNodeBy(p, first?.id ?? "")).toBe(true);
  });

  it("refuses a step that is not in the plan", () => {
    expect(() => changedNodeBy(planNodeStop(worker, stopOpts), "nope/nope")).toThrow(/not in the plan/);
  });
});

describe("renderPlan", () => {
  it("lists phases in order with node, action, timeout and check", () => {
    const text = renderPlan(planNodeStop(dockerWorker, stopOpts));
    expect(text).toContain("Plan: node stop w2 (plan v1)");
    expect(text).toMatch(/1\. Preflight checks[\s\S]*2\. Take the cluster operation lock[\s\S]*3\. Cordon/);
    expect(text).toContain(
      "[w2] stop cri-docker.socket, cri-docker.service, docker.socket, docker.service, containerd.service  (timeout 90s)",
    );
    expect(text).toContain("check: the Node turns NotReady in the API");
    expect(text).toContain("drain (PDB retries up to 5m)");
  });
});
