import { describe, expect, it } from "vitest";
import { etcdRepairRefusal, planEtcdRejoin, planEtcdRestore } from "./etcd.js";
import { TIMEOUTS, kubeadmMaster, kubekeyMaster, worker } from "./nodes.fixtures.js";
import { changesNodes, type EtcdMemberRecord, type InventoryNode, type Plan } from "./types.js";

const kubekey = [kubekeyMaster("m1", 1), kubekeyMaster("m2", 2), kubekeyMaster("m3", 3), worker("w1", 1)];
const kubeadm = [kubeadmMaster("a1", 1), kubeadmMaster("a2", 2), kubeadmMaster("a3", 3), worker("w1", 1)];
const membersOf = (nodes: InventoryNode[]): EtcdMemberRecord[] =>
  nodes
    .filter((n) => n.etcd.memberId)
    .map((n) => ({
      id: n.etcd.memberId ?? "",
      name: n.etcd.memberName ?? n.name,
      peerUrls: [`https://${n.address}:2380`],
      clientUrls: [`https://${n.address}:2379`],
      learner: false,
      node: n.name,
    }));
const restoreOpts = {
  snapshot: { path: "/var/backups/kubecycle/prod-etcd-20261130T200000Z.db", sha256: "ab".repeat(32) },
  clusterToken: "kubecycle-restore-2026-11-30-0a1b2c3d",
  force: false,
  breakLock: false,
  timeouts: TIMEOUTS,
};

const phases = (p: Plan) => p.phases.map((ph) => ph.name);
const phase = (p: Plan, name: string) => p.phases.find((ph) => ph.name === name)?.steps ?? [];
const on = (p: Plan, name: string) => phase(p, name).map((s) => `${s.action.kind}@${s.node ?? "-"}`);

describe("planEtcdRestore", () => {
  const p = planEtcdRestore("prod", kubekey, membersOf(kubekey), restoreOpts);

  it("checks the snapshot everywhere before it stops anything, and stops no API server before the lock", () => {
    expect(p).toMatchObject({ procedure: "etcd restore", target: "prod" });
    expect(phases(p)).toEqual([
      "preflight",
      "lock",
      "stage",
      "stop-kubelet",
      "stop-control-plane",
      "stop-etcd",
      "restore",
      "start-etcd",
      "etcd-restored",
      "start-control-plane",
      "wait-control-plane",
      "release",
    ]);
    expect(on(p, "preflight")).toEqual([
      "check-agent@m1",
      "check-agent@m2",
      "check-agent@m3",
      "check-snapshot@-",
      "check-etcd-restorable@-",
    ]);
    expect(on(p, "stage")).toEqual(["stage-snapshot@m1", "stage-snapshot@m2", "stage-snapshot@m3"]);
    // Nothing before the stage phase changes a node; the lock is taken without the API (it is down with etcd).
    const order = p.phases.flatMap((ph) => ph.steps);
    const firstChange = order.findIndex((s) => changesNodes(s.action));
    expect(order.slice(0, firstChange).map((s) => s.action.kind)).toContain("stage-snapshot");
    expect(phase(p, "lock")[0]?.action).toEqual({ kind: "acquire-lock", breakLock: false, api: false });
  });

  it("stops kubelet and the API servers on the control plane, never a worker's", () => {
    expect(on(p, "stop-kubelet")).toEqual(["stop-units@m1", "stop-units@m2", "stop-units@m3"]);
    expect(on(p, "stop-control-plane")).toEqual([
      "stop-pod-sandboxes@m1",
      "stop-pod-sandboxes@m2",
      "stop-pod-sandboxes@m3",
    ]);
    expect(p.phases.flatMap((ph) => ph.steps).some((s) => s.node === "w1")).toBe(false);
  });

  it("restores every member with the snapshot and token of the plan, starts them together, and checks the revision exactly", () => {
    expect(phase(p, "restore").map((s) => s.action)).toEqual(
      ["m1", "m2", "m3"].map(() => ({
        kind: "etcd-restore",
        sha256: "ab".repeat(32),
        clusterToken: restoreOpts.clusterToken,
      })),
    );
    expect(phase(p, "start-etcd").map((s) => s.action)).toEqual(
      ["m1", "m2", "m3"].map(() => ({
        kind: "start-units",
        units: ["etcd.service"],
        ignoreMissing: [],
        noBlock: true,
      })),
    );
    expect(phase(p, "etcd-restored")[0]?.action).toEqual({
      kind: "check-etcd-members",
      revisionFrom: "stage/stage-snapshot/m1",
      exactRevision: true,
    });
    // The step the check reads the revision from is in the plan.
    expect(phase(p, "stage").map((s) => s.id)).toContain("stage/stage-snapshot/m1");
    expect(on(p, "start-control-plane")).toEqual(["start-units@m1", "start-units@m2", "start-units@m3"]);
  });

  it("with static-pod members: stops etcd's pod after kubelet, starts it with kubelet, and checks the revision at least", () => {
    const a = planEtcdRestore("prod", kubeadm, membersOf(kubeadm), restoreOpts);
    expect(phase(a, "stop-etcd").map((s) => s.action)).toEqual(
      ["a1", "a2", "a3"].map(() => ({ kind: "stop-pod-sandboxes", scope: "etcd" })),
    );
    expect(phase(a, "start-etcd").map((s) => s.action)).toEqual(
      ["a1", "a2", "a3"].map(() => ({
        kind: "start-units",
        units: ["kubelet.service"],
        ignoreMissing: [],
        noBlock: false,
      })),
    );
    expect(phase(a, "etcd-restored")[0]?.action).toMatchObject({ exactRevision: false });
    // Their kubelet already runs again: nothing left to start.
    expect(phases(a)).not.toContain("start-control-plane");
  });
});

describe("planEtcdRejoin", () => {
  const m3 = kubekey[2] as InventoryNode;
  const p = planEtcdRejoin("prod", kubekey, m3, { breakLock: false, timeouts: TIMEOUTS });

  it("checks the others keep quorum, replaces the member through another, and joins it back", () => {
    expect(p.procedure).toBe("etcd rejoin");
    expect(phases(p)).toEqual([
      "preflight",
      "lock",
      "stop",
      "replace",
      "prepare",
      "start",
      "wait",
      "finish",
      "healthy",
      "release",
    ]);
    expect(phase(p, "preflight").find((s) => s.action.kind === "check-etcd-healthy")?.action).toEqual({
      kind: "check-etcd-healthy",
      excluding: ["m3"],
      wait: false,
    });
    expect(on(p, "stop")).toEqual(["stop-units@m3"]);
    expect(phase(p, "replace")[0]).toMatchObject({
      id: "replace/etcd-replace-member/m1",
      node: "m1",
      action: { kind: "etcd-replace-member", member: "m3" },
    });
    for (const ph of ["prepare", "finish"]) {
      expect(phase(p, ph)[0]).toMatchObject({ node: "m3", action: { replacedBy: "replace/etcd-replace-member/m1" } });
    }
    expect(phase(p, "start")[0]?.action).toMatchObject({ kind: "start-units", units: ["etcd.service"], noBlock: true });
  });

  it("stops a static-pod member's kubelet first and starts it again to run the member", () => {
    const a3 = kubeadm[2] as InventoryNode;
    const a = planEtcdRejoin("prod", kubeadm, a3, { breakLock: false, timeouts: TIMEOUTS });
    expect(phase(a, "stop").map((s) => s.action.kind)).toEqual(["stop-units", "stop-pod-sandboxes"]);
    expect(phase(a, "start")[0]?.action).toMatchObject({ kind: "start-units", units: ["kubelet.service"] });
  });
});

describe("etcdRepairRefusal", () => {
  it("refuses members kubecycle cannot reach or restore as they are, and an unknown layout", () => {
    expect(etcdRepairRefusal(kubekey, membersOf(kubekey))).toEqual([]);
    const members = membersOf(kubekey);
    const external = { ...members[0], node: undefined } as EtcdMemberRecord;
    const learner = { ...members[1], learner: true } as EtcdMemberRecord;
    const unknown = { ...worker("w9", 9), etcd: { role: "unknown" as const, mode: "unknown" as const } };
    expect(etcdRepairRefusal([...kubekey, unknown], [external, learner])).toEqual([
      "member etcd-m1 (https://10.0.0.11:2380) runs on no node of the cluster",
      "member etcd-m2 is a learner: promote or remove it first",
      "whether w9 runs etcd is unknown",
    ]);
    expect(etcdRepairRefusal(kubekey, [])).toEqual(["the recorded inventory has no etcd member list"]);
  });
});
