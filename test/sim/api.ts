// The simulated Kubernetes API: coordinator/kube/cluster.ts's ClusterApi, in memory, over the same model the
// simulated agents answer from. Nodes are Ready while their kubelet runs (and a grace period after it stops, as the
// node-lifecycle controller allows), pods are the nodes' sandboxes, evictions honour PodDisruptionBudgets and
// replace ReplicaSet pods elsewhere, Leases conflict on a stale resourceVersion. The API answers only while an API
// server's pod runs on some control-plane node, fails with HTTP 500 while etcd has no quorum, and its /readyz says
// so. Errors are the ones KubeCluster throws, with the same codes and httpStatus fields. Pods can be listed with a
// resourceVersion and watched from it (ADDED, MODIFIED, DELETED, in order), as the real API's watch cache serves
// them: a bounded window of past events, 410 Expired for a version older than it; the first such list turns the
// event log on, so worlds that never watch pay nothing for it.
import type {
  V1CertificateSigningRequest,
  V1Lease,
  V1Node,
  V1Pod,
  V1PodDisruptionBudget,
} from "@kubernetes/client-node";
import { setTimeout as sleep } from "node:timers/promises";
import type { ClusterApi, EvictionResult, PodEvent, PodList, PodScope } from "../../coordinator/index.js";
import { KubecycleError } from "../../shared/index.js";
import type { CallRecord, SimCluster, SimNode, SimSandbox } from "./model.js";

/** A node as the API stores it: what kubectl and kubecycle may change. */
interface NodeObject {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  unschedulable: boolean;
  resourceVersion: number;
}

const MIRROR = "kubernetes.io/config.mirror";

/** A pod as the watch log last saw it (its view is made when asked: a large world holds no copies). */
interface PodRecord {
  node: SimNode;
  sandbox: SimSandbox;
  resourceVersion: string;
}

/** One entry of the watch log. */
interface LoggedEvent {
  rv: number;
  type: PodEvent["type"];
  pod: V1Pod;
}

/** An open watch. */
interface Watcher {
  scope: PodScope;
  rec: CallRecord;
  send: (e: LoggedEvent) => void;
  /** A BOOKMARK: the current resourceVersion, nothing changed. */
  bookmark: () => void;
  end: (err?: KubecycleError) => void;
}

/** {@link ClusterApi} over a {@link SimCluster}. */
export class SimClusterApi implements ClusterApi {
  readonly server = "https://sim-apiserver:6443";
  readonly cluster: SimCluster;
  /** PodDisruptionBudgets (minAvailable over matchLabels) that evictions honour. */
  pdbs: V1PodDisruptionBudget[] = [];
  /** CertificateSigningRequests as stored (a test adds the kubelets' requests here). */
  csrs: V1CertificateSigningRequest[] = [];
  /** Hosts kubecycle asked to fail over to (the control-plane nodes). */
  readonly fallbackHosts = new Set<string>();
  readonly #objects = new Map<string, NodeObject>();
  readonly #leases = new Map<string, V1Lease>();
  #rv = 1000;
  #replicas = 0;
  /** Requests refused with 403 Forbidden, by verb and resource ("watch pods"), as RBAC without the grant does. */
  readonly forbidden = new Set<string>();
  /** Count the JSON bytes of what lists answer and watches send, into each CallRecord (costs a stringify). */
  measureBytes = false;
  /** Past pod events a watch can start from (the watch cache's window). */
  watchWindow = 10_000;
  /** Pods by node then uid, once something listed pods with a resourceVersion (undefined before). */
  #podLog: Map<string, Map<string, PodRecord>> | undefined;
  #events: LoggedEvent[] = [];
  /** Events up to this version are no longer in the window: a watch from before it gets 410. */
  #compactedThrough = 0;
  readonly #watchers = new Set<Watcher>();

  constructor(cluster: SimCluster) {
    this.cluster = cluster;
    for (const n of cluster.nodes.values()) {
      this.#objects.set(n.name, {
        labels: {
          "kubernetes.io/hostname": n.name,
          ...(n.spec.controlPlane ? { "node-role.kubernetes.io/control-plane": "" } : {}),
        },
        annotations: {},
        unschedulable: false,
        resourceVersion: ++this.#rv,
      });
    }
    cluster.observers.add((n) => {
      this.#syncPods(n);
      // The API server went: its watches end, as connections do.
      if (!this.serving && this.#watchers.size) {
        const err = unreachable("watch pods", this.server);
        for (const w of [...this.#watchers]) w.end(err);
      }
    });
  }

  /** Some control-plane node's API server pod runs (etcd's health is checked per request). */
  get serving(): boolean {
    return [...this.cluster.nodes.values()].some((n) => n.spec.controlPlane && n.apiserverUp);
  }

  /** Ready as the API says it: True while kubelet runs (after its first update) and for the grace after it stops. */
  readyStatus(n: SimNode, now = Date.now()): "True" | "Unknown" {
    if (n.kubeletUp && n.reachable) return now >= n.readyAt ? "True" : "Unknown";
    return n.downAt !== undefined && now - n.downAt < this.cluster.timing.notReadyGraceMs ? "True" : "Unknown";
  }

  getNode(name: string): Promise<V1Node | undefined> {
    return this.#request(`get node ${name}`, name, false, () => {
      const n = this.cluster.nodes.get(name);
      return n ? this.#nodeView(n) : undefined;
    });
  }

  listNodes(): Promise<V1Node[]> {
    return this.#request("list nodes", "", false, () => [...this.cluster.nodes.values()].map((n) => this.#nodeView(n)));
  }

  patchNode(
    name: string,
    patch: { unschedulable?: boolean; annotations?: Record<string, string | null> },
  ): Promise<V1Node> {
    return this.#request(`patch node ${name}`, name, true, () => {
      const n = this.cluster.nodes.get(name);
      const o = this.#objects.get(name);
      if (!n || !o) throw notFound(`patch node ${name}`, `nodes "${name}" not found`);
      if (patch.unschedulable !== undefined) o.unschedulable = patch.unschedulable;
      for (const [k, v] of Object.entries(patch.annotations ?? {})) {
        if (v === null) delete o.annotations[k];
        else o.annotations[k] = v;
      }
      o.resourceVersion = ++this.#rv;
      return this.#nodeView(n);
    });
  }

  listPods(scope: PodScope = {}): Promise<V1Pod[]> {
    return this.#request(`list pods${scopeWords(scope)}`, scope.node ?? "", false, (rec) => {
      const pods = [...this.cluster.nodes.values()].flatMap((n) =>
        n.sandboxes
          .filter((s) => sandboxInScope(scope, n, s))
          .map((s) => podView(n, s, this.#podLog?.get(n.name)?.get(podUid(s))?.resourceVersion)),
      );
      this.#measure(rec, pods);
      return pods;
    });
  }

  listPodList(scope: PodScope): Promise<PodList> {
    return this.#request(`list pods${scopeWords(scope)}`, scope.node ?? "", false, (rec) => {
      const log = this.#startPodLog();
      // Changes not yet told through changed() are in the log before the list is cut.
      for (const n of this.cluster.nodes.values()) if (!scope.node || n.name === scope.node) this.#syncPods(n);
      // Only the pods in scope are made into API objects: a world of 100,000 pods lists one node's in microseconds.
      const pods = [...log.values()].flatMap((byUid) =>
        [...byUid.values()]
          .filter((r) => sandboxInScope(scope, r.node, r.sandbox))
          .map((r) => podView(r.node, r.sandbox, r.resourceVersion)),
      );
      const list = { pods, resourceVersion: String(this.#rv) };
      this.#measure(rec, list);
      return list;
    });
  }

  async watchPods(
    scope: PodScope,
    resourceVersion: string,
    onEvent: (e: PodEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const what = `watch pods${scopeWords(scope)}`;
    // Opening a watch is a request like any other: latency, refused while the API is down. The watcher is in place
    // in the same turn as its replay is cut, so no event falls between them.
    await this.#request(what, scope.node ?? "", false, (rec) => {
      this.#startPodLog();
      const from = Number(resourceVersion || "0");
      if (from !== 0 && from < this.#compactedThrough) {
        throw new KubecycleError(
          "KUBE_API_FAILED",
          `${what}: HTTP 410: too old resource version: ${from} (${this.#compactedThrough})`,
          { httpStatus: 410 },
        );
      }
      // No version: the current state first, as ADDED events, as the real API does.
      const replay =
        from === 0
          ? [...(this.#podLog?.values() ?? [])].flatMap((byUid) =>
              [...byUid.values()]
                .filter((r) => sandboxInScope(scope, r.node, r.sandbox))
                .map((r) => ({
                  rv: this.#rv,
                  type: "ADDED" as const,
                  pod: podView(r.node, r.sandbox, r.resourceVersion),
                })),
            )
          : this.#events.filter((e) => e.rv > from);
      return new Promise<void>((resolve, reject) => {
        if (signal.aborted) return resolve();
        const watcher: Watcher = {
          scope,
          rec,
          send: (e) => {
            if (!inScope(scope, e.pod)) return;
            const pod = wire(e.pod);
            if (this.measureBytes) rec.bytes = (rec.bytes ?? 0) + JSON.stringify({ type: e.type, object: pod }).length;
            onEvent({ type: e.type, pod });
          },
          bookmark: () => onEvent({ type: "BOOKMARK", pod: { metadata: { resourceVersion: String(this.#rv) } } }),
          end: (err) => {
            this.#watchers.delete(watcher);
            signal.removeEventListener("abort", onAbort);
            rec.answeredAt = Date.now();
            if (err) {
              rec.refused = err.code;
              reject(err);
            } else resolve();
          },
        };
        const onAbort = () => watcher.end();
        signal.addEventListener("abort", onAbort, { once: true });
        this.#watchers.add(watcher);
        for (const e of replay) watcher.send(e);
      });
    });
  }

  /** Drops the watch window, as etcd's compaction does: a watch from before now gets 410 Expired. */
  compact(): void {
    this.#compactedThrough = this.#rv;
    this.#events = [];
  }

  /**
   * Ends every watch as its timeoutSeconds would, after a BOOKMARK with the current resourceVersion (the real API
   * server sends one shortly before a watch's timeout to a client that allowed them; kubecycle always does).
   */
  endWatches(): void {
    for (const w of [...this.#watchers]) {
      w.bookmark();
      w.end();
    }
  }

  /** Drops the watch window (as etcd's compaction does) and ends every watch with 410 Expired. */
  expireWatches(): void {
    this.compact();
    for (const w of [...this.#watchers]) {
      w.end(
        new KubecycleError("KUBE_API_FAILED", `watch pods: HTTP 410: too old resource version`, { httpStatus: 410 }),
      );
    }
  }

  /** Watches open now. */
  get openWatches(): number {
    return this.#watchers.size;
  }

  evictPod(namespace: string, name: string): Promise<EvictionResult> {
    return this.#request(`evict pod ${namespace}/${name}`, "", true, (): EvictionResult => {
      const node = [...this.cluster.nodes.values()].find((n) =>
        n.sandboxes.some((s) => s.namespace === namespace && s.name === name),
      );
      const pod = node?.sandboxes.find((s) => s.namespace === namespace && s.name === name);
      if (!node || !pod) return { kind: "gone" };
      const blocking = this.#budgets().find((b) => b.matches(pod) && b.allowed <= 0);
      if (blocking) {
        return {
          kind: "blocked",
          message: `evict pod ${namespace}/${name}: HTTP 429: Cannot evict pod as it would violate the pod's disruption budget. (The disruption budget ${blocking.name} needs ${blocking.minAvailable} healthy pods and has ${blocking.healthy} currently)`,
        };
      }
      node.sandboxes = node.sandboxes.filter((s) => s !== pod);
      this.cluster.changed(node);
      if (pod.owner.kind === "ReplicaSet") this.#replace(pod, node);
      return { kind: "evicted" };
    });
  }

  listPdbs(): Promise<V1PodDisruptionBudget[]> {
    return this.#request("list PodDisruptionBudgets", "", false, () =>
      this.#budgets().map((b) => ({
        ...b.pdb,
        status: {
          currentHealthy: b.healthy,
          desiredHealthy: b.minAvailable,
          disruptionsAllowed: Math.max(0, b.allowed),
          expectedPods: b.expected,
        },
      })),
    );
  }

  getLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    return this.#request(`get lease ${namespace}/${name}`, "", false, () => {
      const l = this.#leases.get(`${namespace}/${name}`);
      return l ? wire(l) : undefined;
    });
  }

  createLease(lease: V1Lease): Promise<V1Lease> {
    const { namespace, name } = leaseKey(lease);
    return this.#request(`create lease ${namespace}/${name}`, "", true, () => {
      if (this.#leases.has(`${namespace}/${name}`)) {
        throw conflict(`create lease ${namespace}/${name}`, `leases.coordination.k8s.io "${name}" already exists`);
      }
      return this.#store(namespace, name, lease);
    });
  }

  replaceLease(lease: V1Lease): Promise<V1Lease> {
    const { namespace, name } = leaseKey(lease);
    return this.#request(`update lease ${namespace}/${name}`, "", true, () => {
      const now = this.#leases.get(`${namespace}/${name}`);
      if (!now) throw notFound(`update lease ${namespace}/${name}`, `leases.coordination.k8s.io "${name}" not found`);
      if (lease.metadata?.resourceVersion !== now.metadata?.resourceVersion) {
        throw conflict(
          `update lease ${namespace}/${name}`,
          `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      }
      return this.#store(namespace, name, lease);
    });
  }

  deleteLease(namespace: string, name: string, resourceVersion?: string): Promise<void> {
    return this.#request(`delete lease ${namespace}/${name}`, "", true, () => {
      const now = this.#leases.get(`${namespace}/${name}`);
      if (!now) return;
      if (resourceVersion && resourceVersion !== now.metadata?.resourceVersion) {
        throw conflict(`delete lease ${namespace}/${name}`, "Precondition failed: ResourceVersion mismatch");
      }
      this.#leases.delete(`${namespace}/${name}`);
    });
  }

  listCsrs(): Promise<V1CertificateSigningRequest[]> {
    return this.#request("list certificatesigningrequests", "", false, () => this.csrs.map(wire));
  }

  /** The approval subresource: the condition added, refused on a stale resourceVersion as the API server does. */
  approveCsr(csr: V1CertificateSigningRequest, message: string): Promise<V1CertificateSigningRequest> {
    const name = csr.metadata?.name ?? "";
    const what = `approve certificatesigningrequest ${name}`;
    return this.#request(what, "", true, () => {
      const stored = this.csrs.find((c) => c.metadata?.name === name);
      if (!stored) throw notFound(what, `certificatesigningrequests.certificates.k8s.io "${name}" not found`);
      const rv = stored.metadata?.resourceVersion;
      if (rv && csr.metadata?.resourceVersion !== rv) {
        throw conflict(
          what,
          `Operation cannot be fulfilled on certificatesigningrequests.certificates.k8s.io "${name}": the object has been modified`,
        );
      }
      stored.metadata = { ...stored.metadata, resourceVersion: String(++this.#rv) };
      stored.status = {
        ...stored.status,
        conditions: [
          ...(stored.status?.conditions ?? []),
          { type: "Approved", status: "True", reason: "KubecycleApprove", message, lastUpdateTime: new Date() },
        ],
      };
      return wire(stored);
    });
  }

  /** A node as stored, also while the API is down: what etcd holds, for tests to check against. */
  storedNode(name: string): V1Node {
    return this.#nodeView(this.cluster.node(name));
  }

  /** A lease as stored, also while the API is down (undefined when there is none). */
  lease(namespace: string, name: string): V1Lease | undefined {
    const l = this.#leases.get(`${namespace}/${name}`);
    return l ? wire(l) : undefined;
  }

  async readyz(host?: string): Promise<{ ok: boolean; body: string }> {
    const rec = this.#record("readyz", "", false);
    await sleep(this.cluster.requestDelay(this.cluster.timing.apiRequest));
    const answer = (): { ok: boolean; body: string } => {
      const at = host ?? "sim-apiserver";
      const up = host
        ? [...this.cluster.nodes.values()].some((n) => n.address === host && n.apiserverUp)
        : this.serving;
      if (!up) return { ok: false, body: `connect ECONNREFUSED ${at}:6443` };
      return this.cluster.etcd.leader
        ? { ok: true, body: "[+]ping ok\n[+]log ok\n[+]etcd ok\nreadyz check passed" }
        : { ok: false, body: "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nreadyz check failed" };
    };
    const res = answer();
    this.#done(rec);
    return res;
  }

  addFallbackHosts(hosts: string[]): void {
    for (const h of hosts) this.fallbackHosts.add(h);
  }

  // ---- internals -------------------------------------------------------------------------------------------------

  #record(what: string, node: string, mutating: boolean): CallRecord {
    const rec: CallRecord = {
      node,
      rpc: `api:${what.split(" ").slice(0, 2).join(" ")}`,
      at: Date.now(),
      workMs: 0,
      mutating,
      role: "api",
      about: what,
    };
    this.cluster.calls.push(rec);
    return rec;
  }

  #done(rec: CallRecord): void {
    rec.answeredAt = Date.now();
    rec.workMs = rec.answeredAt - rec.at;
  }

  #measure(rec: CallRecord, answer: unknown): void {
    if (this.measureBytes) rec.bytes = JSON.stringify(answer).length;
  }

  /** The pod log from now on: the pods as they are, then every change as an event (see changed()). */
  #startPodLog(): Map<string, Map<string, PodRecord>> {
    if (this.#podLog) return this.#podLog;
    const log = new Map<string, Map<string, PodRecord>>();
    this.#podLog = log;
    this.#compactedThrough = this.#rv;
    for (const n of this.cluster.nodes.values()) {
      const byUid = new Map<string, PodRecord>();
      const rv = String(this.#rv);
      for (const s of n.sandboxes) byUid.set(podUid(s), { node: n, sandbox: { ...s }, resourceVersion: rv });
      log.set(n.name, byUid);
    }
    return log;
  }

  /** A node's pods against the log: ADDED, MODIFIED, DELETED events, each a new resourceVersion, to the watches. */
  #syncPods(n: SimNode): void {
    const byUid = this.#podLog?.get(n.name);
    if (!byUid) return;
    const emit = (type: PodEvent["type"], r: PodRecord) => {
      const e: LoggedEvent = { rv: ++this.#rv, type, pod: podView(r.node, r.sandbox, String(this.#rv)) };
      r.resourceVersion = String(e.rv);
      this.#events.push(e);
      if (this.#events.length > this.watchWindow) {
        const dropped = this.#events.splice(0, this.#events.length - this.watchWindow);
        this.#compactedThrough = dropped[dropped.length - 1]?.rv ?? this.#compactedThrough;
      }
      for (const w of this.#watchers) w.send(e);
    };
    // Every list syncs every node it covers (a test may change a sandbox without changed()), so it makes
    // no object for a pod that did not change: on a large world it runs for each pod of each list.
    for (const s of n.sandboxes) {
      const uid = podUid(s);
      const had = byUid.get(uid);
      if (had && sameVersion(had.sandbox, s)) continue;
      const r: PodRecord = { node: n, sandbox: { ...s, labels: { ...s.labels } }, resourceVersion: "" };
      byUid.set(uid, r);
      emit(had ? "MODIFIED" : "ADDED", r);
    }
    // Each sandbox has its record now, and uids are unique on a node: no more records than sandboxes, none went.
    if (byUid.size === n.sandboxes.length) return;
    const now = new Set(n.sandboxes.map(podUid));
    for (const [uid, r] of byUid) {
      if (now.has(uid)) continue;
      byUid.delete(uid);
      emit("DELETED", r);
    }
  }

  /**
   * One request: its latency, then refused while no API server runs, when {@link forbidden}, or with HTTP 500 while
   * etcd has no leader.
   */
  async #request<T>(what: string, node: string, mutating: boolean, fn: (rec: CallRecord) => T): Promise<T> {
    const rec = this.#record(what, node, mutating);
    await sleep(this.cluster.requestDelay(this.cluster.timing.apiRequest));
    try {
      if (!this.serving) throw unreachable(what, this.server);
      if (this.forbidden.has(rec.rpc.replace(/^api:/, ""))) {
        throw new KubecycleError("PERMISSION_DENIED", `${what}: HTTP 403: Forbidden`, { httpStatus: 403 });
      }
      if (!this.cluster.etcd.leader) {
        throw new KubecycleError("KUBE_API_FAILED", `${what}: HTTP 500: etcdserver: request timed out`, {
          httpStatus: 500,
        });
      }
      return fn(rec);
    } catch (err) {
      rec.refused = err instanceof KubecycleError ? err.code : "INTERNAL";
      throw err;
    } finally {
      this.#done(rec);
    }
  }

  #nodeView(n: SimNode): V1Node {
    const o = this.#objects.get(n.name) as NodeObject;
    const ready = this.readyStatus(n);
    return {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: n.name,
        labels: { ...o.labels },
        annotations: { ...o.annotations },
        resourceVersion: String(o.resourceVersion),
      },
      spec: o.unschedulable ? { unschedulable: true } : {},
      status: {
        addresses: [
          { type: "InternalIP", address: n.address },
          { type: "Hostname", address: n.name },
        ],
        conditions: [
          {
            type: "Ready",
            status: ready,
            reason: ready === "True" ? "KubeletReady" : "NodeStatusUnknown",
            message: ready === "True" ? "kubelet is posting ready status" : "Kubelet stopped posting node status.",
          },
        ],
        capacity: { cpu: "4", memory: "8Gi", pods: "110" },
        allocatable: { cpu: "4", memory: "8Gi", pods: "110" },
      },
    };
  }

  #store(namespace: string, name: string, lease: V1Lease): V1Lease {
    const stored = wire(lease);
    stored.metadata = { ...stored.metadata, namespace, name, resourceVersion: String(++this.#rv) };
    this.#leases.set(`${namespace}/${name}`, stored);
    return wire(stored);
  }

  #budgets() {
    const pods = [...this.cluster.nodes.values()].flatMap((n) => n.sandboxes);
    return this.pdbs.map((pdb) => {
      const want = pdb.spec?.selector?.matchLabels ?? {};
      const matches = (s: SimSandbox) => Object.entries(want).every(([k, v]) => s.labels[k] === v);
      const selected = pods.filter(matches);
      const healthy = selected.filter((s) => s.ready).length;
      const minAvailable = Number(pdb.spec?.minAvailable ?? 0);
      return {
        pdb,
        name: `${pdb.metadata?.namespace}/${pdb.metadata?.name}`,
        matches,
        healthy,
        minAvailable,
        expected: selected.length,
        allowed: healthy - minAvailable,
      };
    });
  }

  /** The ReplicaSet controller and the scheduler: a new pod on another Ready, schedulable node that can run pods. */
  #replace(pod: SimSandbox, from: SimNode): void {
    const to = [...this.cluster.nodes.values()].find(
      (n) =>
        n !== from &&
        !n.spec.controlPlane &&
        !this.#objects.get(n.name)?.unschedulable &&
        this.readyStatus(n) === "True" &&
        n.kubeletUp,
    );
    if (!to) return;
    to.sandboxes.push({ ...pod, id: "", name: `${pod.name}-r${++this.#replicas}`, ready: false, restarts: 0 });
    this.cluster.changed(to);
  }
}

/** A pod's uid: its name's, as no two pods of the simulation share a namespace and name. */
const podUid = (s: SimSandbox) => `pod-${s.namespace}.${s.name}`;
/** What makes a new version of a pod: its sandbox, its readiness, its restarts, its crash loop. */
const sameVersion = (a: SimSandbox, b: SimSandbox) =>
  a.id === b.id &&
  a.ready === b.ready &&
  a.restarts === b.restarts &&
  a.crashLoop?.finishedAt === b.crashLoop?.finishedAt;

/** A pod as the API shows it, at resourceVersion `rv` (the log's, or "1" before there is one). */
function podView(n: SimNode, s: SimSandbox, rv = "1"): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: s.name,
      namespace: s.namespace,
      uid: podUid(s),
      resourceVersion: rv,
      labels: { ...s.labels },
      ...(s.owner.kind === "Node" ? { annotations: { [MIRROR]: s.id || "mirror" } } : {}),
      ownerReferences: [
        { apiVersion: "v1", kind: s.owner.kind, name: s.owner.name, uid: `uid-${s.owner.name}`, controller: true },
      ],
    },
    spec: {
      nodeName: n.name,
      containers: [{ name: "main", image: "sim", resources: { requests: { cpu: "100m", memory: "128Mi" } } }],
    },
    status: s.crashLoop
      ? {
          phase: "Running",
          conditions: [{ type: "Ready", status: "False" }],
          containerStatuses: [
            {
              name: "main",
              image: "sim",
              imageID: "sim",
              ready: false,
              restartCount: s.restarts,
              state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 5m0s restarting failed container" } },
              lastState: {
                terminated: {
                  reason: s.crashLoop.reason,
                  exitCode: s.crashLoop.exitCode,
                  message: s.crashLoop.message,
                  finishedAt: new Date(s.crashLoop.finishedAt),
                },
              },
            },
          ],
        }
      : {
          phase: s.ready ? "Running" : "Pending",
          conditions: [{ type: "Ready", status: s.ready ? "True" : "False" }],
          containerStatuses: [
            {
              name: "main",
              image: "sim",
              imageID: "sim",
              ready: s.ready,
              restartCount: s.restarts,
              state: s.ready ? { running: {} } : { waiting: { reason: "ContainerCreating" } },
            },
          ],
        },
  };
}

/** A copy as it would come over the wire (dates become strings), so callers never share the store's objects. */
function wire<T>(obj: T): T {
  return JSON.parse(JSON.stringify(obj)) as T;
}

function leaseKey(lease: V1Lease): { namespace: string; name: string } {
  return { namespace: lease.metadata?.namespace ?? "kube-system", name: lease.metadata?.name ?? "" };
}

/** {@link inScope} on the model's sandbox, before it is made into a pod. */
function sandboxInScope(scope: PodScope, n: SimNode, s: SimSandbox): boolean {
  if (scope.node && n.name !== scope.node) return false;
  if (scope.namespace && s.namespace !== scope.namespace) return false;
  for (const [k, v] of Object.entries(scope.labels ?? {})) if (s.labels[k] !== v) return false;
  return true;
}

/** Whether a pod is in a list's or a watch's scope (the field selector on spec.nodeName, namespace, labels). */
function inScope(scope: PodScope, p: V1Pod): boolean {
  if (scope.node && p.spec?.nodeName !== scope.node) return false;
  if (scope.namespace && p.metadata?.namespace !== scope.namespace) return false;
  for (const [k, v] of Object.entries(scope.labels ?? {})) if (p.metadata?.labels?.[k] !== v) return false;
  return true;
}

function scopeWords(scope: PodScope): string {
  const labels = Object.entries(scope.labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return (
    (scope.node ? ` on ${scope.node}` : "") +
    (scope.namespace ? ` in ${scope.namespace}` : "") +
    (labels ? ` (${labels})` : "")
  );
}

function unreachable(what: string, server: string): KubecycleError {
  return new KubecycleError(
    "KUBE_API_UNREACHABLE",
    `${what}: the API server at ${server} did not answer: connect ECONNREFUSED`,
    { hint: "check the API server and the kubeconfig; `kubecycle status` shows what the agents see" },
  );
}

function conflict(what: string, message: string): KubecycleError {
  return new KubecycleError("CONFLICT", `${what}: HTTP 409: ${message}`, { httpStatus: 409 });
}

function notFound(what: string, message: string): KubecycleError {
  return new KubecycleError("KUBE_API_FAILED", `${what}: HTTP 404: ${message}`, { httpStatus: 404 });
}
