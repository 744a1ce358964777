// The simulation itself: it must behave like the real thing where kubecycle's correctness depends on it, or the
// cluster tests built on it prove nothing. Each property is checked through the model's own state.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentConnection, type ClusterApi } from "../../coordinator/index.js";
import { isKubecycleError, readTlsFiles, type TlsMaterial } from "../../shared/index.js";
import { SimAgents } from "./agents.js";
import { SimClusterApi } from "./api.js";
import { SimCluster, type SimSandbox } from "./model.js";
import { createSimPki, type SimPki } from "./pki.js";
import { RemoteClusterApi, serveClusterApi } from "./remote-api.js";
import { simClusterSpec } from "./spec.js";

const spec = () => simClusterSpec({ masters: 3, workers: 2, net: 79 });
let work: string;
let pki: SimPki;
let operator: TlsMaterial;
let viewer: TlsMaterial;
let cluster: SimCluster;
let agents: SimAgents;
let api: SimClusterApi;
const conns: AgentConnection[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "kc-sim-"));
  pki = await createSimPki(
    join(work, "pki"),
    spec().nodes.map((n) => n.name),
  );
  [operator, viewer] = await Promise.all([readTlsFiles(pki.operator), readTlsFiles(pki.viewer)]);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A fresh simulated cluster for each group of checks. */
async function fresh(): Promise<void> {
  cluster = new SimCluster(spec());
  agents = await SimAgents.start(cluster, pki);
  api = new SimClusterApi(cluster);
}
function close(): void {
  for (const c of conns.splice(0)) c.close();
  agents.close();
  cluster.close();
}
function agent(node: string, tls = operator): AgentConnection {
  const c = new AgentConnection({ node, address: `${cluster.node(node).address}:${agents.port}`, tls });
  conns.push(c);
  return c;
}
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "none";
  } catch (err) {
    return isKubecycleError(err) ? err.code : String(err);
  }
}

describe("the simulated agents", () => {
  beforeAll(fresh);
  afterAll(close);

  it("stopping kubelet and the runtime leaves the pods' sandboxes running (KillMode=process)", async () => {
    const w = agent("sim-worker-1");
    const node = cluster.node("sim-worker-1");
    const res = await w.stopUnits({ operationId: "kill-mode-1", units: [{ name: "kubelet" }, { name: "containerd" }] });
    expect(res.ok).toBe(true);
    expect(node.unit("kubelet.service").active).toBe("inactive");
    expect(node.sandboxes.every((s) => s.ready)).toBe(true);
    // And with the runtime down, crictl cannot even reach them.
    expect(await codeOf(w.stopPodSandboxes({ operationId: "pods-1", scope: "POD_SCOPE_ALL" }))).toBe("SYSTEMD_FAILED");
    expect(node.sandboxes.every((s) => s.ready)).toBe(true);
  });

  it("a repeated operation id returns the recorded result and does not act twice; reused for another request, it is refused", async () => {
    const m = agent("sim-master-1");
    const kubelet = cluster.node("sim-master-1").unit("kubelet.service");
    const req = { operationId: "once-1", units: [{ name: "kubelet" }] };
    const first = await m.stopUnits(req);
    const changes = kubelet.history.length;
    const again = await m.stopUnits(req);
    expect([first.replayed, again.replayed]).toEqual([false, true]);
    expect(again.outcomes).toEqual(first.outcomes);
    expect(kubelet.history.length).toBe(changes);
    expect(await codeOf(m.startUnits(req))).toBe("OPERATION_ID_CONFLICT");
    expect(kubelet.active).toBe("inactive");
  });

  it("roles come from the certificate: a viewer reads, and is refused any change; units off the allow-list are refused", async () => {
    const v = agent("sim-master-2", viewer);
    expect((await v.health()).callerRole).toBe("ROLE_VIEWER");
    expect((await v.getStatus()).units.find((u) => u.name === "etcd.service")?.activeState).toBe("active");
    const calls = cluster.calls.length;
    expect(await codeOf(v.stopUnits({ operationId: "viewer-1", units: [{ name: "etcd" }] }))).toBe("PERMISSION_DENIED");
    expect(cluster.node("sim-master-2").unit("etcd.service").active).toBe("active");
    expect(cluster.calls.slice(calls).map((c) => c.refused)).toEqual(["PERMISSION_DENIED"]);
    const o = agent("sim-master-2");
    expect(await codeOf(o.stopUnits({ operationId: "sshd-1", units: [{ name: "sshd" }] }))).toBe("UNIT_NOT_ALLOWED");
    expect((await o.health()).callerRole).toBe("ROLE_OPERATOR");
  });
});

describe("the simulated etcd and API", () => {
  beforeAll(fresh);
  afterAll(close);

  it("without a majority of members there is no leader: health times out, the API fails and /readyz says why", async () => {
    await agent("sim-master-2").stopUnits({ operationId: "q-2", units: [{ name: "etcd" }] });
    expect(cluster.etcd.leader).toBeDefined();
    await agent("sim-master-3").stopUnits({ operationId: "q-3", units: [{ name: "etcd" }] });
    expect(cluster.etcd.leader).toBeUndefined();
    const t0 = Date.now();
    const st = await agent("sim-master-1").etcdStatus({ timeoutMs: 300 });
    expect(st).toMatchObject({
      isMember: true,
      healthy: false,
      healthError: "context deadline exceeded",
      leaderId: "0",
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(await codeOf(api.listNodes())).toBe("KUBE_API_FAILED");
    expect((await api.readyz()).body).toContain("[-]etcd failed");
    // One member back is a majority again: a leader, and every running member healthy.
    await agent("sim-master-2").startUnits({ operationId: "q-2-back", units: [{ name: "etcd" }], noBlock: true });
    const m1 = cluster.etcd.memberOn("sim-master-1");
    if (!m1) throw new Error("no member on sim-master-1");
    expect(await cluster.node("sim-master-1").until(() => cluster.etcd.healthy(m1), 3000)).toBe(true);
    expect((await api.readyz()).ok).toBe(true);
  });

  it("a Node stays Ready for the grace period after its kubelet stops, then is not; Ready again once kubelet runs", async () => {
    const node = cluster.node("sim-worker-1");
    const ready = async () =>
      (await api.getNode(node.name))?.status?.conditions?.find((c) => c.type === "Ready")?.status;
    await agent(node.name).stopUnits({ operationId: "nr-1", units: [{ name: "kubelet" }] });
    expect(await ready()).toBe("True");
    await node.until(() => api.readyStatus(node) !== "True", cluster.timing.notReadyGraceMs + 500);
    expect(await ready()).toBe("Unknown");
    await agent(node.name).startUnits({ operationId: "nr-2", units: [{ name: "kubelet" }] });
    await node.until(() => api.readyStatus(node) === "True", 2000);
    expect(await ready()).toBe("True");
  });

  it("leases conflict on a stale resourceVersion; evictions honour a PodDisruptionBudget and replace elsewhere", async () => {
    const lease = { metadata: { name: "l", namespace: "kube-system" }, spec: { holderIdentity: "a" } };
    const created = await api.createLease(lease);
    expect(await codeOf(api.createLease(lease))).toBe("CONFLICT");
    await api.replaceLease({ ...created, spec: { holderIdentity: "b" } });
    expect(await codeOf(api.replaceLease({ ...created, spec: { holderIdentity: "c" } }))).toBe("CONFLICT");
    expect(api.lease("kube-system", "l")?.spec?.holderIdentity).toBe("b");

    // Four web pods run (two per worker): a budget that needs all four allows no eviction.
    api.pdbs = [
      {
        metadata: { name: "web", namespace: "default" },
        spec: { minAvailable: 4, selector: { matchLabels: { app: "web" } } },
      },
    ];
    expect(await api.evictPod("default", "web-sim-worker-1-0")).toMatchObject({ kind: "blocked" });
    expect(cluster.node("sim-worker-1").sandboxes.some((s) => s.name === "web-sim-worker-1-0")).toBe(true);
    // Four web pods run (two per worker): a budget that needs all four allows no eviction.
    api.pdbs = [];
    expect(await api.evictPod("default", "web-sim-worker-1-0")).toEqual({ kind: "evicted" });
    expect(cluster.node("sim-worker-1").sandboxes.some((s) => s.name === "web-sim-worker-1-0")).toBe(false);
    const replacement = [...cluster.nodes.values()]
      .flatMap((n) => n.sandboxes)
      .find((s) => s.name.startsWith("web-sim-worker-1-0-r"));
    expect(replacement).toBeDefined();
    expect(await api.evictPod("default", "web-sim-worker-1-0")).toEqual({ kind: "gone" });
  });

  it("pods list with a resourceVersion and watch from it: ADDED, MODIFIED, DELETED in order, in scope; 410 once compacted", async () => {
    const node = "sim-worker-1";
    const list = await api.listPodList({ node });
    expect(list.pods.map((p) => p.spec?.nodeName)).toEqual(list.pods.map(() => node));
    const events: string[] = [];
    const stop = new AbortController();
    const watching = api.watchPods(
      { node },
      list.resourceVersion,
      (e) => events.push(`${e.type} ${e.pod.metadata?.name} ${String(e.pod.status?.phase)}`),
      stop.signal,
    );
    const labelled: string[] = [];
    const byLabel = api.watchPods(
      { namespace: "default", labels: { app: "web" } },
      list.resourceVersion,
      (e) => labelled.push(`${e.type} ${e.pod.metadata?.name}`),
      stop.signal,
    );
    // (web-sim-worker-1-0 went in the test before.)
    expect(await api.evictPod("default", "web-sim-worker-1-1")).toEqual({ kind: "evicted" });
    const n = cluster.node(node);
    n.sandboxes[0] = { ...(n.sandboxes[0] as SimSandbox), ready: false };
    cluster.changed(n);
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual(["DELETED web-sim-worker-1-1 Running", `MODIFIED ${n.sandboxes[0]?.name} Pending`]);
    // The label watch sees the deletion and the replacement on the other worker, not kube-proxy.
    expect(labelled[0]).toBe("DELETED web-sim-worker-1-1");
    expect(labelled[1]).toMatch(/^ADDED web-sim-worker-1-1-r\d+$/);
    stop.abort();
    await Promise.all([watching, byLabel]);
    expect(api.openWatches).toBe(0);
    // A version from before the window: 410, and a fresh list's version works again.
    api.expireWatches();
    expect(await codeOf(api.watchPods({ node }, list.resourceVersion, () => undefined, stop.signal))).toBe(
      "KUBE_API_FAILED",
    );
    const again = await api.listPodList({ node });
    expect(Number(again.resourceVersion)).toBeGreaterThan(Number(list.resourceVersion));
    await api.watchPods({ node }, again.resourceVersion, () => undefined, AbortSignal.timeout(10));
  });

  it("a client's requests do not move the world's timing: their latencies come from a random stream of their own", async () => {
    // Two worlds of the same seed; one answers 50 requests first (a drain that asks more than another).
    const busy = new SimCluster(spec());
    const quiet = new SimCluster(spec());
    try {
      const busyApi = new SimClusterApi(busy);
      for (let i = 0; i < 50; i++) await busyApi.listNodes();
      const podStarts = (c: SimCluster) => Array.from({ length: 5 }, () => c.delay(c.timing.podStart));
      expect(podStarts(busy)).toEqual(podStarts(quiet));
      // The latencies are random all the same.
      expect(new Set(Array.from({ length: 20 }, () => busy.requestDelay([0, 1000]))).size).toBeGreaterThan(1);
    } finally {
      busy.close();
      quiet.close();
    }
  });

  it("served to another process, the API keeps its answers and its errors' codes and fields", async () => {
    const path = join(work, "api.sock");
    const server = await serveClusterApi(api, path);
    const remote: ClusterApi = await RemoteClusterApi.connect(path);
    try {
      expect((await remote.listNodes()).map((n) => n.metadata?.name)).toEqual([...cluster.nodes.keys()]);
      const lease = { metadata: { name: "l", namespace: "kube-system" }, spec: {} };
      try {
        await remote.createLease(lease);
        throw new Error("created a lease that exists");
      } catch (err) {
        expect(isKubecycleError(err, "CONFLICT") && err.fields.httpStatus).toBe(409);
      }
      expect(await remote.getLease("kube-system", "nope")).toBeUndefined();
    } finally {
      (remote as RemoteClusterApi).close();
      server.close();
    }
  });
});
