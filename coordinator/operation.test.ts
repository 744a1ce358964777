import { describe, expect, it } from "vitest";
import { KubecycleError } from "../shared/index.js";
import type { LockHolder } from "./kube/index.js";
import { leaseAfter, procedureLock } from "./operation.js";
import { planClusterStart, planClusterStop, planNodeStart, planNodeStop, type Plan } from "./plan/index.js";
import { TIMEOUTS, kubekeyMaster, worker } from "./plan/nodes.fixtures.js";
import type { ExecutionResult } from "./run/executor.js";

const m1 = kubekeyMaster("m1");
const stop = planNodeStop(m1, {
  skipBackup: false,
  force: false,
  deleteEmptyDirData: false,
  breakLock: false,
  backupKeep: 5,
  apiElsewhere: true,
  timeouts: TIMEOUTS,
});
const start = planNodeStart(m1, { breakLock: false, timeouts: TIMEOUTS });

const failedIn = (plan: Plan, phase: string): ExecutionResult => {
  const step = plan.phases.find((p) => p.name === phase)?.steps[0];
  if (!step) throw new Error(`no phase ${phase}`);
  return { result: "failed", failed: { step, error: new KubecycleError("DEADLINE_EXCEEDED", "x") }, reached: step };
};
const holder = (procedure: string, target: string, state: LockHolder["state"] = "parked"): LockHolder => ({
  op: "op",
  procedure,
  target,
  user: "u",
  host: "h",
  pid: 1,
  state,
  renewedAt: undefined,
});

describe("procedureLock", () => {
  it("parks a stop's lock once the node was touched, or when it took over a parked one; otherwise releases it", () => {
    const { lockAfter } = procedureLock(stop);
    const fresh = { adopted: false };
    expect(lockAfter({ result: "succeeded" }, fresh)).toBe("park");
    expect(lockAfter(failedIn(stop, "preflight"), fresh)).toBe("release");
    expect(lockAfter(failedIn(stop, "backup"), fresh)).toBe("release");
    expect(lockAfter(failedIn(stop, "backup"), { adopted: true })).toBe("park");
    expect(lockAfter(failedIn(stop, "drain"), fresh)).toBe("park");
    expect(lockAfter(failedIn(stop, "verify"), fresh)).toBe("park");
  });

  it("treats an interruption (Ctrl-C, SIGTERM, a dropped terminal) like a failure at the step it reached", () => {
    const { lockAfter } = procedureLock(stop);
    const at = (phase: string): ExecutionResult => ({
      result: "interrupted",
      reached: stop.phases.find((p) => p.name === phase)?.steps[0],
    });
    expect(lockAfter(at("preflight"), { adopted: false })).toBe("release");
    // Between steps, after the drain: nothing failed, but the node was touched.
    expect(lockAfter(at("drain"), { adopted: false })).toBe("park");
    expect(lockAfter({ result: "interrupted" }, { adopted: false })).toBe("release");
  });

  it("releases a start's lock when it succeeds and keeps it parked for a retry when it fails", () => {
    const { lockAfter } = procedureLock(start);
    expect(lockAfter({ result: "succeeded" }, { adopted: true })).toBe("release");
    expect(lockAfter(failedIn(start, "preflight"), { adopted: false })).toBe("park");
  });

  it("takes over only what this node's own stop or start parked", () => {
    for (const plan of [stop, start]) {
      const { adoptLock } = procedureLock(plan);
      expect(adoptLock(holder("node stop", "m1"))).toBe(true);
      expect(adoptLock(holder("node start", "m1"))).toBe(true);
      expect(adoptLock(holder("node stop", "m2"))).toBe(false);
      expect(adoptLock(holder("cluster stop", "m1"))).toBe(false);
    }
  });

  it("lets a cluster start take over its cluster's stop, and only that", () => {
    const clusterStart = { ...start, procedure: "cluster start", target: "prod" };
    const { adoptLock, lockAfter } = procedureLock(clusterStart);
    expect(adoptLock(holder("cluster stop", "prod"))).toBe(true);
    expect(adoptLock(holder("cluster start", "prod"))).toBe(true);
    expect(adoptLock(holder("cluster stop", "staging"))).toBe(false);
    expect(adoptLock(holder("node stop", "prod"))).toBe(false);
    expect(lockAfter({ result: "interrupted" }, { adopted: true })).toBe("park");
  });
});

describe("leaseAfter", () => {
  const nodes = [m1, worker("w1")];
  const timeouts = { ...TIMEOUTS, powerOffMs: 1000 };
  const cstop = planClusterStop("prod", nodes, {
    poweroff: false,
    bootHold: false,
    certWindowMs: 1,
    breakLock: false,
    backupKeep: 1,
    timeouts,
  });
  const cstart = planClusterStart("prod", nodes, {
    breakLock: false,
    waitAgentsMs: 1,
    settleMs: 1,
    reenable: {},
    timeouts,
  });
  const upTo = (plan: Plan, phase: string) => {
    const ids: string[] = [];
    for (const p of plan.phases) {
      ids.push(...p.steps.map((s) => s.id));
      if (p.name === phase) break;
    }
    return new Set(ids);
  };

  it("says whether a resumed operation's lock has the Lease, from the steps it completed", () => {
    expect(leaseAfter(cstop, upTo(cstop, "preflight"))).toBeUndefined();
    expect(leaseAfter(cstop, upTo(cstop, "cordon"))).toBe(true);
    // After the Lease was parked the API is (about to be) gone: the resumed stop runs on the local lock.
    expect(leaseAfter(cstop, upTo(cstop, "stop-etcd"))).toBe(false);
    expect(leaseAfter(cstart, upTo(cstart, "wait-etcd"))).toBe(false);
    expect(leaseAfter(cstart, upTo(cstart, "start-workers"))).toBe(true);
    expect(leaseAfter(stop, upTo(stop, "drain"))).toBe(true);
  });
});
