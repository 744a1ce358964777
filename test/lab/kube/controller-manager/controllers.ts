// The controllers of the kube-controller-manager stand-in, each a level-triggered pass over a snapshot of the
// cluster taken at the start of a round (the real ones use informers; a full re-list every half second is the
// same thing at lab scale): node lifecycle (NotReady after the grace period, taints, pods marked not ready),
// pod GC of orphans, ReplicaSet, DaemonSet, Deployment status and the disruption (PDB status) controller.
import type { Log } from "../lib/log.js";
import { fromLabelSelector, matchesLabels, tolerates } from "../lib/selectors.js";
import {
  controllerOf,
  findCondition,
  isPodActive,
  isPodReady,
  nowTime,
  type Condition,
  type DaemonSetObj,
  type DeploymentObj,
  type KObject,
  type LeaseObj,
  type NodeObj,
  type PdbObj,
  type PodObj,
  type PodTemplate,
  type ReplicaSetObj,
  type Taint,
  type Toleration,
} from "../lib/types.js";
import { StatusError } from "../apiserver/errors.js";
import { deletePod, prepareForCreate, prepareForUpdate } from "../apiserver/registry.js";
import { resourceOf, type ResourceInfo } from "../apiserver/resources.js";
import type { Store } from "../apiserver/store.js";

const NODES = resourceOf("Node");
const PODS = resourceOf("Pod");
const LEASES = resourceOf("Lease");
const RS = resourceOf("ReplicaSet");
const DS = resourceOf("DaemonSet");
const DEPLOY = resourceOf("Deployment");
const PDB = resourceOf("PodDisruptionBudget");

/** Settings and memory of the controllers. */
export interface ControllerContext {
  store: Store;
  log: Log;
  /** --node-monitor-grace-period: NotReady after this long without a heartbeat. */
  graceMs: number;
  /** Orphaned pods (their node is gone) are deleted after this long. */
  podGcMs: number;
  orphansSeen: Map<string, number>;
}

/** One cluster snapshot. */
export interface Snapshot {
  nodes: NodeObj[];
  pods: PodObj[];
  leases: LeaseObj[];
  replicaSets: ReplicaSetObj[];
  daemonSets: DaemonSetObj[];
  deployments: DeploymentObj[];
  pdbs: PdbObj[];
}

export async function snapshot(store: Store): Promise<Snapshot> {
  const [nodes, pods, leases, replicaSets, daemonSets, deployments, pdbs] = await Promise.all([
    store.list(NODES, undefined),
    store.list(PODS, undefined),
    store.list(LEASES, "kube-node-lease"),
    store.list(RS, undefined),
    store.list(DS, undefined),
    store.list(DEPLOY, undefined),
    store.list(PDB, undefined),
  ]);
  return {
    nodes: nodes.items as NodeObj[],
    pods: pods.items as PodObj[],
    leases: leases.items as LeaseObj[],
    replicaSets: replicaSets.items as ReplicaSetObj[],
    daemonSets: daemonSets.items as DaemonSetObj[],
    deployments: deployments.items as DeploymentObj[],
    pdbs: pdbs.items as PdbObj[],
  };
}

/** Writes `status` through the status subresource with a compare-and-swap; a conflict is left to the next round. */
async function writeStatus(ctx: ControllerContext, res: ResourceInfo, obj: KObject, status: unknown): Promise<void> {
  if (JSON.stringify(stripTimes(obj.status)) === JSON.stringify(stripTimes(status))) return;
  const next = prepareForUpdate(res, obj, { ...obj, status }, "status");
  await tolerateConflict(ctx.store.update(res, next, Number(obj.metadata.resourceVersion)));
}

async function writeSpec(ctx: ControllerContext, res: ResourceInfo, obj: KObject, spec: unknown): Promise<void> {
  const next = prepareForUpdate(res, obj, { ...obj, spec }, undefined);
  await tolerateConflict(ctx.store.update(res, next, Number(obj.metadata.resourceVersion)));
}

async function tolerateConflict(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (err instanceof StatusError && (err.code === 409 || err.code === 404)) return;
    throw err;
  }
}

function stripTimes(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v ?? null, (k, x: unknown) =>
      k === "lastTransitionTime" || k === "lastHeartbeatTime" ? undefined : x,
    ),
  );
}

const key = (o: KObject): string => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;

// ---------------------------------------------------------------------------------------------------- node lifecycle

const UNREACHABLE = "node.kubernetes.io/unreachable";
const NOT_READY = "node.kubernetes.io/not-ready";
const UNSCHEDULABLE = "node.kubernetes.io/unschedulable";

/** NotReady (Unknown) after the grace period without heartbeat, like the node-lifecycle controller; taints follow. */
export async function nodeLifecycle(ctx: ControllerContext, s: Snapshot): Promise<void> {
  const now = Date.now();
  for (const node of s.nodes) {
    const name = node.metadata.name ?? "";
    const lease = s.leases.find((l) => l.metadata.name === name);
    const conds = node.status?.conditions ?? [];
    const ready = findCondition(conds, "Ready");
    const beats = [lease?.spec?.renewTime, ready?.lastHeartbeatTime, node.metadata.creationTimestamp]
      .map((t) => (t ? Date.parse(t) : NaN))
      .filter((t) => Number.isFinite(t));
    const last = Math.max(...beats);
    let readyStatus = ready?.status ?? "Unknown";
    if (now - last > ctx.graceMs && (ready?.status ?? "") !== "Unknown") {
      const ts = nowTime();
      const types = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];
      const next: Condition[] = conds.filter((c) => !types.includes(c.type));
      for (const type of types) {
        const c = findCondition(conds, type);
        next.push({
          type,
          status: "Unknown",
          reason: c ? "NodeStatusUnknown" : "NodeStatusNeverUpdated",
          message: c ? "Kubelet stopped posting node status." : "Kubelet never posted node status.",
          ...(c?.lastHeartbeatTime ? { lastHeartbeatTime: c.lastHeartbeatTime } : {}),
          lastTransitionTime: ts,
        });
      }
      ctx.log.info("node stopped posting status", { node: name, silentMs: now - last });
      await writeStatus(ctx, NODES, node, { ...node.status, conditions: next });
      readyStatus = "Unknown";
      node.metadata.resourceVersion = (await ctx.store.get(NODES, undefined, name)).metadata.resourceVersion;
    }
    if (readyStatus === "Unknown") await markPodsNotReady(ctx, s, name);

    const want: Taint[] = [];
    const ts = nowTime();
    if (readyStatus === "Unknown")
      want.push({ key: UNREACHABLE, effect: "NoSchedule" }, { key: UNREACHABLE, effect: "NoExecute", timeAdded: ts });
    else if (readyStatus === "False")
      want.push({ key: NOT_READY, effect: "NoSchedule" }, { key: NOT_READY, effect: "NoExecute", timeAdded: ts });
    if (node.spec?.unschedulable) want.push({ key: UNSCHEDULABLE, effect: "NoSchedule", timeAdded: ts });
    const cur = node.spec?.taints ?? [];
    const managed = [UNREACHABLE, NOT_READY, UNSCHEDULABLE];
    const same = (a: Taint, b: Taint): boolean => a.key === b.key && a.effect === b.effect;
    const next = [...cur.filter((t) => !managed.includes(t.key)), ...want.map((w) => cur.find((c) => same(c, w)) ?? w)];
    const sig = (ts2: Taint[]): string => JSON.stringify(ts2.map((t) => `${t.key}:${t.effect}`).sort());
    if (sig(next) !== sig(cur)) {
      const fresh = (await ctx.store.get(NODES, undefined, name)) as NodeObj;
      const spec = { ...fresh.spec };
      if (next.length > 0) spec.taints = next;
      else delete spec.taints;
      await writeSpec(ctx, NODES, fresh, spec);
    }
  }
}

/** The controller's MarkPodsNotReady: pods on an unreachable node are no longer Ready. */
async function markPodsNotReady(ctx: ControllerContext, s: Snapshot, node: string): Promise<void> {
  for (const pod of s.pods) {
    if (pod.spec.nodeName !== node || !isPodReady(pod)) continue;
    const conds = (pod.status?.conditions ?? []).map((c) =>
      c.type === "Ready" ? { ...c, status: "False" as const, lastTransitionTime: nowTime() } : c,
    );
    await writeStatus(ctx, PODS, pod, { ...pod.status, conditions: conds });
  }
}

// ---------------------------------------------------------------------------------------------------- pod GC

/** Deletes pods bound to a node that no longer exists (PodGC's orphan pass). */
export async function podGc(ctx: ControllerContext, s: Snapshot): Promise<void> {
  const nodes = new Set(s.nodes.map((n) => n.metadata.name));
  const now = Date.now();
  const seen = new Set<string>();
  for (const pod of s.pods) {
    const n = pod.spec.nodeName;
    if (!n || nodes.has(n)) continue;
    const k = pod.metadata.uid ?? key(pod);
    seen.add(k);
    const first = ctx.orphansSeen.get(k) ?? now;
    ctx.orphansSeen.set(k, first);
    if (now - first >= ctx.podGcMs) {
      ctx.log.info("deleting orphaned pod", { pod: key(pod), node: n });
      await tolerateConflict(ctx.store.remove(PODS, pod.metadata.namespace, pod.metadata.name ?? ""));
    }
  }
  for (const k of ctx.orphansSeen.keys()) if (!seen.has(k)) ctx.orphansSeen.delete(k);
}

// ---------------------------------------------------------------------------------------------------- workloads

async function createPod(
  ctx: ControllerContext,
  owner: KObject,
  ownerKind: string,
  template: PodTemplate,
  extra: Partial<PodObj["spec"]> = {},
): Promise<void> {
  const pod: PodObj = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${owner.metadata.name}-`,
      namespace: owner.metadata.namespace,
      labels: { ...template.metadata?.labels },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: ownerKind,
          name: owner.metadata.name ?? "",
          uid: owner.metadata.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { ...structuredClone(template.spec), ...extra },
  };
  const created = await ctx.store.create(PODS, await prepareForCreate(ctx.store, PODS, pod, owner.metadata.namespace));
  ctx.log.info("created pod", {
    owner: `${ownerKind}/${key(owner)}`,
    pod: created.metadata.name,
    node: extra.nodeName,
  });
}

async function deletePodNow(ctx: ControllerContext, pod: PodObj, why: string): Promise<void> {
  ctx.log.info("deleting pod", { pod: key(pod), why });
  await tolerateConflict(deletePod(ctx.store, pod.metadata.namespace ?? "", pod.metadata.name ?? "", {}));
}

const ownedBy = (pods: PodObj[], owner: KObject): PodObj[] =>
  pods.filter((p) => controllerOf(p)?.uid === owner.metadata.uid);

/** ReplicaSet controller: keeps `replicas` active pods; new ones are Pending until the scheduler binds them. */
export async function replicaSets(ctx: ControllerContext, s: Snapshot): Promise<void> {
  for (const rs of s.replicaSets) {
    if (rs.metadata.deletionTimestamp) continue;
    const owned = ownedBy(s.pods, rs);
    const active = owned.filter(isPodActive);
    const want = rs.spec.replicas ?? 1;
    for (let i = active.length; i < Math.min(want, active.length + 10); i++)
      await createPod(ctx, rs, "ReplicaSet", rs.spec.template);
    if (active.length > want) {
      const rank = (p: PodObj): number => (!p.spec.nodeName ? 0 : !isPodReady(p) ? 1 : 2);
      const victims = [...active].sort(
        (a, b) =>
          rank(a) - rank(b) || (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""),
      );
      for (const p of victims.slice(0, active.length - want)) await deletePodNow(ctx, p, "scale down");
    }
    const sel = fromLabelSelector(rs.spec.selector);
    const ready = active.filter(isPodReady).length;
    await writeStatus(ctx, RS, rs, {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => matchesLabels(sel, p.metadata.labels)).length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation ?? 1,
    });
  }
}

/** Tolerations the DaemonSet controller adds to its pods. */
const DS_TOLERATIONS: Toleration[] = [
  { key: NOT_READY, operator: "Exists", effect: "NoExecute" },
  { key: UNREACHABLE, operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: UNSCHEDULABLE, operator: "Exists", effect: "NoSchedule" },
];

/** DaemonSet controller: one pod per eligible node, created with spec.nodeName set. */
export async function daemonSets(ctx: ControllerContext, s: Snapshot): Promise<void> {
  for (const ds of s.daemonSets) {
    if (ds.metadata.deletionTimestamp) continue;
    const owned = ownedBy(s.pods, ds);
    const tol = [...(ds.spec.template.spec.tolerations ?? []), ...DS_TOLERATIONS];
    let desired = 0;
    let current = 0;
    let ready = 0;
    let misscheduled = 0;
    for (const node of s.nodes) {
      const name = node.metadata.name ?? "";
      const sel = ds.spec.template.spec.nodeSelector ?? {};
      const eligible =
        Object.entries(sel).every(([k, v]) => node.metadata.labels?.[k] === v) &&
        (node.spec?.taints ?? []).every((t) => t.effect === "PreferNoSchedule" || tolerates(tol, t));
      const onNode = owned.filter((p) => p.spec.nodeName === name);
      const active = onNode.filter(isPodActive);
      for (const p of onNode.filter((x) => x.status?.phase === "Failed" && !x.metadata.deletionTimestamp))
        await deletePodNow(ctx, p, "failed daemon pod");
      if (eligible) {
        desired++;
        if (onNode.length === 0)
          await createPod(ctx, ds, "DaemonSet", ds.spec.template, { nodeName: name, tolerations: tol });
        for (const p of active.slice(1)) await deletePodNow(ctx, p, "duplicate daemon pod");
        if (active.length > 0) current++;
        if (active.some(isPodReady)) ready++;
      } else {
        if (active.length > 0) misscheduled++;
        for (const p of active) await deletePodNow(ctx, p, "node no longer eligible");
      }
    }
    await writeStatus(ctx, DS, ds, {
      currentNumberScheduled: current,
      desiredNumberScheduled: desired,
      numberMisscheduled: misscheduled,
      numberReady: ready,
      numberAvailable: ready,
      numberUnavailable: desired - ready,
      updatedNumberScheduled: current,
      observedGeneration: ds.metadata.generation ?? 1,
    });
  }
}

/** Deployment status, summed over its ReplicaSets (the lab does not roll out new ReplicaSets). */
export async function deployments(ctx: ControllerContext, s: Snapshot): Promise<void> {
  for (const d of s.deployments) {
    const owned = s.replicaSets.filter((rs) => controllerOf(rs)?.uid === d.metadata.uid);
    const sum = (f: string): number => owned.reduce((n, rs) => n + Number((rs.status ?? {})[f] ?? 0), 0);
    const want = d.spec.replicas ?? 1;
    const available = sum("availableReplicas");
    const minAvailable = want - Math.floor(want * 0.25);
    await writeStatus(ctx, DEPLOY, d, {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: sum("replicas"),
      updatedReplicas: sum("replicas"),
      readyReplicas: sum("readyReplicas"),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, want - available),
      conditions: [
        available >= minAvailable
          ? {
              type: "Available",
              status: "True",
              reason: "MinimumReplicasAvailable",
              message: "Deployment has minimum availability.",
              lastTransitionTime: nowTime(),
            }
          : {
              type: "Available",
              status: "False",
              reason: "MinimumReplicasUnavailable",
              message: "Deployment does not have minimum availability.",
              lastTransitionTime: nowTime(),
            },
      ],
    });
  }
}

// ---------------------------------------------------------------------------------------------------- disruption

function scaled(v: number | string, total: number, roundUp: boolean): number {
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number(v) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** The disruption controller: PDB status from the pods it selects; disruptedPods entries expire after 2 min. */
export async function disruption(ctx: ControllerContext, s: Snapshot): Promise<void> {
  for (const pdb of s.pdbs) {
    const ns = pdb.metadata.namespace;
    const sel = fromLabelSelector(pdb.spec.selector);
    const pods = s.pods.filter(
      (p) => p.metadata.namespace === ns && !p.metadata.deletionTimestamp && matchesLabels(sel, p.metadata.labels),
    );
    const now = Date.now();
    const disrupted: Record<string, string> = {};
    for (const [name, at] of Object.entries(pdb.status?.disruptedPods ?? {})) {
      if (pods.some((p) => p.metadata.name === name) && now - Date.parse(at) < 120_000) disrupted[name] = at;
    }
    const healthy = pods.filter((p) => isPodReady(p) && !((p.metadata.name ?? "") in disrupted)).length;
    const { minAvailable, maxUnavailable } = pdb.spec;
    let expected = pods.length;
    if (maxUnavailable !== undefined || typeof minAvailable === "string") {
      // the controllers' scale, as the real one reads it through /scale
      const owners = new Map<string, number>();
      for (const p of pods) {
        const o = controllerOf(p);
        const rs = o?.kind === "ReplicaSet" ? s.replicaSets.find((r) => r.metadata.uid === o.uid) : undefined;
        owners.set(o?.uid ?? p.metadata.uid ?? "", rs ? (rs.spec.replicas ?? 1) : 1);
      }
      expected = [...owners.values()].reduce((a, b) => a + b, 0);
    }
    let desired: number;
    if (maxUnavailable !== undefined) desired = Math.max(0, expected - scaled(maxUnavailable, expected, true));
    else desired = scaled(minAvailable ?? 1, expected, true);
    const allowed = expected > 0 ? Math.max(0, healthy - desired) : 0;
    const prev = findCondition(pdb.status?.conditions, "DisruptionAllowed");
    const st = allowed > 0 ? "True" : "False";
    await writeStatus(ctx, PDB, pdb, {
      observedGeneration: pdb.metadata.generation ?? 1,
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: desired,
      expectedPods: expected,
      ...(Object.keys(disrupted).length > 0 ? { disruptedPods: disrupted } : {}),
      conditions: [
        {
          type: "DisruptionAllowed",
          status: st,
          reason: allowed > 0 ? "SufficientPods" : "InsufficientPods",
          message: "",
          observedGeneration: pdb.metadata.generation ?? 1,
          lastTransitionTime: prev?.status === st ? (prev.lastTransitionTime ?? nowTime()) : nowTime(),
        },
      ],
    });
  }
}

/** One round of every controller. */
export async function reconcile(ctx: ControllerContext): Promise<void> {
  const s = await snapshot(ctx.store);
  const steps: Array<[string, (c: ControllerContext, s: Snapshot) => Promise<void>]> = [
    ["nodelifecycle", nodeLifecycle],
    ["podgc", podGc],
    ["replicaset", replicaSets],
    ["daemonset", daemonSets],
    ["deployment", deployments],
    ["disruption", disruption],
  ];
  for (const [name, step] of steps) {
    try {
      await step(ctx, s);
    } catch (err) {
      ctx.log.warn("controller round failed", {
        controller: name,
        err: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
