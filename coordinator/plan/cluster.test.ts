import { describe, expect, it } from "vitest";
import { bootHoldUnits, planClusterStart, planClusterStop } from "./cluster.js";
import { TIMEOUTS, dockerWorker, kubeadmMaster, kubekeyMaster, worker } from "./nodes.fixtures.js";
import { renderPlan } from "./render.js";
import type { InventoryNode, Plan } from "./types.js";

const timeouts = { ...TIMEOUTS, powerOffMs: 60_000 };
const kubekey = [
  kubekeyMaster("m1", 1),
  kubekeyMaster("m2", 2),
  kubekeyMaster("m3", 3),
  worker("w1", 1),
  dockerWorker("w2", 2),
];
const kubeadm = [kubeadmMaster("a1", 1), kubeadmMaster("a2", 2), kubeadmMaster("a3", 3), worker("w1", 1)];
const stopOpts = {
  poweroff: false,
  bootHold: false,
  certWindowMs: 30 * 86_400_000,
  breakLock: false,
  backupKeep: 5,
  timeouts,
};
const startOpts = { breakLock: false, waitAgentsMs: 600_000, settleMs: 300_000, reenable: {}, timeouts };

const phases = (p: Plan) => p.phases.map((ph) => ph.name);
const phase = (p: Plan, name: string) => p.phases.find((ph) => ph.name === name)?.steps ?? [];
const on = (p: Plan, name: string) => phase(p, name).map((s) => s.node ?? "-");

describe("planClusterStop", () => {
  const p = planClusterStop("prod", kubekey, stopOpts);

  it("checks everything first, records, locks, backs up and cordons, then stops by phase", () => {
    expect(p).toMatchObject({ procedure: "cluster stop", target: "prod", version: 1 });
    expect(phases(p)).toEqual([
      "preflight",
      "record",
      "lock",
      "backup",
      "cordon",
      "stop-kubelet",
      "stop-workload",
      "park-lease",
      "stop-control-plane",
      "stop-etcd",
      "stop-runtime",
    ]);
    const pre = phase(p, "preflight").map((s) => `${s.action.kind}@${s.node ?? "-"}`);
    for (const n of kubekey) {
      for (const k of ["check-agent", "check-certificates", "check-addresses"]) expect(pre).toContain(`${k}@${n.name}`);
    }
    expect(pre).toContain("check-api@-");
    expect(phase(p, "preflight").find((s) => s.action.kind === "check-etcd-healthy")?.action).toEqual({
      kind: "check-etcd-healthy",
      excluding: [],
      wait: false,
    });
  });

  it("runs each phase on every node it names, and etcd on the members only, all together", () => {
    expect(on(p, "stop-kubelet")).toEqual(["m1", "m2", "m3", "w1", "w2"]);
    expect(on(p, "stop-workload")).toEqual(["m1", "m2", "m3", "w1", "w2"]);
    expect(on(p, "stop-control-plane")).toEqual(["m1", "m2", "m3"]);
    expect(on(p, "stop-etcd")).toEqual(["m1", "m2", "m3"]);
    expect(phase(p, "stop-etcd")[0]?.action).toEqual({
      kind: "stop-units",
      units: ["etcd.service"],
      ignoreMissing: [],
    });
    expect(phase(p, "stop-runtime").find((s) => s.node === "w2")?.action).toEqual({
      kind: "stop-units",
      units: ["cri-docker.socket", "cri-docker.service", "docker.socket", "docker.service", "containerd.service"],
      ignoreMissing: [],
    });
  });

  it("stops the etcd leader after its followers when it is known, so it has no stopping peer to hand over to", () => {
    const l = planClusterStop("prod", kubekey, { ...stopOpts, etcdLeader: "m2" });
    const names = phases(l);
    expect(names.slice(names.indexOf("stop-control-plane"))).toEqual([
      "stop-control-plane",
      "stop-etcd",
      "stop-etcd-leader",
      "stop-runtime",
    ]);
    expect(on(l, "stop-etcd")).toEqual(["m1", "m3"]);
    expect(on(l, "stop-etcd-leader")).toEqual(["m2"]);
    expect(phase(l, "stop-etcd-leader")[0]?.action).toEqual(phase(l, "stop-etcd")[0]?.action);
    // A leader that is no member here (a stale name), or a single member: all at once, as without one.
    expect(phases(planClusterStop("prod", kubekey, { ...stopOpts, etcdLeader: "w1" }))).toEqual(phases(p));
    const one = kubekey.filter((n) => n.name !== "m2" && n.name !== "m3");
    expect(phases(planClusterStop("prod", one, { ...stopOpts, etcdLeader: "m1" }))).not.toContain("stop-etcd-leader");
  });

  it("stops static-pod etcd members by their sandbox", () => {
    const k = planClusterStop("prod", kubeadm, stopOpts);
    expect(phase(k, "stop-etcd").map((s) => s.action)).toEqual(
      kubeadm.slice(0, 3).map(() => ({ kind: "stop-pod-sandboxes", scope: "etcd" })),
    );
    expect(phase(k, "stop-control-plane")[0]?.action).toEqual({ kind: "stop-pod-sandboxes", scope: "control-plane" });
  });

  it("parks the Lease after the last step that needs the API and before the control plane stops", () => {
    const names = phases(p);
    expect(names.indexOf("park-lease")).toBeGreaterThan(names.indexOf("cordon"));
    expect(names.indexOf("park-lease")).toBeLessThan(names.indexOf("stop-control-plane"));
  });

  it("with --boot-hold disables kubelet, a systemd etcd and the runtime (sockets too) before stopping anything", () => {
    const h = planClusterStop("prod", kubekey, { ...stopOpts, bootHold: true, poweroff: true });
    expect(phases(h).indexOf("boot-hold")).toBe(phases(h).indexOf("cordon") + 1);
    expect(phase(h, "boot-hold").find((s) => s.node === "m1")?.action).toEqual({
      kind: "set-auto-start",
      units: ["kubelet.service", "etcd.service", "containerd.service"],
      enabled: false,
    });
    expect(bootHoldUnits(kubekey[4] as InventoryNode)).toEqual([
      "kubelet.service",
      "containerd.service",
      "docker.socket",
      "docker.service",
      "cri-docker.socket",
      "cri-docker.service",
    ]);
    expect(phases(h).at(-1)).toBe("power-off");
    expect(on(h, "power-off")).toEqual(["m1", "m2", "m3", "w1", "w2"]);
    expect(phase(h, "record")[0]?.action).toEqual({ kind: "record-inventory", bootHold: true, poweroff: true });
  });

  it("renders for --dry-run", () => {
    const text = renderPlan(planClusterStop("prod", kubekey, { ...stopOpts, bootHold: true }));
    expect(text).toContain("Plan: cluster stop prod (plan v1)");
    expect(text).toContain("check certificates outlive 30d");
    expect(text).toContain("[m1] disable start at boot: kubelet.service, etcd.service, containerd.service");
  });
});

describe("planClusterStart", () => {
  const p = planClusterStart("prod", kubekey, startOpts);

  it("waits for the agents, then starts by phase: runtime, etcd together, control plane, workers", () => {
    expect(phases(p)).toEqual([
      "agents",
      "lock",
      "start-runtime",
      "start-etcd",
      "wait-etcd",
      "etcd-healthy",
      "start-control-plane",
      "wait-control-plane",
      "attach-lease",
      "start-workers",
      "kubelet-csrs",
      "wait-ready",
      "uncordon",
      "settle",
      "unlock",
    ]);
    expect(phase(p, "lock")[0]?.action).toEqual({ kind: "acquire-lock", breakLock: false, api: false });
    expect(phase(p, "agents")[0]?.timeoutMs).toBe(600_000);
  });

  it("lists the kubelets' CSRs before the wait for Ready, and approves them (until every node is Ready) only when asked", () => {
    expect(phase(p, "kubelet-csrs").map((s) => [s.node, s.action])).toEqual([
      [undefined, { kind: "kubelet-csrs", approve: false }],
    ]);
    const a = planClusterStart("prod", kubekey, { ...startOpts, approveKubeletCsrs: true });
    const [approve] = phase(a, "kubelet-csrs");
    expect(approve?.action).toEqual({ kind: "kubelet-csrs", approve: true });
    expect(approve?.timeoutMs).toBe(startOpts.timeouts.nodeReadyMs);
    expect(phases(a).indexOf("kubelet-csrs")).toBe(phases(a).indexOf("wait-ready") - 1);
  });

  it("starts every systemd etcd member at once without waiting on its notify", () => {
    expect(on(p, "start-etcd")).toEqual(["m1", "m2", "m3"]);
    for (const s of phase(p, "start-etcd")) {
      expect(s.action).toEqual({ kind: "start-units", units: ["etcd.service"], ignoreMissing: [], noBlock: true });
    }
    expect(on(p, "start-control-plane")).toEqual(["m1", "m2", "m3"]);
    expect(on(p, "start-workers")).toEqual(["w1", "w2"]);
    expect(phase(p, "start-runtime").find((s) => s.node === "w2")?.action).toEqual({
      kind: "start-units",
      units: ["containerd.service", "docker.socket", "docker.service", "cri-docker.socket", "cri-docker.service"],
      ignoreMissing: [],
      noBlock: false,
    });
  });

  it("starts a static-pod member's kubelet in the etcd phase, and not again", () => {
    const k = planClusterStart("prod", kubeadm, startOpts);
    expect(phase(k, "start-etcd").map((s) => s.action)).toEqual(
      kubeadm
        .slice(0, 3)
        .map(() => ({ kind: "start-units", units: ["kubelet.service"], ignoreMissing: [], noBlock: false })),
    );
    expect(phases(k)).not.toContain("start-control-plane");
    expect(on(k, "wait-control-plane")).toEqual(["a1", "a2", "a3"]);
    expect(on(k, "start-workers")).toEqual(["w1"]);
  });

  it("enables again what --boot-hold disabled, node by node, and nothing else", () => {
    const r = planClusterStart("prod", kubekey, {
      ...startOpts,
      reenable: { w1: ["kubelet.service", "containerd.service"] },
    });
    expect(phase(r, "re-enable").map((s) => [s.node, s.action])).toEqual([
      ["w1", { kind: "set-auto-start", units: ["kubelet.service", "containerd.service"], enabled: true }],
    ]);
    expect(phases(p)).not.toContain("re-enable");
  });

  it("gives every step a unique id", () => {
    for (const plan of [p, planClusterStop("prod", kubekey, { ...stopOpts, bootHold: true, poweroff: true })]) {
      const ids = plan.phases.flatMap((ph) => ph.steps.map((s) => s.id));
      expect(new Set(ids).size).toBe(ids.length);
    }
  });
});
