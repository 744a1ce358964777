import {
  ApiException,
  CertificatesV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PolicyV1Api,
  setHeaderOptions,
  type Cluster,
  type Context,
  type User,
  type V1CertificateSigningRequest,
  type V1Lease,
  type V1Node,
  type V1Pod,
  type V1PodDisruptionBudget,
  type V1Status,
  Watch,
} from "@kubernetes/client-node";
import https from "node:https";
import { delimiter } from "node:path";
import { KubecycleError } from "../../shared/index.js";

/** What an eviction request came back with. */
export type EvictionResult =
  | { kind: "evicted" }
  | { kind: "gone" }
  /** HTTP 429: a PodDisruptionBudget forbids it now; retry later. */
  | { kind: "blocked"; message: string };

/**
 * Which pods a list or a watch covers: one node's (field selector spec.nodeName), and/or one namespace's, narrowed
 * by an equality label selector. Empty: every pod in the cluster.
 */
export interface PodScope {
  node?: string;
  namespace?: string;
  labels?: Record<string, string>;
}

/** A list of pods with the resourceVersion to watch it from. */
export interface PodList {
  pods: V1Pod[];
  resourceVersion: string;
}

/**
 * One change a pod watch reports, named as the API's watch events are. A BOOKMARK changes nothing: its pod carries
 * only the resourceVersion the watch has reached, to resume from.
 */
export interface PodEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";
  pod: V1Pod;
}

/**
 * A watch's timeoutSeconds: 5 to 10 minutes, spread as client-go's reflector spreads them (its minWatchTimeout of
 * 5 min, times 1 + a random fraction), so that watches resumed together do not end together again.
 */
export function watchTimeoutSeconds(random = Math.random): number {
  return Math.floor(300 * (1 + random()));
}

/**
 * The part of the Kubernetes API kubecycle uses, behind a small interface so the procedures read without the
 * transport. The shipped implementation is {@link KubeCluster} on @kubernetes/client-node.
 */
export interface ClusterApi {
  /** The API server's URL, for messages. */
  readonly server: string;
  getNode(name: string): Promise<V1Node | undefined>;
  listNodes(): Promise<V1Node[]>;
  /** JSON merge patch of a node's spec.unschedulable and metadata.annotations (null removes one). */
  patchNode(
    name: string,
    patch: { unschedulable?: boolean; annotations?: Record<string, string | null> },
  ): Promise<V1Node>;
  listPods(scope?: PodScope): Promise<V1Pod[]>;
  /** The pods in scope and the list's resourceVersion, to watch from. */
  listPodList(scope: PodScope): Promise<PodList>;
  /**
   * The changes to the pods in scope after `resourceVersion`, to `onEvent` in order. Resolves when `signal` aborts
   * or the server ends the watch (watch again from the last event's resourceVersion); rejects with a KubecycleError,
   * httpStatus 410 when `resourceVersion` is too old to watch from (list again).
   */
  watchPods(
    scope: PodScope,
    resourceVersion: string,
    onEvent: (e: PodEvent) => void,
    signal: AbortSignal,
  ): Promise<void>;
  evictPod(namespace: string, name: string): Promise<EvictionResult>;
  listPdbs(): Promise<V1PodDisruptionBudget[]>;
  getLease(namespace: string, name: string): Promise<V1Lease | undefined>;
  createLease(lease: V1Lease): Promise<V1Lease>;
  /** Replaces a lease; the body's resourceVersion makes it fail with CONFLICT when someone else changed it. */
  replaceLease(lease: V1Lease): Promise<V1Lease>;
  deleteLease(namespace: string, name: string, resourceVersion?: string): Promise<void>;
  /** Every CertificateSigningRequest (certificates.k8s.io/v1). */
  listCsrs(): Promise<V1CertificateSigningRequest[]>;
  /** Approves a CSR through its approval subresource, with kubecycle's reason and `message`. */
  approveCsr(csr: V1CertificateSigningRequest, message: string): Promise<V1CertificateSigningRequest>;
  /** GET /readyz?verbose: an API server's own readiness; `host` asks that host's apiserver (default: the current one). */
  readyz(host?: string): Promise<{ ok: boolean; body: string }>;
  /**
   * Other API servers to fail over to when the current one stops answering, e.g. every control-plane node's
   * address: stopping the master a kubeconfig points at must not blind the procedure stopping it.
   */
  addFallbackHosts(hosts: string[]): void;
}

/** Options to reach the API. */
export interface KubeClusterOptions {
  /** kubeconfig files, merged in order as kubectl merges $KUBECONFIG. */
  kubeconfig: readonly string[];
  context?: string | undefined;
  /** Told each time a request fails over to the next API server, for the log. */
  onFailover?: FailoverListener;
}

/** `from` did not answer `what` (with `err`); requests now go to `to`. */
export type FailoverListener = (e: { from: string; to: string; what: string; err: unknown }) => void;

/**
 * Reads kubeconfig files as kubectl reads $KUBECONFIG: in order, the first file to define a cluster, user or context
 * name wins (later definitions of the same name are ignored), and so does the first current-context set.
 */
export function loadKubeconfig(files: readonly string[]): KubeConfig {
  const merged = { clusters: [] as Cluster[], users: [] as User[], contexts: [] as Context[], currentContext: "" };
  for (const file of files) {
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(file);
    } catch (err) {
      // kubectl skips a listed file that does not exist; one that exists and does not parse is an error.
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && files.length > 1) continue;
      throw new KubecycleError(
        "CONFIG_INVALID",
        `cannot read kubeconfig ${file}: ${(err as Error).message}`,
        { hint: "set kubeconfig in the kubecycle config, pass --kubeconfig, or set KUBECONFIG" },
        { cause: err },
      );
    }
    const add = <T extends { name: string }>(into: T[], from: readonly T[]) => {
      for (const x of from) if (!into.some((y) => y.name === x.name)) into.push(x);
    };
    add(merged.clusters, kc.clusters);
    add(merged.users, kc.users);
    add(merged.contexts, kc.contexts);
    merged.currentContext ||= kc.currentContext;
  }
  const kc = new KubeConfig();
  kc.loadFromOptions(merged);
  return kc;
}

/** Loads kubeconfigs as kubectl does (files merged, context) and returns the API behind {@link ClusterApi}. */
export function connectCluster(opts: KubeClusterOptions): KubeCluster {
  const kc = loadKubeconfig(opts.kubeconfig);
  const where = opts.kubeconfig.join(delimiter);
  if (opts.context) {
    if (!kc.getContexts().some((c) => c.name === opts.context)) {
      throw new KubecycleError("CONFIG_INVALID", `kubeconfig ${where} has no context "${opts.context}"`, {
        hint: `use one of: ${kc
          .getContexts()
          .map((c) => c.name)
          .join(", ")}`,
      });
    }
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new KubecycleError("CONFIG_INVALID", `kubeconfig ${where} names no current cluster`, {
      hint: "pass --context NAME, or set current-context in the kubeconfig",
    });
  }
  return new KubeCluster(kc, opts.onFailover);
}

const MERGE_PATCH = setHeaderOptions("Content-Type", "application/merge-patch+json");

/** {@link ClusterApi} on @kubernetes/client-node. Every failure becomes a KubecycleError naming what was asked. */
export class KubeCluster implements ClusterApi {
  #kc: KubeConfig;
  #core: CoreV1Api;
  #policy: PolicyV1Api;
  #coordination: CoordinationV1Api;
  #certificates: CertificatesV1Api;
  /** Servers to try, the kubeconfig's first; the current one is servers[0]. */
  #servers: string[];
  readonly #onFailover: FailoverListener | undefined;

  constructor(kc: KubeConfig, onFailover?: FailoverListener) {
    this.#kc = kc;
    this.#onFailover = onFailover;
    this.#servers = [kc.getCurrentCluster()?.server ?? "(no cluster in kubeconfig)"];
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#policy = kc.makeApiClient(PolicyV1Api);
    this.#coordination = kc.makeApiClient(CoordinationV1Api);
    this.#certificates = kc.makeApiClient(CertificatesV1Api);
  }

  get server(): string {
    return this.#servers[0] ?? "";
  }

  addFallbackHosts(hosts: string[]): void {
    const current = new URL(this.server);
    for (const host of hosts) {
      const url = new URL(current.href);
      url.hostname = host.includes(":") ? `[${host}]` : host;
      const server = url.href.replace(/\/$/, "");
      if (!this.#servers.includes(server)) this.#servers.push(server);
    }
  }

  /** Moves to the next server: a copy of the kubeconfig whose current cluster points there. */
  #rotate(): void {
    this.#servers.push(this.#servers.shift() as string);
    const next = new KubeConfig();
    const cluster = this.#kc.getCurrentCluster();
    next.loadFromOptions({
      clusters: this.#kc.clusters.map((c) => (c.name === cluster?.name ? { ...c, server: this.server } : c)),
      users: this.#kc.users,
      contexts: this.#kc.contexts,
      currentContext: this.#kc.currentContext,
    });
    this.#kc = next;
    this.#core = next.makeApiClient(CoreV1Api);
    this.#policy = next.makeApiClient(PolicyV1Api);
    this.#coordination = next.makeApiClient(CoordinationV1Api);
    this.#certificates = next.makeApiClient(CertificatesV1Api);
  }

  async getNode(name: string): Promise<V1Node | undefined> {
    return this.#orUndefined(`get node ${name}`, () => this.#core.readNode({ name }));
  }

  async listNodes(): Promise<V1Node[]> {
    return (await this.#call("list nodes", () => this.#core.listNode())).items;
  }

  patchNode(
    name: string,
    patch: { unschedulable?: boolean; annotations?: Record<string, string | null> },
  ): Promise<V1Node> {
    const body: Record<string, unknown> = {};
    if (patch.annotations) body.metadata = { annotations: patch.annotations };
    if (patch.unschedulable !== undefined) body.spec = { unschedulable: patch.unschedulable };
    return this.#call(`patch node ${name}`, () => this.#core.patchNode({ name, body }, MERGE_PATCH));
  }

  async listPods(scope: PodScope = {}): Promise<V1Pod[]> {
    return (await this.listPodList(scope)).pods;
  }

  async listPodList(scope: PodScope): Promise<PodList> {
    const q = podQuery(scope);
    const list = await this.#call(`list pods${describeScope(scope)}`, () =>
      scope.namespace
        ? this.#core.listNamespacedPod({ namespace: scope.namespace, ...q })
        : this.#core.listPodForAllNamespaces(q),
    );
    return { pods: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
  }

  watchPods(
    scope: PodScope,
    resourceVersion: string,
    onEvent: (e: PodEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const what = `watch pods${describeScope(scope)}`;
    const path = scope.namespace ? `/api/v1/namespaces/${encodeURIComponent(scope.namespace)}/pods` : "/api/v1/pods";
    return new Promise((resolve, reject) => {
      let controller: AbortController | undefined;
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        controller?.abort();
        if (err) reject(err);
        else resolve();
      };
      const onAbort = () => finish();
      if (signal.aborted) return resolve();
      signal.addEventListener("abort", onAbort, { once: true });
      new Watch(this.#kc)
        .watch(
          path,
          // Bookmarks keep the version to resume from current while nothing in scope changes: without them, a quiet
          // watch resumed after its timeout may find its version compacted away (410) and have to list again.
          { ...podQuery(scope), resourceVersion, allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds() },
          (type: string, obj: unknown) => {
            if (type === "ADDED" || type === "MODIFIED" || type === "DELETED" || type === "BOOKMARK")
              onEvent({ type, pod: obj as V1Pod });
            else if (type === "ERROR") {
              // A watch's failure comes as an event: 410 Expired when resourceVersion is older than the server keeps.
              const st = obj as V1Status;
              const refused = st.code === 403;
              finish(
                new KubecycleError(
                  refused ? "PERMISSION_DENIED" : "KUBE_API_FAILED",
                  `${what}: HTTP ${st.code ?? "?"}: ${st.message ?? st.reason ?? "watch error"}`,
                  { httpStatus: st.code, ...(refused ? { hint: WATCH_GRANT_HINT } : {}) },
                ),
              );
            }
          },
          (err: unknown) => finish(err ? this.#watchError(what, err) : undefined),
        )
        .then(
          (c) => {
            controller = c;
            if (settled) c.abort();
          },
          (err: unknown) => finish(this.#watchError(what, err)),
        );
    });
  }

  async evictPod(namespace: string, name: string): Promise<EvictionResult> {
    try {
      await this.#call(`evict pod ${namespace}/${name}`, () =>
        this.#core.createNamespacedPodEviction({
          name,
          namespace,
          body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace } },
        }),
      );
      return { kind: "evicted" };
    } catch (err) {
      const status = err instanceof KubecycleError ? err.fields.httpStatus : undefined;
      if (status === 404) return { kind: "gone" };
      if (status === 429) return { kind: "blocked", message: (err as KubecycleError).message };
      throw err;
    }
  }

  async listPdbs(): Promise<V1PodDisruptionBudget[]> {
    return (await this.#call("list PodDisruptionBudgets", () => this.#policy.listPodDisruptionBudgetForAllNamespaces()))
      .items;
  }

  getLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    return this.#orUndefined(`get lease ${namespace}/${name}`, () =>
      this.#coordination.readNamespacedLease({ name, namespace }),
    );
  }

  createLease(lease: V1Lease): Promise<V1Lease> {
    const namespace = lease.metadata?.namespace ?? "kube-system";
    return this.#call(`create lease ${namespace}/${lease.metadata?.name}`, () =>
      this.#coordination.createNamespacedLease({ namespace, body: lease }),
    );
  }

  replaceLease(lease: V1Lease): Promise<V1Lease> {
    const namespace = lease.metadata?.namespace ?? "kube-system";
    const name = lease.metadata?.name ?? "";
    return this.#call(`update lease ${namespace}/${name}`, () =>
      this.#coordination.replaceNamespacedLease({ name, namespace, body: lease }),
    );
  }

  async deleteLease(namespace: string, name: string, resourceVersion?: string): Promise<void> {
    await this.#orUndefined(`delete lease ${namespace}/${name}`, () =>
      this.#coordination.deleteNamespacedLease({
        name,
        namespace,
        ...(resourceVersion ? { body: { preconditions: { resourceVersion } } } : {}),
      }),
    );
  }

  async listCsrs(): Promise<V1CertificateSigningRequest[]> {
    return (
      await this.#call("list certificatesigningrequests", () => this.#certificates.listCertificateSigningRequest())
    ).items;
  }

  approveCsr(csr: V1CertificateSigningRequest, message: string): Promise<V1CertificateSigningRequest> {
    const name = csr.metadata?.name ?? "";
    // The approval subresource takes the whole object back with the condition added, as `kubectl certificate
    // approve` sends it; its resourceVersion makes a concurrent change a conflict instead of a lost update.
    const body: V1CertificateSigningRequest = {
      ...csr,
      status: {
        ...csr.status,
        conditions: [
          ...(csr.status?.conditions ?? []),
          {
            type: "Approved",
            status: "True",
            reason: "KubecycleApprove",
            message,
            lastUpdateTime: new Date(),
          },
        ],
      },
    };
    return this.#call(`approve certificatesigningrequest ${name}`, () =>
      this.#certificates.replaceCertificateSigningRequestApproval({ name, body }),
    );
  }

  async readyz(host?: string): Promise<{ ok: boolean; body: string }> {
    const url = new URL("/readyz?verbose", this.server);
    if (host) url.hostname = host.includes(":") ? `[${host}]` : host;
    // The kubeconfig's CA and client certificate go on the request itself (global fetch would drop them).
    const opts: https.RequestOptions = { method: "GET", timeout: 10_000 };
    await this.#kc.applyToHTTPSOptions(opts);
    return new Promise((resolve) => {
      const req = https.request(url, opts, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ ok: res.statusCode === 200, body: body.slice(0, 4000) }));
      });
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", (err) => resolve({ ok: false, body: err.message }));
      req.end();
    });
  }

  /**
   * Runs a request, failing over to the next server while the current one does not answer (a connection error,
   * or 5xx from an apiserver that lost its etcd). Each server is tried once per request.
   */
  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let tried = 1; ; tried++) {
      try {
        return await fn();
      } catch (err) {
        const down = !(err instanceof ApiException) || err.code >= 500;
        if (!down || tried >= this.#servers.length) throw this.#error(what, err);
        const from = this.server;
        this.#rotate();
        this.#onFailover?.({ from, to: this.server, what, err });
      }
    }
  }

  /** A watch's failure to start or to go on: the HTTP status it came back with, or the server not answering. */
  #watchError(what: string, err: unknown): KubecycleError {
    const status = (err as { statusCode?: unknown }).statusCode;
    if (typeof status === "number") {
      const refused = status === 403 || status === 401;
      return new KubecycleError(
        refused ? "PERMISSION_DENIED" : "KUBE_API_FAILED",
        `${what}: HTTP ${status}: ${(err as Error).message}`,
        { httpStatus: status, ...(refused ? { hint: WATCH_GRANT_HINT } : {}) },
        { cause: err },
      );
    }
    return this.#error(what, err);
  }

  async #orUndefined<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.#call(what, fn);
    } catch (err) {
      if (err instanceof KubecycleError && err.fields.httpStatus === 404) return undefined;
      throw err;
    }
  }

  #error(what: string, err: unknown): KubecycleError {
    if (err instanceof ApiException) {
      const code =
        err.code === 409 ? "CONFLICT" : err.code === 403 || err.code === 401 ? "PERMISSION_DENIED" : "KUBE_API_FAILED";
      return new KubecycleError(
        code,
        `${what}: HTTP ${err.code}: ${statusMessage(err)}`,
        { httpStatus: err.code },
        { cause: err },
      );
    }
    return new KubecycleError(
      "KUBE_API_UNREACHABLE",
      `${what}: the API server at ${this.server} did not answer: ${(err as Error)?.message ?? String(err)}`,
      { hint: "check the API server and the kubeconfig; `kubecycle status` shows what the agents see" },
      { cause: err },
    );
  }
}

/** Drains before the watches only listed pods: a cluster may still have a ClusterRole without the watch verb. */
const WATCH_GRANT_HINT =
  "the drain watches pods: give kubecycle's ClusterRole the watch verb on pods (kubectl apply -f deploy/rbac.yaml)";

/** A scope's selectors as query parameters. */
function podQuery(scope: PodScope): { fieldSelector?: string; labelSelector?: string } {
  const labels = Object.entries(scope.labels ?? {});
  return {
    ...(scope.node ? { fieldSelector: `spec.nodeName=${scope.node}` } : {}),
    ...(labels.length ? { labelSelector: labels.map(([k, v]) => `${k}=${v}`).join(",") } : {}),
  };
}

/** A scope in words, for messages: " on w1", " in shop (app=web)". */
export function describeScope(scope: PodScope): string {
  const labels = Object.entries(scope.labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return (
    (scope.node ? ` on ${scope.node}` : "") +
    (scope.namespace ? ` in ${scope.namespace}` : "") +
    (labels ? ` (${labels})` : "")
  );
}

/** The message of a Kubernetes Status body, or the raw body. */
function statusMessage(err: ApiException<unknown>): string {
  let body: unknown = err.body;
  if (typeof err.body === "string") {
    try {
      body = JSON.parse(err.body);
    } catch {
      return err.body.slice(0, 500);
    }
  }
  const status = (body ?? {}) as { message?: string; details?: { causes?: Array<{ message?: string }> } };
  // An eviction's 429 names the blocking budget only in its causes.
  const causes = (status.details?.causes ?? []).map((c) => c.message).filter(Boolean);
  const message = status.message ?? err.message;
  return (causes.length ? `${message} (${causes.join("; ")})` : message).slice(0, 800);
}
