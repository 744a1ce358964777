import type { V1Lease } from "@kubernetes/client-node";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KubecycleError } from "../../shared/index.js";
import type { ClusterApi } from "./cluster.js";
import { ClusterLock, type LockHolder } from "./lock.js";

/** The Lease part of the API, with the apiserver's optimistic concurrency; `down` makes every call fail as a dead API. */
function leaseApi() {
  let lease: V1Lease | undefined;
  let rv = 0;
  const state = { down: false, calls: 0 };
  const check = () => {
    state.calls++;
    if (state.down) throw new KubecycleError("KUBE_API_UNREACHABLE", "the API server did not answer");
  };
  const store = (l: V1Lease) => {
    lease = { ...l, metadata: { ...l.metadata, resourceVersion: String(++rv) } };
    return lease;
  };
  const api: Partial<ClusterApi> = {
    getLease: () => Promise.resolve().then(() => (check(), lease)),
    createLease: (l) =>
      Promise.resolve().then(() => {
        check();
        if (lease) throw new KubecycleError("CONFLICT", "exists");
        return store(l);
      }),
    replaceLease: (l) =>
      Promise.resolve().then(() => {
        check();
        if (l.metadata?.resourceVersion !== lease?.metadata?.resourceVersion)
          throw new KubecycleError("CONFLICT", "stale");
        return store(l);
      }),
    deleteLease: () =>
      Promise.resolve().then(() => {
        check();
        lease = undefined;
      }),
  };
  return { api: api as ClusterApi, state, lease: () => lease };
}

const owner = (op: string, procedure: string, target: string) => ({ op, procedure, target });
const family = (p: string) => (h: LockHolder) => h.procedure.startsWith(p);

describe("ClusterLock", () => {
  it("lets a cluster stop run on the local lock once the Lease is parked, and its start adopt both with the API down", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kc-lock-"));
    const { api, state, lease } = leaseApi();
    const stop = new ClusterLock(api, owner("op-stop", "cluster stop", "prod"), { stateDir: dir });
    expect(await stop.acquire({ breakLock: false })).toEqual({});
    await stop.parkLease();
    expect(lease()?.metadata?.annotations?.["kubecycle.io/state"]).toBe("parked");
    // The control plane stops: from here the API is gone, and the stop still parks for its start.
    state.down = true;
    const callsBefore = state.calls;
    await stop.park();
    expect(state.calls).toBe(callsBefore);
    expect(JSON.parse(await readFile(join(dir, "lock"), "utf8"))).toMatchObject({ op: "op-stop", state: "parked" });

    // Another procedure on this host is refused by the parked local lock, the API being down or not.
    const other = new ClusterLock(api, owner("op-x", "node stop", "w1"), { stateDir: dir });
    await expect(other.acquire({ breakLock: false, api: false })).rejects.toMatchObject({ code: "LOCK_HELD" });

    const start = new ClusterLock(api, owner("op-start", "cluster start", "prod"), { stateDir: dir });
    expect(await start.acquire({ breakLock: false, adopt: family("cluster"), api: false })).toMatchObject({
      tookOver: expect.stringContaining("op-stop"),
    });
    expect(start.adopted).toBe(true);
    // The API is back: the start takes over the parked Lease, then releases everything.
    state.down = false;
    expect(await start.attachLease({ breakLock: false, adopt: family("cluster") })).toMatchObject({
      tookOver: expect.stringContaining("op-stop"),
    });
    expect(lease()?.spec?.holderIdentity).toBe("op-start");
    await start.release();
    expect(lease()).toBeUndefined();
    await expect(readFile(join(dir, "lock"), "utf8")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("hands a crashed run's lock to the same operation resumed, and to nobody else without --break-lock", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kc-lock-"));
    const { api, lease } = leaseApi();
    // A run whose process is gone: its local lock names a pid that is not a kubecycle process, its Lease is fresh.
    await writeFile(
      join(dir, "lock"),
      JSON.stringify({
        op: "op-1",
        procedure: "cluster stop",
        target: "prod",
        user: "u",
        host: hostname(),
        pid: 2 ** 22 + 7,
        state: "running",
      }),
    );
    const other = new ClusterLock(api, owner("op-2", "cluster stop", "prod"), { stateDir: dir });
    await expect(other.acquire({ breakLock: false })).rejects.toMatchObject({ code: "LOCK_HELD" });
    const resumed = new ClusterLock(api, owner("op-1", "cluster stop", "prod"), { stateDir: dir });
    expect(await resumed.acquire({ breakLock: false, adopt: (h) => h.op === "op-1" })).toMatchObject({
      tookOver: expect.stringContaining("its own earlier run"),
    });
    expect(lease()?.spec?.holderIdentity).toBe("op-1");
    await resumed.release();
  });

  it("refuses a parked Lease or local lock it may not adopt, and breaks them only with --break-lock", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kc-lock-"));
    const { api, lease } = leaseApi();
    const stop = new ClusterLock(api, owner("op-1", "node stop", "w1"), { stateDir: dir });
    await stop.acquire({ breakLock: false });
    await stop.park();
    const other = new ClusterLock(api, owner("op-2", "node stop", "w2"), { stateDir: dir });
    await expect(other.acquire({ breakLock: false, adopt: (h) => h.target === "w2" })).rejects.toMatchObject({
      code: "LOCK_HELD",
      message: expect.stringContaining("parked by operation op-1"),
    });
    expect(await other.acquire({ breakLock: true })).toMatchObject({ broke: expect.stringContaining("op-1") });
    expect(lease()?.spec?.holderIdentity).toBe("op-2");
    await other.release();
  });

  it("fences: a step that would change a node learns at once that someone else took the Lease", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kc-lock-"));
    const { api, lease } = leaseApi();
    const lost: string[] = [];
    const lock = new ClusterLock(api, owner("op-1", "node stop", "w1"), {
      stateDir: dir,
      onLost: (err) => lost.push(err.message),
    });
    await lock.acquire({ breakLock: false });
    await expect(lock.fence()).resolves.toBeUndefined();
    // Someone breaks the lock while op-1 runs (their --break-lock), between two of its steps.
    const theirs = lease();
    await api.replaceLease({ ...theirs, spec: { ...theirs?.spec, holderIdentity: "op-2" } });
    await new Promise((r) => setTimeout(r, 1100)); // past the shared check's freshness
    await expect(lock.fence()).rejects.toMatchObject({ code: "LOCK_HELD", message: expect.stringContaining("op-2") });
    expect(lost).toHaveLength(1);
  });

  it("never renews after a release: the renewals and the release are one queue", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kc-lock-"));
    const { api, lease, state } = leaseApi();
    const lost: string[] = [];
    for (let i = 0; i < 5; i++) {
      const lock = new ClusterLock(api, owner(`op-${i}`, "node stop", "w1"), {
        stateDir: dir,
        renewMs: 1,
        onLost: (err) => lost.push(err.message),
      });
      await lock.acquire({ breakLock: false });
      await new Promise((r) => setTimeout(r, 20)); // renewals in flight
      await lock.release();
      const calls = state.calls;
      await new Promise((r) => setTimeout(r, 20));
      expect(lease()).toBeUndefined();
      expect(state.calls).toBe(calls);
    }
    expect(lost).toEqual([]);
  });
});
