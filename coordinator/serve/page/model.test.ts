import { describe, expect, it } from "vitest";
import type { BootReport__Output, NodeStatus__Output } from "../../../shared/index.js";
import type { Inventory } from "../../inventory.js";
import { kubekeyMaster, worker } from "../../plan/nodes.fixtures.js";
import type { OperationSummary } from "../../run/journal.js";
import type { Kept } from "../store.js";
import { nextProbeState, pageState, type PageInputs, type ProbeState } from "./model.js";

const unit = (name: string, activeState: string) =>
  ({
    name,
    exists: true,
    activeState,
    subState: activeState === "active" ? "running" : "dead",
    unitFileState: "enabled",
  }) as never;

function status(
  node: string,
  bootId: string,
  at: number,
  units: Array<[string, string]>,
  etcd?: object,
): NodeStatus__Output {
  return {
    nodeName: node,
    collectedUnixMs: at,
    facts: { bootId, bootedUnixMs: at - 60_000 } as never,
    units: units.map(([n, s]) => unit(n, s)),
    etcd: (etcd ?? null) as never,
  };
}

function kept(node: string, bootId: string, at: number, units: Array<[string, string]>): Kept {
  const report = {
    nodeName: node,
    bootId,
    bootedUnixMs: at - 5000,
    agentVersion: "0.1.0",
    collectedUnixMs: at,
    reason: "REPORT_REASON_START",
    units: units.map(([n, s]) => unit(n, s)),
    facts: { bootId, bootedUnixMs: at - 5000 },
  } as unknown as BootReport__Output;
  return { report, receivedUnixMs: at + 10, peer: "ipv4:10.0.0.9:51000" };
}

const m1 = kubekeyMaster("m1", 1);
const w1 = worker("w1", 1);
const inventory: Inventory = {
  cluster: "c",
  collectedAt: "2026-01-01T00:00:00Z",
  source: "api",
  nodes: [m1, w1],
  etcd: {
    clusterId: "1",
    source: "node m1",
    members: [{ id: "11", name: "m1", peerUrls: [], clientUrls: [], learner: false, node: "m1" }] as never,
  },
};

function inputs(
  probes: Map<string, ProbeState>,
  reports: Kept[] = [],
  operations: OperationSummary[] = [],
): PageInputs {
  return { cluster: "c", nowUnixMs: 1000_000, inventory, reports, probes, operations, startOnBoot: undefined };
}

describe("the status page's model", () => {
  it("keeps when an agent stopped answering, and shows its last units as last known", () => {
    let p = nextProbeState(undefined, {
      ok: true,
      atUnixMs: 100,
      status: status("w1", "b1", 100, [["kubelet.service", "active"]]),
    });
    p = nextProbeState(p, { ok: false, atUnixMs: 200, code: "NODE_UNREACHABLE", error: "connect ECONNREFUSED" });
    p = nextProbeState(p, { ok: false, atUnixMs: 300, code: "NODE_UNREACHABLE", error: "connect ECONNREFUSED" });
    expect(p.sinceUnixMs).toBe(200);
    const w = pageState(inputs(new Map([["w1", p]]))).nodes.find((n) => n.name === "w1");
    expect(w?.agent).toMatchObject({ state: "unreachable", sinceUnixMs: 200, lastAnswerUnixMs: 100 });
    expect(w?.units).toEqual([{ name: "kubelet", state: "active", sub: "running", enabled: "enabled" }]);
    expect(w?.unitsStale).toBe(true);
    expect(w?.roles).toEqual(["worker"]);
  });

  it("takes the boot from the freshest word: a report from a new boot beats the last probe of the old one", () => {
    const p = nextProbeState(undefined, { ok: false, atUnixMs: 500, code: "DEADLINE_EXCEEDED", error: "deadline" });
    const old: ProbeState = { ...p, lastOk: { atUnixMs: 100, status: status("w1", "old-boot", 100, []) } };
    const r = kept("w1", "new-boot", 900, [["kubelet.service", "inactive"]]);
    const w = pageState(inputs(new Map([["w1", old]]), [r])).nodes.find((n) => n.name === "w1");
    expect(w?.boot).toMatchObject({ id: "new-boot", source: "report" });
    expect(w?.report).toMatchObject({ bootId: "new-boot", reason: "start", receivedUnixMs: 910 });
    expect(w?.units[0]?.state).toBe("inactive");
    // A node that only reported (not in the inventory) is listed too.
    const extra = pageState(inputs(new Map(), [kept("w9", "b9", 50, [])])).nodes.map((n) => n.name);
    expect(extra).toEqual(["m1", "w1", "w9"]);
  });

  it("tells etcd's state from the members' own answers", () => {
    const etcd = (healthy: boolean) => ({
      isMember: true,
      healthy,
      memberId: "11",
      leaderId: healthy ? "11" : "",
      raftIndex: 42,
      raftTerm: 3,
      healthError: healthy ? "" : "context deadline exceeded",
      members: [{ id: "11", name: "m1", peerUrls: ["https://10.0.0.1:2380"], isLearner: false }],
    });
    const probe = (h: boolean) =>
      new Map([
        ["m1", nextProbeState(undefined, { ok: true, atUnixMs: 1, status: status("m1", "b", 1, [], etcd(h)) })],
      ]);
    const ok = pageState(inputs(probe(true)));
    expect(ok.etcd).toMatchObject({ state: "healthy", leader: "m1" });
    expect(ok.etcd.members[0]).toMatchObject({ node: "m1", healthy: true, leader: true, raftIndex: 42 });
    expect(ok.nodes.find((n) => n.name === "m1")?.etcd).toMatchObject({ healthy: true, leader: true });
    const bad = pageState(inputs(probe(false)));
    expect(bad.etcd.state).toBe("no quorum");
    expect(bad.etcd.members[0]?.error).toBe("context deadline exceeded");
  });

  it("shows the running operation's phases, the last ones, and the last start's settle report", () => {
    const plan = {
      version: 1,
      procedure: "cluster start",
      target: "c",
      phases: [
        {
          name: "a",
          title: "A",
          steps: [
            { id: "a/1", action: { kind: "start-units" } },
            { id: "a/2", action: { kind: "start-units" } },
          ],
        },
        { name: "b", title: "B", steps: [{ id: "b/1", action: { kind: "settle-report" } }] },
      ],
    };
    const op = (o: Partial<OperationSummary>): OperationSummary =>
      ({
        op: "x",
        procedure: "cluster start",
        target: "c",
        user: "ann",
        host: "adm",
        startedAt: "t0",
        result: "running",
        runs: 1,
        plan,
        steps: [],
        ...o,
      }) as OperationSummary;
    const running = op({
      op: "20260101T000002-cluster-start-c-bbbb",
      steps: [
        { step: "a/1", phase: "a", status: "succeeded" },
        { step: "a/2", phase: "a", status: "running", progress: "waiting for etcd" },
        { step: "b/1", phase: "b", status: "pending" },
      ],
    });
    const earlier = op({
      op: "20260101T000001-cluster-start-c-aaaa",
      result: "succeeded",
      finishedAt: "t9",
      steps: [
        { step: "a/1", phase: "a", status: "succeeded" },
        { step: "a/2", phase: "a", status: "succeeded" },
        {
          step: "b/1",
          phase: "b",
          status: "succeeded",
          finishedAt: "t9",
          evidence: {
            pods: 7,
            unsettled: [{ pod: "ns/p", node: "w1", phase: "Running", reason: "CrashLoopBackOff", restarts: 4 }],
          },
        },
      ],
    });
    const s = pageState(inputs(new Map(), [], [running, earlier]));
    expect(s.operation).toMatchObject({ op: running.op, by: "ann@adm", done: 1, total: 3 });
    expect(s.operation?.phases.map((p) => p.state)).toEqual(["running", "pending"]);
    expect(s.operation?.phases[0]?.steps[1]).toMatchObject({
      kind: "start-units",
      status: "running",
      progress: "waiting for etcd",
    });
    expect(s.recent.map((r) => r.result)).toEqual(["running", "succeeded"]);
    expect(s.settle).toMatchObject({ op: earlier.op, pods: 7, unsettled: [{ pod: "ns/p", restarts: 4 }] });
    // Without a running one, the page shows the last; a phase it ended in shows as stopped.
    const failed = op({
      ...running,
      result: "failed",
      steps: running.steps.map((x) =>
        x.step === "a/2"
          ? { ...x, status: "failed", error: { code: "NODE_UNREACHABLE", message: "w1 gone", fields: {} } }
          : x,
      ),
    });
    const f = pageState(inputs(new Map(), [], [failed]));
    expect(f.operation?.phases.map((p) => p.state)).toEqual(["failed", "pending"]);
    expect(f.operation?.phases[0]?.steps[1]?.error).toBe("NODE_UNREACHABLE: w1 gone");
  });
});
