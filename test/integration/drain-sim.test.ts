// The drain waits through watches (issue 12): run coordinator/kube's drainNode against the simulated API, and
// check what it did through the simulation's own state and its record of every API request.
import { afterEach, describe, expect, it } from "vitest";
import { drainNode, PodCache, type DrainOptions } from "../../coordinator/index.js";
import { isKubecycleError } from "../../shared/index.js";
import { SimClusterApi } from "../sim/api.js";
import { SimCluster } from "../sim/model.js";
import { simClusterSpec } from "../sim/spec.js";
import { spreadWorkload } from "../sim/workload.js";

let cluster: SimCluster | undefined;
afterEach(() => cluster?.close());

const NODE = "sim-worker-1";

function world(): { cluster: SimCluster; api: SimClusterApi } {
  cluster = new SimCluster(simClusterSpec({ masters: 1, workers: 4, net: 83 }));
  spreadWorkload(cluster, { perNode: 6, controllers: 8, namespaces: 3 });
  return { cluster, api: new SimClusterApi(cluster) };
}

function options(progress: (m: string) => void = () => undefined): DrainOptions {
  return {
    drainTimeoutMs: 5_000,
    replacementTimeoutMs: 10_000,
    force: false,
    deleteEmptyDirData: false,
    signal: AbortSignal.timeout(30_000),
    progress,
    retryMs: 100,
    pollMs: 50,
  };
}

/** Ready pods of each ReplicaSet on nodes other than NODE, from the simulation's state. */
function readyElsewhere(c: SimCluster): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of c.nodes.values()) {
    if (n.name === NODE) continue;
    for (const s of n.sandboxes) {
      if (s.owner.kind === "ReplicaSet" && s.ready) out.set(s.owner.name, (out.get(s.owner.name) ?? 0) + 1);
    }
  }
  return out;
}

const podRequests = (c: SimCluster) => c.calls.filter((r) => /^(list|watch) pods/.test(r.about ?? ""));

describe("drainNode on the simulated API", () => {
  it("waits by watches until the evicted pods are gone and replaced elsewhere, never listing the whole cluster", async () => {
    const { cluster: c, api } = world();
    const before = new Map<string, number>();
    for (const n of c.nodes.values())
      for (const s of n.sandboxes)
        if (s.owner.kind === "ReplicaSet" && s.ready) before.set(s.owner.name, (before.get(s.owner.name) ?? 0) + 1);

    const evidence = await drainNode(api, NODE, options());

    expect(evidence.evicted).toHaveLength(6);
    expect(c.node(NODE).sandboxes.map((s) => s.owner.kind)).toEqual(["DaemonSet"]);
    // Every controller has at least as many Ready pods elsewhere as it had Ready anywhere before.
    const after = readyElsewhere(c);
    for (const s of evidence.evicted) {
      const app = s.split("/")[1]?.replace(/-sim-worker-.*/, "") ?? "";
      expect(after.get(app) ?? 0, app).toBeGreaterThanOrEqual(before.get(app) ?? 0);
    }
    const pods = podRequests(c);
    // No list or watch of every pod in the cluster: the node's by field selector, the rest by namespace and labels.
    expect(pods.filter((r) => r.about === "list pods" || r.about === "watch pods")).toEqual([]);
    const lists = pods.filter((r) => r.about?.startsWith("list"));
    const watches = pods.filter((r) => r.about?.startsWith("watch"));
    const ownerScopes = new Set(evidence.evicted.map((s) => s.replace(/-sim-worker-.*/, ""))).size;
    expect(lists.map((r) => r.about)).toContain(`list pods on ${NODE}`);
    expect(lists).toHaveLength(1 + ownerScopes);
    expect(watches).toHaveLength(1 + ownerScopes);
    expect(watches.every((r) => r.answeredAt !== undefined)).toBe(true);
    expect(api.openWatches).toBe(0);
  });

  it("recovers from a watch that expires (410 Gone) by listing once again, and still completes", async () => {
    const { cluster: c, api } = world();
    let expired = false;
    const said: string[] = [];
    const evidence = await drainNode(
      api,
      NODE,
      options((m) => {
        said.push(m);
        if (!expired && m.includes("waiting for replacements")) {
          expired = true;
          api.expireWatches();
        }
      }),
    );
    expect(expired).toBe(true);
    expect(evidence.evicted).toHaveLength(6);
    expect(said.some((m) => m.startsWith("watching pods again after:") && m.includes("410"))).toBe(true);
    // Each watch the expiry ended was followed by one list of its scope, and nothing else was listed.
    const scopes = 1 + new Set(evidence.evicted.map((x) => x.replace(/-sim-worker-.*/, ""))).size;
    const expiredWatches = c.calls.filter((r) => r.about?.startsWith("watch pods") && r.refused === "KUBE_API_FAILED");
    expect(expiredWatches.length).toBeGreaterThan(0);
    expect(expiredWatches.length).toBeLessThanOrEqual(scopes);
    expect(podRequests(c).filter((r) => r.about?.startsWith("list"))).toHaveLength(scopes + expiredWatches.length);
    expect(api.openWatches).toBe(0);
  });

  it("fails the drain once the watches kept failing past maxRelists, instead of listing without end", async () => {
    const { cluster: c, api } = world();
    // Nowhere for replacements to go: the drain waits, and each report expires the watches again.
    for (const n of c.nodes.keys()) if (n !== NODE) await api.patchNode(n, { unschedulable: true });
    const err = await drainNode(api, NODE, {
      ...options(() => api.expireWatches()),
      maxRelists: 2,
    }).catch((e: unknown) => e);
    expect(isKubecycleError(err, "KUBE_API_FAILED")).toBe(true);
    expect((err as Error).message).toMatch(/^watch pods .* failed 3 times in a row: .*HTTP 410/);
    expect(api.openWatches).toBe(0);
  });

  it("fails at once with PERMISSION_DENIED, evicting nothing, when RBAC refuses the watch (no relists)", async () => {
    const { cluster: c, api } = world();
    api.forbidden.add("watch pods");
    const t0 = Date.now();
    const err = await drainNode(api, NODE, options()).catch((e: unknown) => e);
    expect(isKubecycleError(err, "PERMISSION_DENIED")).toBe(true);
    expect((err as Error).message).toMatch(/^watch pods on sim-worker-1: HTTP 403/);
    // Not five relists a second apart before giving up.
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(podRequests(c).filter((r) => r.about === `list pods on ${NODE}`)).toHaveLength(1);
    expect(c.calls.filter((r) => r.about?.startsWith("evict"))).toEqual([]);
    expect(api.openWatches).toBe(0);
  });

  it("still fails with DRAIN_FAILED, naming what it waited for, when replacements cannot run elsewhere", async () => {
    const { cluster: c, api } = world();
    for (const n of c.nodes.keys()) if (n !== NODE) await api.patchNode(n, { unschedulable: true });
    const t0 = Date.now();
    const err = await drainNode(api, NODE, { ...options(), replacementTimeoutMs: 600 }).catch((e: unknown) => e);
    expect(isKubecycleError(err, "DRAIN_FAILED")).toBe(true);
    expect((err as Error).message).toMatch(/controller\(s\) waiting for replacements to run elsewhere after 1 s/);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(api.openWatches).toBe(0);
  });
});

describe("PodCache on the simulated API", () => {
  it("follows a quiet scope across many watch timeouts and compactions without listing again (bookmarks)", async () => {
    const { cluster: c, api } = world();
    const relists: unknown[] = [];
    let changes = 0;
    const stop = new AbortController();
    const cache = await PodCache.start(
      api,
      { node: NODE },
      {
        signal: stop.signal,
        onChange: () => changes++,
        relistBackoffMs: 10,
        onRelist: (err) => relists.push(err),
      },
    );
    try {
      const pods = cache.pods.length;
      // More timeouts than the relists a cache may make in a row: each one, the rest of the cluster changes (a node
      // patched elsewhere moves the resourceVersion on), etcd compacts, and the server ends the watch.
      for (let i = 0; i < 8; i++) {
        await api.patchNode("sim-worker-2", { unschedulable: i % 2 === 0 });
        api.compact();
        const watchesBefore = podRequests(c).filter((r) => r.about === `watch pods on ${NODE}`).length;
        api.endWatches();
        await waitUntil(() => podRequests(c).filter((r) => r.about === `watch pods on ${NODE}`).length > watchesBefore);
      }
      expect(relists).toEqual([]);
      expect(cache.failure).toBeUndefined();
      expect(podRequests(c).filter((r) => r.about === `list pods on ${NODE}`)).toHaveLength(1);
      // Still following: an evicted pod's deletion comes through the ninth watch.
      const victim = cache.pods.find((p) => p.metadata?.ownerReferences?.[0]?.kind === "ReplicaSet");
      expect(victim).toBeDefined();
      const before = changes;
      await api.evictPod(victim?.metadata?.namespace ?? "", victim?.metadata?.name ?? "");
      await waitUntil(() => cache.pods.length < pods);
      expect(changes).toBeGreaterThan(before);
    } finally {
      stop.abort();
      await cache.stop();
    }
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
