import type { V1LabelSelector, V1Pod, V1PodDisruptionBudget } from "@kubernetes/client-node";
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { KubecycleError } from "../../shared/index.js";
import type { ClusterApi, PodScope } from "./cluster.js";
import { isEvictable, isReady } from "./nodes.js";
import { PodCache } from "./watch.js";

/** What a drain may delete besides what controllers replace, as kubectl drain's flags say. */
export interface DrainPermissions {
  /** Evict pods that no controller replaces (kubectl's --force). */
  force: boolean;
  /** Evict pods whose emptyDir data goes with them (kubectl's --delete-emptydir-data). */
  deleteEmptyDirData: boolean;
}

/**
 * What a drain of these pods would delete without being told, as kubectl drain refuses it: pods no controller
 * replaces (bare pods: gone for good), unless `force`; pods with emptyDir volumes (their data goes), unless
 * `deleteEmptyDirData`. A refusal names the pods and the flag; undefined when the drain may go on.
 */
export function drainRefusal(
  node: string,
  pods: readonly V1Pod[],
  allow: DrainPermissions,
): KubecycleError | undefined {
  const evictable = pods.filter(isEvictable);
  const bare = allow.force ? [] : evictable.filter((p) => !controllerOf(p)).map(key);
  const emptyDir = allow.deleteEmptyDirData
    ? []
    : evictable.filter((p) => (p.spec?.volumes ?? []).some((v) => v.emptyDir !== undefined)).map(key);
  const why = [
    ...(bare.length
      ? [
          `${bare.join(", ")} ${bare.length > 1 ? "are" : "is"} not managed by a controller and would not come back (--force to evict anyway)`,
        ]
      : []),
    ...(emptyDir.length
      ? [
          `${emptyDir.join(", ")} ${emptyDir.length > 1 ? "use" : "uses"} emptyDir, whose data would be deleted (--delete-emptydir-data to evict anyway)`,
        ]
      : []),
  ];
  if (why.length === 0) return undefined;
  return new KubecycleError("DRAIN_REFUSED", `refusing to drain ${node}: ${why.join("; ")}`, {
    node,
    ...(bare.length ? { bare } : {}),
    ...(emptyDir.length ? { emptyDir } : {}),
    hint: "move or delete those pods yourself, or pass the flag named; nothing was changed",
  });
}

/** Options of {@link drainNode}. */
export interface DrainOptions extends DrainPermissions {
  /** How long evictions a PodDisruptionBudget refuses (HTTP 429) are retried. */
  drainTimeoutMs: number;
  /** After the evictions: how long the evicted pods may take to go and their replacements to run elsewhere. */
  replacementTimeoutMs: number;
  signal: AbortSignal;
  progress: (message: string) => void;
  /** Pause between eviction rounds. Default 3 s. */
  retryMs?: number;
  /** Longest pause between progress reports while waiting (the waiting itself follows watches). Default 1 s. */
  pollMs?: number;
  /** Lists a watch may fall back to after failures in a row (none ended by the server between), before the drain fails. Default 5. */
  maxRelists?: number;
}

/** What a drain did, for the journal. */
export interface DrainEvidence {
  evicted: string[];
  /** DaemonSet and mirror pods, which a drain leaves alone. */
  leftAlone: string[];
  /** Eviction rounds that met a PodDisruptionBudget. */
  blockedRounds: number;
  /** Pods evicted that no controller will replace (bare pods). */
  notReplaced: string[];
  drainMs: number;
}

const key = (p: V1Pod) => `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`;
const controllerOf = (p: V1Pod) =>
  p.metadata?.ownerReferences?.find((o) => o.controller) ?? p.metadata?.ownerReferences?.[0];
const isRunningReady = (p: V1Pod) =>
  p.status?.phase === "Running" &&
  p.metadata?.deletionTimestamp === undefined &&
  (p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false);

/**
 * Drains a node through the Eviction API, as `kubectl drain --ignore-daemonsets` does: DaemonSet and mirror pods
 * stay; bare pods and emptyDir data are refused unless allowed (see drainRefusal); an eviction a PodDisruptionBudget refuses (429) is retried until the drain
 * timeout, naming the budgets; any other error ends the drain. Then it waits until the evicted pods are gone and,
 * for each controller, as many of its pods run Ready on other nodes as ran Ready before — what the runbook checks
 * by eye.
 */
export async function drainNode(api: ClusterApi, node: string, opts: DrainOptions): Promise<DrainEvidence> {
  const t0 = Date.now();
  const retryMs = opts.retryMs ?? 3000;
  const pollMs = opts.pollMs ?? 1000;
  // What the drain waits on is followed by watches, never by listing the cluster again (issue 12): the node's pods
  // by field selector, and each controller's pods by its pods' labels in its namespace.
  const stop = new AbortController();
  const signal = AbortSignal.any([opts.signal, stop.signal]);
  // One abort listener per watch, up to a controller's each (MAX_OWNER_WATCHES): not a leak.
  setMaxListeners(MAX_OWNER_WATCHES + 10, signal);
  let wake: (() => void) | undefined;
  const cacheOpts = {
    signal,
    onChange: () => wake?.(),
    ...(opts.maxRelists !== undefined ? { maxRelists: opts.maxRelists } : {}),
    relistBackoffMs: Math.min(pollMs, 1000),
    onRelist: (err: unknown) => opts.progress(`watching pods again after: ${(err as Error)?.message ?? String(err)}`),
  };
  const caches: PodCache[] = [];
  try {
    const nodeCache = await PodCache.start(api, { node }, cacheOpts);
    caches.push(nodeCache);
    const onNode = nodeCache.pods;
    // Checked in preflight too; pods may have come since.
    const refusal = drainRefusal(node, onNode, opts);
    if (refusal) throw refusal;
    const toEvict = onNode.filter(isEvictable);
    // A NotReady node's kubelet does not report: its pods are not healthy (they count against their budgets) and
    // cannot be seen to end. kubectl drain waits on them the same way; kubecycle says why, and what to do.
    const nodeObject = await api.getNode(node);
    const unready = nodeObject !== undefined && !isReady(nodeObject);
    const whileUnready = unready
      ? `${node} is NotReady, so its pods are not healthy and cannot be seen to end until its kubelet is back: ` +
        `start it (\`kubecycle node start ${node}\`) and run the stop again`
      : undefined;
    if (whileUnready) opts.progress(whileUnready);
    const leftAlone = onNode.filter((p) => !isEvictable(p)).map(key);

    // How many Ready pods each controller has now, anywhere: the number that must run elsewhere afterwards.
    const { scopes, scopeOf } = replacementScopes(toEvict);
    const byScope = new Map(
      await Promise.all(
        [...scopes].map(async ([k, scope]) => {
          const c = await PodCache.start(api, scope, cacheOpts);
          caches.push(c);
          return [k, c] as const;
        }),
      ),
    );
    const controllerPods = (uid: string) =>
      byScope.get(scopeOf.get(uid) ?? "")?.pods.filter((q) => controllerOf(q)?.uid === uid) ?? [];
    const owners = new Map<string, number>();
    for (const p of toEvict) {
      const uid = controllerOf(p)?.uid;
      if (uid && !owners.has(uid)) owners.set(uid, controllerPods(uid).filter(isRunningReady).length);
    }
    const notReplaced = toEvict.filter((p) => !controllerOf(p)?.uid).map(key);
    // A watch refused by now (RBAC without the watch verb) fails the drain before anything is evicted. Best effort:
    // the node's watch has had a few round trips to answer; a later failure ends the wait below.
    const refused = caches.find((c) => c.failure)?.failure;
    if (refused) throw refused;

    let pending = toEvict;
    let blockedRounds = 0;
    const evictDeadline = Date.now() + opts.drainTimeoutMs;
    for (;;) {
      const results = await Promise.all(
        pending.map(async (p) => ({
          pod: p,
          r: await api.evictPod(p.metadata?.namespace ?? "", p.metadata?.name ?? ""),
        })),
      );
      const blocked = results.filter((x) => x.r.kind === "blocked");
      pending = blocked.map((x) => x.pod);
      if (pending.length === 0) break;
      blockedRounds++;
      const pdbs = matchingPdbs(await api.listPdbs(), pending);
      const names = pdbs.map((b) => `${b.metadata?.namespace}/${b.metadata?.name}`);
      opts.progress(
        `${pending.length} pod(s) blocked by PodDisruptionBudget ${names.join(", ") || "(unknown)"}; retrying`,
      );
      if (Date.now() + retryMs > evictDeadline) {
        const first = blocked[0]?.r;
        throw new KubecycleError(
          "DRAIN_BLOCKED_BY_PDB",
          `drain of ${node} timed out after ${Math.round(opts.drainTimeoutMs / 1000)} s: ${pending.map(key).join(", ")} ` +
            `blocked by PodDisruptionBudget ${names.join(", ") || "(none found)"}` +
            (first?.kind === "blocked" ? ` (${first.message})` : ""),
          {
            node,
            pods: pending.map(key),
            pdbs: names,
            hint:
              whileUnready ??
              `the node stays cordoned; wait for the budget to allow it or raise --drain-timeout, then run \`kubecycle node stop ${node}\` again, or \`kubecycle node start ${node}\` to undo`,
          },
        );
      }
      await sleep(retryMs, undefined, { signal: opts.signal });
    }

    const evictedUids = new Set(toEvict.map((p) => p.metadata?.uid));
    const waitDeadline = Date.now() + opts.replacementTimeoutMs;
    let said = "";
    let saidAt = 0;
    for (;;) {
      const failed = caches.find((c) => c.failure)?.failure;
      if (failed) throw failed;
      const lingering = nodeCache.pods.filter((p) => evictedUids.has(p.metadata?.uid));
      const short = [...owners].filter(
        ([uid, need]) =>
          controllerPods(uid).filter((p) => isRunningReady(p) && p.spec?.nodeName !== node).length < need,
      );
      if (lingering.length === 0 && short.length === 0) break;
      const msg = [
        lingering.length ? `${lingering.length} evicted pod(s) still terminating` : "",
        short.length ? `${short.length} controller(s) waiting for replacements to run elsewhere` : "",
      ]
        .filter(Boolean)
        .join("; ");
      if (msg !== said || Date.now() - saidAt >= pollMs) {
        opts.progress(msg);
        said = msg;
        saidAt = Date.now();
      }
      if (Date.now() >= waitDeadline) {
        throw new KubecycleError(
          "DRAIN_FAILED",
          `drain of ${node}: ${msg} after ${Math.round(opts.replacementTimeoutMs / 1000)} s`,
          {
            node,
            lingering: lingering.map(key),
            hint: whileUnready ?? "check that the other nodes are Ready and have room (`kubecycle status`)",
          },
        );
      }
      // Until a watch reports a change, the next progress report is due, or the deadline: no request meanwhile.
      await changeOr(Math.max(0, Math.min(pollMs, waitDeadline - Date.now())), opts.signal, (w) => (wake = w));
      wake = undefined;
    }
    return { evicted: toEvict.map(key), leftAlone, blockedRounds, notReplaced, drainMs: Date.now() - t0 };
  } finally {
    stop.abort();
    await Promise.all(caches.map((c) => c.stop()));
  }
}

/** Resolves when `arm`'s callback is called or after `ms`; rejects as a sleep does when `signal` aborts. */
async function changeOr(ms: number, signal: AbortSignal, arm: (wake: () => void) => void): Promise<void> {
  const done = new AbortController();
  const timer = sleep(ms, undefined, { signal: AbortSignal.any([signal, done.signal]) });
  try {
    await Promise.race([timer, new Promise<void>((resolve) => arm(resolve))]);
  } finally {
    done.abort();
    await timer.catch(() => undefined);
  }
}

/** Watches, keyed "namespace/selector": past this many, the controllers of a namespace share one. */
const MAX_OWNER_WATCHES = 100;
/** Labels that differ between the pods of one controller, which a selector for all of them must leave out. */
const PER_POD_LABELS = new Set([
  "statefulset.kubernetes.io/pod-name",
  "apps.kubernetes.io/pod-index",
  "controller-revision-hash",
  "batch.kubernetes.io/job-completion-index",
]);

/**
 * Where each controller's pods are watched: its namespace, narrowed by the labels its pods on the node all share
 * (a controller's pods carry its template's labels); controllers with the same scope share a watch. `scopes` by key,
 * and each controller's (by uid) key.
 */
export function replacementScopes(pods: readonly V1Pod[]): {
  scopes: Map<string, PodScope>;
  scopeOf: Map<string, string>;
} {
  const shared = new Map<string, { namespace: string; labels: Record<string, string> }>();
  for (const p of pods) {
    const uid = controllerOf(p)?.uid;
    if (!uid) continue;
    const labels = Object.fromEntries(Object.entries(p.metadata?.labels ?? {}).filter(([k]) => !PER_POD_LABELS.has(k)));
    const had = shared.get(uid);
    if (!had) shared.set(uid, { namespace: p.metadata?.namespace ?? "", labels });
    else for (const k of Object.keys(had.labels)) if (had.labels[k] !== labels[k]) delete had.labels[k];
  }
  const keyOf = (s: { namespace: string; labels: Record<string, string> }, byNamespace: boolean) =>
    byNamespace
      ? s.namespace
      : `${s.namespace}/${Object.entries(s.labels)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => `${k}=${v}`)
          .join(",")}`;
  const distinct = new Set([...shared.values()].map((s) => keyOf(s, false)));
  const byNamespace = distinct.size > MAX_OWNER_WATCHES;
  const scopes = new Map<string, PodScope>();
  const scopeOf = new Map<string, string>();
  for (const [uid, s] of shared) {
    const k = keyOf(s, byNamespace);
    scopeOf.set(uid, k);
    if (!scopes.has(k)) {
      scopes.set(k, {
        namespace: s.namespace,
        ...(!byNamespace && Object.keys(s.labels).length ? { labels: s.labels } : {}),
      });
    }
  }
  return { scopes, scopeOf };
}

/** The budgets in the pods' namespaces whose selector matches any of them. */
export function matchingPdbs(pdbs: V1PodDisruptionBudget[], pods: V1Pod[]): V1PodDisruptionBudget[] {
  return pdbs.filter((b) =>
    pods.some(
      (p) => p.metadata?.namespace === b.metadata?.namespace && selects(b.spec?.selector, p.metadata?.labels ?? {}),
    ),
  );
}

/** Label selector semantics (matchLabels and matchExpressions); an empty selector matches everything. */
export function selects(selector: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const ok =
      e.operator === "In"
        ? has && (e.values ?? []).includes(value ?? "")
        : e.operator === "NotIn"
          ? !has || !(e.values ?? []).includes(value ?? "")
          : e.operator === "Exists"
            ? has
            : e.operator === "DoesNotExist"
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}
