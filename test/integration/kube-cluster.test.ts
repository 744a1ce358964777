// The lab's Kubernetes stand-ins as kubecycle sees them, through the real @kubernetes/client-node: a real etcd,
// the API simulator, controller-manager and scheduler, and a master plus two workers (kubelet + containerd
// stand-ins), all as local processes. Covers registration and heartbeats, NotReady detection, cordon, field
// selectors, watches, PDB-guarded evictions with replacement elsewhere, Terminating pods on a node whose kubelet is
// down, an unschedulable pod's reason, static/mirror pods, and Lease optimistic concurrency.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ADD,
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  makeInformer,
  PatchStrategy,
  PolicyV1Api,
  UPDATE,
  Watch,
  setHeaderOptions,
  type V1Lease,
  type V1Node,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeCluster } from "../../coordinator/index.js";
import { freePort, Lab, waitFor, type Proc } from "../lab/kube/harness.js";
import { seedWorkload } from "../lab/kube/index.js";

const GRACE_S = 3;

let lab: Lab;
let kc: KubeConfig;
let core: CoreV1Api;
let policy: PolicyV1Api;
let coord: CoordinationV1Api;
let apiPort: number;
const kubelets = new Map<string, Proc>();
const runtimes = new Map<string, string>();

async function startKubelet(node: string): Promise<void> {
  const servers = [`https://127.0.0.1:${apiPort}`];
  const manifestDir = node === "m1" ? join(lab.dir, "manifests-m1") : undefined;
  kubelets.set(
    node,
    await lab.kubelet(node, {
      servers,
      runtimeEndpoint: runtimes.get(node) ?? "",
      role: node === "m1" ? "master" : "worker",
      cpu: "2",
      memory: "4Gi",
      ...(manifestDir ? { manifestDir } : {}),
    }),
  );
}

function readyStatus(n: V1Node | undefined): string | undefined {
  return n?.status?.conditions?.find((c) => c.type === "Ready")?.status;
}

const isReady = (p: V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

async function pods(label: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: "default", labelSelector: label })).items;
}

function statusOf(err: unknown): {
  code: number;
  body: { reason?: string; message?: string; details?: { causes?: Array<{ message?: string }> } };
} {
  if (!(err instanceof ApiException)) throw err;
  const e = err as ApiException<unknown>;
  return { code: e.code, body: JSON.parse(String(e.body)) as ReturnType<typeof statusOf>["body"] };
}

beforeAll(async () => {
  lab = await Lab.create("kc-kube-cluster-");
  try {
    const etcd = await lab.etcdCluster(1);
    apiPort = await freePort();
    lab.apiserver("apiserver", apiPort, etcd);
    lab.controllerManager("kcm", await freePort(), etcd, GRACE_S);
    lab.scheduler("scheduler", await freePort(), etcd);
    kc = new KubeConfig();
    kc.loadFromString(lab.pki.kubeconfig(`https://127.0.0.1:${apiPort}`));
    core = kc.makeApiClient(CoreV1Api);
    policy = kc.makeApiClient(PolicyV1Api);
    coord = kc.makeApiClient(CoordinationV1Api);
    await mkdir(join(lab.dir, "manifests-m1"), { recursive: true });
    await writeFile(
      join(lab.dir, "manifests-m1", "etcd-sidecar.yaml"),
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\n  namespace: kube-system\n  labels: {component: static-web}\nspec:\n  containers:\n  - name: web\n    image: registry.lab/static:1\n",
    );
    for (const node of ["m1", "w1", "w2"]) {
      const rt = await lab.runtime(node);
      runtimes.set(node, rt.endpoint);
      await startKubelet(node);
    }
  } catch (err) {
    console.error(lab.tail());
    await lab.destroy();
    throw err;
  }
}, 90_000);

afterAll(async () => {
  // KUBE_LAB_KEEP=1 keeps the logs (the processes are killed either way)
  await lab?.destroy(process.env.KUBE_LAB_KEEP === "1");
  if (process.env.KUBE_LAB_KEEP === "1") console.log(`lab kept in ${lab.dir}`);
});

describe("the Kubernetes stand-ins through @kubernetes/client-node", () => {
  it("registers every node, Ready, with roles, addresses and capacity", async () => {
    const nodes = await waitFor(
      "3 Ready nodes",
      async () => {
        const list = await core.listNode();
        return list.items.length === 3 && list.items.every((n) => readyStatus(n) === "True") ? list.items : undefined;
      },
      30_000,
    );
    const m1 = nodes.find((n) => n.metadata?.name === "m1");
    expect(m1?.metadata?.labels).toMatchObject({
      "kubernetes.io/hostname": "m1",
      "node-role.kubernetes.io/control-plane": "",
    });
    // the controller's node.kubernetes.io/not-ready taints of the first, runtime-less status go once it is Ready
    await waitFor("m1 carrying only its control-plane taint", async () => {
      const n = await core.readNode({ name: "m1" });
      return (
        (n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).join() ===
        "node-role.kubernetes.io/control-plane:NoSchedule"
      );
    });
    const w1 = nodes.find((n) => n.metadata?.name === "w1");
    expect(w1?.metadata?.labels?.["node-role.kubernetes.io/worker"]).toBe("");
    expect(w1?.status?.addresses).toContainEqual({ type: "InternalIP", address: "127.0.0.1" });
    expect(w1?.status?.allocatable).toMatchObject({ cpu: "2", memory: "4Gi" });
    const workers = await core.listNode({ labelSelector: "node-role.kubernetes.io/worker" });
    expect(workers.items.map((n) => n.metadata?.name).sort()).toEqual(["w1", "w2"]);
    // the kubelet's heartbeat Lease moves
    const l1 = await coord.readNamespacedLease({ name: "w1", namespace: "kube-node-lease" });
    await waitFor(
      "a renewed node lease",
      async () => {
        const l2 = await coord.readNamespacedLease({ name: "w1", namespace: "kube-node-lease" });
        return l2.metadata?.resourceVersion !== l1.metadata?.resourceVersion;
      },
      5000,
    );
  });

  it("runs the seeded workload: ReplicaSet pods on the workers, a DaemonSet pod per node, PDB status", async () => {
    await seedWorkload(lab.pki.kubeconfig(`https://127.0.0.1:${apiPort}`));
    const all = await waitFor(
      "8 Ready workload pods and 3 daemon pods",
      async () => {
        const list = await core.listPodForAllNamespaces();
        const ready = list.items.filter(isReady);
        const ds = ready.filter((p) => p.metadata?.labels?.app === "node-exporter");
        return ready.filter((p) => p.metadata?.namespace === "default").length === 8 && ds.length === 3
          ? list.items
          : undefined;
      },
      30_000,
    );
    const web = all.filter((p) => p.metadata?.labels?.app === "web");
    expect(web).toHaveLength(4);
    for (const p of web) {
      expect(["w1", "w2"]).toContain(p.spec?.nodeName);
      expect(p.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "ReplicaSet", controller: true });
      expect(p.status?.phase).toBe("Running");
      expect(p.status?.containerStatuses?.[0]).toMatchObject({ ready: true, restartCount: 0 });
      expect(p.status?.containerStatuses?.[0]?.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    }
    const ds = all.filter((p) => p.metadata?.labels?.app === "node-exporter");
    expect(ds.map((p) => p.spec?.nodeName).sort()).toEqual(["m1", "w1", "w2"]);
    expect(ds[0]?.metadata?.ownerReferences?.[0]?.kind).toBe("DaemonSet");
    const pdb = await waitFor("web-pdb status", async () => {
      const p = await policy.readNamespacedPodDisruptionBudget({ name: "web-pdb", namespace: "default" });
      return p.status?.currentHealthy === 4 ? p : undefined;
    });
    expect(pdb.status).toMatchObject({ desiredHealthy: 3, currentHealthy: 4, disruptionsAllowed: 1, expectedPods: 4 });
    const apiPdb = await policy.readNamespacedPodDisruptionBudget({ name: "api-pdb", namespace: "default" });
    expect(apiPdb.status).toMatchObject({ desiredHealthy: 1, expectedPods: 2 });
  });

  it("has a mirror pod for the static pod of the master", async () => {
    const mirror = await waitFor("mirror pod Running", async () => {
      const p = await core.readNamespacedPod({ name: "static-web-m1", namespace: "kube-system" });
      return p.status?.phase === "Running" ? p : undefined;
    });
    expect(mirror.metadata?.annotations?.["kubernetes.io/config.mirror"]).toMatch(/^[0-9a-f]{32}$/);
    expect(mirror.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Node", name: "m1" });
    expect(mirror.spec?.nodeName).toBe("m1");
  });

  it("lists pods by spec.nodeName and refuses unknown field selectors", async () => {
    const onW1 = await core.listPodForAllNamespaces({ fieldSelector: "spec.nodeName=w1" });
    expect(onW1.items.length).toBeGreaterThan(0);
    expect(onW1.items.every((p) => p.spec?.nodeName === "w1")).toBe(true);
    const err = await core.listPodForAllNamespaces({ fieldSelector: "spec.bogus=1" }).catch((e: unknown) => e);
    expect(statusOf(err).code).toBe(400);
  });

  it("cordons with client-node's default JSON patch, watches the change, and uncordons with a merge patch", async () => {
    const list = await core.listNode();
    const events: Array<{ type: string; unschedulable: boolean | undefined; rv: string | undefined }> = [];
    const watch = new Watch(kc);
    const ctl = await watch.watch(
      "/api/v1/nodes",
      { resourceVersion: list.metadata?.resourceVersion, fieldSelector: "metadata.name=w1" },
      (type, obj: V1Node) =>
        events.push({ type, unschedulable: obj.spec?.unschedulable, rv: obj.metadata?.resourceVersion }),
      () => undefined,
    );
    try {
      await core.patchNode({ name: "w1", body: [{ op: "add", path: "/spec/unschedulable", value: true }] });
      const ev = await waitFor(
        "a MODIFIED event for the cordon",
        () => events.find((e) => e.type === "MODIFIED" && e.unschedulable === true),
        5000,
      );
      expect(Number(ev.rv)).toBeGreaterThan(Number(list.metadata?.resourceVersion));
      const tainted = await waitFor("the unschedulable taint", async () => {
        const n = await core.readNode({ name: "w1" });
        return n.spec?.taints?.some((t) => t.key === "node.kubernetes.io/unschedulable") ? n : undefined;
      });
      expect(tainted.spec?.unschedulable).toBe(true);
    } finally {
      ctl.abort();
    }
    await core.patchNode(
      { name: "w1", body: { spec: { unschedulable: null } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const n = await core.readNode({ name: "w1" });
    expect(n.spec?.unschedulable).toBeUndefined();
    await core.patchNode(
      { name: "w1", body: { spec: { unschedulable: true } } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    expect((await core.readNode({ name: "w1" })).spec?.unschedulable).toBe(true);
  });

  it("feeds a client-node informer on nodes: the initial list, then updates", async () => {
    const informer = makeInformer(kc, "/api/v1/nodes", () => core.listNode());
    const seen = new Set<string>();
    const updated: string[] = [];
    informer.on(ADD, (n: V1Node) => seen.add(n.metadata?.name ?? ""));
    informer.on(UPDATE, (n: V1Node) =>
      updated.push(`${n.metadata?.name}:${String(n.metadata?.labels?.["lab/informer"])}`),
    );
    await informer.start();
    try {
      await waitFor("3 nodes added", () => seen.size === 3, 5000);
      await core.patchNode(
        { name: "m1", body: { metadata: { labels: { "lab/informer": "yes" } } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      await waitFor("the label update", () => updated.includes("m1:yes"), 5000);
      expect(
        informer
          .list()
          .map((n) => n.metadata?.name)
          .sort(),
      ).toEqual(["m1", "w1", "w2"]);
    } finally {
      await informer.stop();
    }
  });

  it("evicts through the Eviction API: 429 naming the PDB when it would break it, else the pod goes and is replaced on another node", async () => {
    // w1 is cordoned (previous test): a replacement can only go to w2.
    const onW1 = (await pods("app=web")).filter((p) => p.spec?.nodeName === "w1" && isReady(p));
    const victim = onW1[0] ?? (await pods("app=web")).find((p) => p.spec?.nodeName === "w1");
    expect(victim, "a web pod on w1").toBeDefined();
    const name = victim?.metadata?.name ?? "";
    await waitFor(
      "web-pdb allows one disruption",
      async () =>
        (await policy.readNamespacedPodDisruptionBudget({ name: "web-pdb", namespace: "default" })).status
          ?.disruptionsAllowed === 1,
    );
    await core.createNamespacedPodEviction({
      name,
      namespace: "default",
      body: { metadata: { name, namespace: "default" } },
    });

    // A second eviction before the replacement is Ready would leave 2 < 3 healthy.
    const other = (await pods("app=web")).find((p) => p.metadata?.name !== name && !p.metadata?.deletionTimestamp);
    const otherName = other?.metadata?.name ?? "";
    const err = await core
      .createNamespacedPodEviction({
        name: otherName,
        namespace: "default",
        body: { metadata: { name: otherName, namespace: "default" } },
      })
      .catch((e: unknown) => e);
    const st = statusOf(err);
    expect(st.code).toBe(429);
    expect(st.body.reason).toBe("TooManyRequests");
    expect(st.body.message).toBe("Cannot evict pod as it would violate the pod's disruption budget.");
    expect(st.body.details?.causes?.[0]?.message).toMatch(
      /^The disruption budget web-pdb needs 3 healthy pods and has \d+ currently$/,
    );

    // The evicted pod goes (the kubelet confirms), and the ReplicaSet's replacement runs on w2.
    await waitFor(
      "the evicted pod gone",
      async () => (await pods("app=web")).every((p) => p.metadata?.name !== name),
      15_000,
    );
    const replacement = await waitFor(
      "4 Ready web pods again",
      async () => {
        const ps = await pods("app=web");
        return ps.length === 4 && ps.every(isReady) ? ps : undefined;
      },
      15_000,
    );
    const fresh = replacement.filter(
      (p) => !onW1.concat(other ? [other] : []).some((o) => o.metadata?.uid === p.metadata?.uid),
    );
    expect(fresh.map((p) => p.spec?.nodeName)).toContain("w2");
    expect(fresh.every((p) => p.spec?.nodeName !== "w1")).toBe(true);
  });

  it("marks a node NotReady within the grace period when its kubelet dies; its pods keep running but are no longer Ready", async () => {
    const k = kubelets.get("w2");
    if (!k) throw new Error("no kubelet w2");
    await lab.kill(k);
    const t0 = Date.now();
    const node = await waitFor(
      "w2 NotReady",
      async () => {
        const n = await core.readNode({ name: "w2" });
        return readyStatus(n) === "Unknown" ? n : undefined;
      },
      (GRACE_S + 5) * 1000,
    );
    const latency = Date.now() - t0;
    console.log(`NotReady detected ${latency} ms after the kubelet died (grace ${GRACE_S} s)`);
    expect(latency).toBeLessThan((GRACE_S + 3) * 1000);
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({
      status: "Unknown",
      reason: "NodeStatusUnknown",
      message: "Kubelet stopped posting node status.",
    });
    await waitFor("unreachable taint", async () =>
      (await core.readNode({ name: "w2" })).spec?.taints?.some(
        (t) => t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute",
      ),
    );
    // its pods keep running (the runtime has them) but are no longer Ready
    await waitFor("w2's pods marked not ready", async () => {
      const ps = (await core.listPodForAllNamespaces({ fieldSelector: "spec.nodeName=w2" })).items;
      return ps.length > 0 && ps.every((p) => !isReady(p));
    });
  });

  it("leaves a pod evicted from a node whose kubelet is down Terminating, and its replacement Pending with the scheduler's reason", async () => {
    const batch = (await pods("app=batch")).find((p) => p.spec?.nodeName === "w2");
    const name = batch?.metadata?.name ?? "";
    expect(name).not.toBe("");
    await core.createNamespacedPodEviction({
      name,
      namespace: "default",
      body: { metadata: { name, namespace: "default" } },
    });
    const terminating = await core.readNamespacedPod({ name, namespace: "default" });
    expect(terminating.metadata?.deletionTimestamp).toBeDefined();
    const pending = await waitFor("an unschedulable replacement", async () => {
      const ps = await pods("app=batch");
      return ps.find((p) =>
        p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.reason === "Unschedulable"),
      );
    });
    const msg = pending.status?.conditions?.find((c) => c.type === "PodScheduled")?.message ?? "";
    expect(msg).toMatch(/^0\/3 nodes are available: /);
    expect(msg).toContain("1 node(s) were unschedulable");
    expect(msg).toContain("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }");
    expect(msg).toContain("1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }");
    // still there a while later: nobody confirms the deletion while the kubelet is down
    await new Promise((r) => setTimeout(r, 1500));
    expect((await core.readNamespacedPod({ name, namespace: "default" })).metadata?.deletionTimestamp).toBeDefined();

    // kubelet back: node Ready, the Terminating pod finalized; uncordon w1: the replacement gets scheduled
    await startKubelet("w2");
    await waitFor("w2 Ready", async () => readyStatus(await core.readNode({ name: "w2" })) === "True", 15_000);
    await waitFor(
      "the terminating pod gone",
      async () => (await pods("app=batch")).every((p) => p.metadata?.name !== name),
      15_000,
    );
    await core.patchNode({ name: "w1", body: [{ op: "remove", path: "/spec/unschedulable" }] });
    await waitFor(
      "2 Ready batch pods",
      async () => {
        const ps = await pods("app=batch");
        return ps.length === 2 && ps.every(isReady);
      },
      15_000,
    );
  });

  it("gives Leases real optimistic concurrency and MicroTime validation", async () => {
    const now = new Date();
    const micro = now.toISOString().replace("Z", "000Z");
    const lease: V1Lease = {
      metadata: { name: "kubecycle-lock", namespace: "kube-system" },
      spec: {
        holderIdentity: "op-1",
        leaseDurationSeconds: 30,
        renewTime: micro as unknown as Date,
        acquireTime: micro as unknown as Date,
      },
    };
    const created = await coord.createNamespacedLease({ namespace: "kube-system", body: lease });
    const again = await coord.createNamespacedLease({ namespace: "kube-system", body: lease }).catch((e: unknown) => e);
    expect(statusOf(again)).toMatchObject({ code: 409, body: { reason: "AlreadyExists" } });

    const updated = await coord.replaceNamespacedLease({
      name: "kubecycle-lock",
      namespace: "kube-system",
      body: { ...created, spec: { ...created.spec, holderIdentity: "op-2" } },
    });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
    // the stale resourceVersion of `created` loses
    const stale = await coord
      .replaceNamespacedLease({
        name: "kubecycle-lock",
        namespace: "kube-system",
        body: { ...created, spec: { ...created.spec, holderIdentity: "op-3" } },
      })
      .catch((e: unknown) => e);
    const st = statusOf(stale);
    expect(st.code).toBe(409);
    expect(st.body.reason).toBe("Conflict");
    expect(st.body.message).toContain(
      'Operation cannot be fulfilled on leases.coordination.k8s.io "kubecycle-lock": the object has been modified',
    );
    expect(
      (await coord.readNamespacedLease({ name: "kubecycle-lock", namespace: "kube-system" })).spec?.holderIdentity,
    ).toBe("op-2");

    // a JavaScript Date serialized as-is (milliseconds) is not a MicroTime: the real apiserver answers 400
    const bad = await coord
      .replaceNamespacedLease({
        name: "kubecycle-lock",
        namespace: "kube-system",
        body: { ...updated, spec: { ...updated.spec, renewTime: new Date() } },
      })
      .catch((e: unknown) => e);
    expect(statusOf(bad).code).toBe(400);
    expect(statusOf(bad).body.message).toMatch(/cannot parse ".*Z" as ".000000"/);

    await coord.deleteNamespacedLease({ name: "kubecycle-lock", namespace: "kube-system" });
    const gone = await coord
      .readNamespacedLease({ name: "kubecycle-lock", namespace: "kube-system" })
      .catch((e: unknown) => e);
    expect(statusOf(gone)).toMatchObject({
      code: 404,
      body: { reason: "NotFound", message: 'leases.coordination.k8s.io "kubecycle-lock" not found' },
    });
  });

  it("KubeCluster watches a node's pods by field selector from a list's resourceVersion, in order", async () => {
    const api = new KubeCluster(kc);
    const list = await api.listPodList({ node: "w1" });
    expect(list.pods.every((p) => p.spec?.nodeName === "w1")).toBe(true);
    const events: string[] = [];
    const stop = new AbortController();
    const watching = api.watchPods(
      { node: "w1" },
      list.resourceVersion,
      (e) => events.push(`${e.type} ${e.pod.metadata?.name}`),
      stop.signal,
    );
    const bare = (name: string, nodeName: string) => ({
      metadata: { name, namespace: "default" },
      spec: { nodeName, containers: [{ name: "c", image: "registry.lab/web:1" }] },
    });
    await core.createNamespacedPod({ namespace: "default", body: bare("watched-w1", "w1") });
    await core.createNamespacedPod({ namespace: "default", body: bare("unwatched-w2", "w2") });
    await core.deleteNamespacedPod({ name: "watched-w1", namespace: "default", gracePeriodSeconds: 0 });
    await core.deleteNamespacedPod({ name: "unwatched-w2", namespace: "default", gracePeriodSeconds: 0 });
    await waitFor("watched-w1's DELETED event", () => events.includes("DELETED watched-w1"), 20_000);
    stop.abort();
    await watching;
    expect(events[0]).toBe("ADDED watched-w1");
    expect(events.some((e) => e.includes("unwatched-w2"))).toBe(false);
  });

  it("answers a watch at once, before any event, as the real apiserver flushes its headers: a quiet watch can be cancelled", async () => {
    // @kubernetes/client-node's Watch.watch resolves with the AbortController only once the headers came; held back
    // until a first event, a watch on a scope where nothing happens could never be ended by its client.
    const rv = (await core.listNamespacedPod({ namespace: "kc-quiet" })).metadata?.resourceVersion;
    let ended = false;
    const started = new Watch(kc).watch(
      "/api/v1/namespaces/kc-quiet/pods",
      { resourceVersion: rv },
      () => undefined,
      () => (ended = true),
    );
    const controller = await Promise.race([
      started,
      new Promise<undefined>((resolve) => setTimeout(resolve, 5_000, undefined)),
    ]);
    expect(controller, "the watch's response within 5 s, no event having come").toBeInstanceOf(AbortController);
    controller?.abort();
    await waitFor("the watch to end", () => ended, 5_000);
  });

  it("refuses requests without a client certificate, but serves /readyz, /livez and /version to anyone", async () => {
    const { request } = await import("node:https");
    const get = (path: string): Promise<{ code: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port: apiPort, path, rejectUnauthorized: false }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
      });
    expect(await get("/api/v1/nodes")).toMatchObject({ code: 401 });
    expect(await get("/readyz")).toEqual({ code: 200, body: "ok" });
    expect(await get("/livez")).toEqual({ code: 200, body: "ok" });
    expect((await get("/version")).body).toContain('"gitVersion"');
  });
});
