// Per-kind rules of the registry: defaulting and validation on create (the *Strategy.PrepareForCreate and
// Validate of pkg/registry), the update rules (status subresource vs. main resource), graceful pod deletion and
// the Eviction subresource that honours PodDisruptionBudgets, as pkg/registry/core/pod/storage/eviction.go does.
import { randomBytes, randomUUID } from "node:crypto";
import { fromLabelSelector, matchesLabels } from "../lib/selectors.js";
import {
  isPodReady,
  nowTime,
  type KObject,
  type LeaseObj,
  type PdbObj,
  type PodObj,
  type Toleration,
} from "../lib/types.js";
import { badRequest, conflict, invalid, notFound, StatusError, type StatusBody } from "./errors.js";
import { resourceOf, type ResourceInfo } from "./resources.js";
import type { Store } from "./store.js";

const PODS = resourceOf("Pod");
const PDBS = resourceOf("PodDisruptionBudget");
const NAMESPACES = resourceOf("Namespace");

/** DeleteOptions, from the body or the query. */
export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** The 5-character suffix of generateName (the apiserver's alphabet has no vowels and no look-alikes). */
export function nameSuffix(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join("");
}

const MICROTIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

/** Lease times are metav1.MicroTime: the real apiserver only parses exactly six fractional digits. */
function checkLease(lease: LeaseObj): void {
  for (const f of ["acquireTime", "renewTime"] as const) {
    const v = lease.spec?.[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string" || !MICROTIME.test(v)) {
      const s = String(v);
      const rest = /(\.\d*)?(Z|[+-].*)?$/.exec(s.slice(19))?.[0] ?? s;
      throw badRequest(
        `Lease in version "v1" cannot be handled as a Lease: parsing time "${s}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${rest}" as ".000000"`,
      );
    }
  }
}

const DEFAULT_TOLERATIONS: Toleration[] = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
];

function qosClass(pod: PodObj): string {
  const cs = pod.spec.containers;
  const req = cs.some((c) => Object.keys(c.resources?.requests ?? {}).length > 0);
  const lim = cs.every((c) => c.resources?.limits?.cpu && c.resources.limits.memory);
  if (lim) return "Guaranteed";
  return req || cs.some((c) => c.resources?.limits) ? "Burstable" : "BestEffort";
}

/** Defaults and validates a new object; fills in the server-set metadata. */
export async function prepareForCreate(
  store: Store,
  res: ResourceInfo,
  obj: KObject,
  ns: string | undefined,
): Promise<KObject> {
  if (!obj || typeof obj !== "object" || typeof obj.metadata !== "object" || obj.metadata === null) {
    throw badRequest(`${res.kind} in version "${res.version}" cannot be handled as a ${res.kind}: missing metadata`);
  }
  const meta = obj.metadata;
  if (res.namespaced) {
    if (meta.namespace && meta.namespace !== ns) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    meta.namespace = ns;
    try {
      await store.get(NAMESPACES, undefined, ns ?? "");
    } catch (err) {
      if (err instanceof StatusError && err.code === 404) throw notFound(NAMESPACES, ns ?? "");
      throw err;
    }
  } else delete meta.namespace;
  if (!meta.name) {
    if (!meta.generateName)
      throw invalid(res, "", [
        {
          field: "metadata.name",
          message: "Required value: name or generateName is required",
          reason: "FieldValueRequired",
        },
      ]);
    meta.name = `${meta.generateName}${nameSuffix()}`;
  }
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(meta.name) || meta.name.length > 253) {
    throw invalid(res, meta.name, [
      {
        field: "metadata.name",
        message: `Invalid value: "${meta.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
        reason: "FieldValueInvalid",
      },
    ]);
  }
  meta.uid = randomUUID();
  meta.creationTimestamp = nowTime();
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  meta.generation = 1;
  switch (res.kind) {
    case "Pod": {
      const pod = obj as PodObj;
      if (!Array.isArray(pod.spec?.containers) || pod.spec.containers.length === 0) {
        throw invalid(res, meta.name, [
          { field: "spec.containers", message: "Required value", reason: "FieldValueRequired" },
        ]);
      }
      pod.spec = {
        restartPolicy: "Always",
        terminationGracePeriodSeconds: 30,
        dnsPolicy: "ClusterFirst",
        schedulerName: "default-scheduler",
        enableServiceLinks: true,
        priority: 0,
        ...pod.spec,
      };
      const tol = pod.spec.tolerations ?? [];
      for (const d of DEFAULT_TOLERATIONS) if (!tol.some((t) => t.key === d.key && t.effect === d.effect)) tol.push(d);
      pod.spec.tolerations = tol;
      pod.status = { phase: "Pending", qosClass: qosClass(pod) };
      break;
    }
    case "Lease":
      checkLease(obj as LeaseObj);
      break;
    case "Namespace":
      obj.spec = { finalizers: ["kubernetes"] };
      obj.status = { phase: "Active" };
      break;
    case "PodDisruptionBudget":
      obj.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
      break;
    case "ReplicaSet":
    case "DaemonSet":
    case "Deployment":
      obj.status = {};
      break;
  }
  return obj;
}

/** The object an update writes: status via /status only, server-owned metadata kept, generation bumped on spec change. */
export function prepareForUpdate(res: ResourceInfo, cur: KObject, incoming: KObject, sub: string | undefined): KObject {
  if (
    !incoming ||
    typeof incoming !== "object" ||
    typeof incoming.metadata !== "object" ||
    incoming.metadata === null
  ) {
    throw badRequest(`${res.kind} in version "${res.version}" cannot be handled as a ${res.kind}: missing metadata`);
  }
  let next: KObject;
  if (sub === "status") next = { ...cur, status: incoming.status };
  // The approval subresource changes only the conditions (Approved, Denied), never the request or the certificate.
  else if (sub === "approval") {
    const conditions = (incoming.status as { conditions?: unknown } | undefined)?.conditions;
    next = { ...cur, status: { ...(cur.status as object | undefined), conditions } };
  } else if (res.hasStatus) next = { ...incoming, status: cur.status };
  else next = incoming;
  const m = next.metadata;
  next.metadata = {
    ...(sub === "status" || sub === "approval" ? cur.metadata : m),
    name: cur.metadata.name,
    namespace: cur.metadata.namespace,
    uid: cur.metadata.uid,
    creationTimestamp: cur.metadata.creationTimestamp,
    resourceVersion: cur.metadata.resourceVersion,
    generation: cur.metadata.generation,
  };
  if (cur.metadata.deletionTimestamp) {
    next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
    next.metadata.deletionGracePeriodSeconds = cur.metadata.deletionGracePeriodSeconds;
  } else {
    delete next.metadata.deletionTimestamp;
    delete next.metadata.deletionGracePeriodSeconds;
  }
  if (!res.namespaced) delete next.metadata.namespace;
  if (JSON.stringify(next.spec) !== JSON.stringify(cur.spec))
    next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
  if (res.kind === "Lease") checkLease(next as LeaseObj);
  if (res.kind === "Pod" && sub !== "status") {
    const a = (cur as PodObj).spec.nodeName;
    const b = (next as PodObj).spec?.nodeName;
    if (a !== b)
      throw invalid(res, cur.metadata.name ?? "", [
        {
          field: "spec",
          message:
            "Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds`",
          reason: "FieldValueForbidden",
        },
      ]);
  }
  return next;
}

function checkPreconditions(res: ResourceInfo, obj: KObject, opts: DeleteOptions): void {
  const p = opts.preconditions;
  if (p?.uid && p.uid !== obj.metadata.uid) {
    throw conflict(
      res,
      obj.metadata.name ?? "",
      `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${obj.metadata.uid}`,
    );
  }
  if (p?.resourceVersion && p.resourceVersion !== obj.metadata.resourceVersion) {
    throw conflict(
      res,
      obj.metadata.name ?? "",
      `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
    );
  }
}

/** Deletes a non-pod object, honouring preconditions. */
export async function deleteObject(
  store: Store,
  res: ResourceInfo,
  ns: string | undefined,
  name: string,
  opts: DeleteOptions,
): Promise<KObject> {
  for (let attempt = 0; ; attempt++) {
    const cur = await store.get(res, ns, name);
    checkPreconditions(res, cur, opts);
    try {
      return await store.remove(res, ns, name, Number(cur.metadata.resourceVersion));
    } catch (err) {
      if (err instanceof StatusError && err.reason === "Conflict" && attempt < 5) continue;
      throw err;
    }
  }
}

/**
 * Deletes a pod the way the apiserver does: a pod bound to a node and not terminal is only marked (deletionTimestamp
 * = now + grace) and stays Terminating until that node's kubelet has stopped its containers and deletes it with
 * grace 0. Unbound or terminal pods, and grace 0, go at once.
 */
export async function deletePod(
  store: Store,
  ns: string,
  name: string,
  opts: DeleteOptions,
): Promise<{ obj: KObject; gone: boolean }> {
  for (let attempt = 0; ; attempt++) {
    const cur = (await store.get(PODS, ns, name)) as PodObj;
    checkPreconditions(PODS, cur, opts);
    const phase = cur.status?.phase;
    let grace = opts.gracePeriodSeconds ?? cur.spec.terminationGracePeriodSeconds ?? 30;
    if (!cur.spec.nodeName || phase === "Succeeded" || phase === "Failed") grace = 0;
    try {
      if (grace <= 0)
        return { obj: await store.remove(PODS, ns, name, Number(cur.metadata.resourceVersion)), gone: true };
      const deadline = new Date(Date.now() + grace * 1000);
      if (cur.metadata.deletionTimestamp && Date.parse(cur.metadata.deletionTimestamp) <= deadline.getTime()) {
        return { obj: cur, gone: false };
      }
      const next = structuredClone(cur);
      next.metadata.deletionTimestamp = nowTime(deadline);
      next.metadata.deletionGracePeriodSeconds = grace;
      next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
      return { obj: await store.update(PODS, next, Number(cur.metadata.resourceVersion)), gone: false };
    } catch (err) {
      if (err instanceof StatusError && err.reason === "Conflict" && !/Precondition/.test(err.message) && attempt < 5)
        continue;
      throw err;
    }
  }
}

const tooMany = (message: string, cause?: string): StatusError =>
  new StatusError(
    429,
    "TooManyRequests",
    message,
    cause ? { causes: [{ reason: "DisruptionBudget", message: cause }] } : {},
  );

/** The success answer of a create-style subresource (eviction, binding). */
export const createdStatus = (): StatusBody => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Success",
  code: 201,
});

/**
 * POST pods/{name}/eviction. Like the real one it trusts the PDB's status as the disruption controller wrote it,
 * decrements disruptionsAllowed and records the pod in status.disruptedPods with a compare-and-swap on the PDB
 * (so two concurrent evictions cannot both use the last allowed disruption), then deletes the pod.
 */
export async function evict(store: Store, ns: string, name: string, eviction: KObject): Promise<StatusBody> {
  if (eviction.metadata?.name && eviction.metadata.name !== name) {
    throw badRequest(`name in URL does not match name in Eviction object`);
  }
  const opts = (eviction.deleteOptions ?? {}) as DeleteOptions;
  for (let attempt = 0; attempt < 5; attempt++) {
    const pod = (await store.get(PODS, ns, name)) as PodObj;
    const phase = pod.status?.phase;
    if (pod.metadata.deletionTimestamp || phase === "Succeeded" || phase === "Failed" || phase === "Pending") {
      await deletePod(store, ns, name, opts);
      return createdStatus();
    }
    const pdbs = (await store.list(PDBS, ns)).items.filter((p) =>
      matchesLabels(fromLabelSelector((p as PdbObj).spec.selector), pod.metadata.labels),
    ) as PdbObj[];
    if (pdbs.length > 1) {
      throw new StatusError(
        500,
        "InternalError",
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
      );
    }
    const pdb = pdbs[0];
    if (!pdb) {
      await deletePod(store, ns, name, opts);
      return createdStatus();
    }
    const st = pdb.status ?? {};
    const pdbName = pdb.metadata.name ?? "";
    // unhealthyPodEvictionPolicy IfHealthyBudget: a not-ready pod may go while the budget is met.
    if (!isPodReady(pod) && (st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0) {
      await deletePod(store, ns, name, opts);
      return createdStatus();
    }
    const msg = "Cannot evict pod as it would violate the pod's disruption budget.";
    if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) {
      throw tooMany(msg, `The disruption budget ${pdbName} is still being processed by the server.`);
    }
    if ((st.disruptionsAllowed ?? 0) < 0)
      throw new StatusError(403, "Forbidden", "pdb disruptions allowed is negative");
    if ((st.disruptionsAllowed ?? 0) === 0) {
      throw tooMany(
        msg,
        `The disruption budget ${pdbName} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`,
      );
    }
    const next = structuredClone(pdb);
    next.status = {
      ...st,
      disruptionsAllowed: (st.disruptionsAllowed ?? 0) - 1,
      disruptedPods: { ...st.disruptedPods, [name]: nowTime() },
    };
    try {
      await store.update(PDBS, next, Number(pdb.metadata.resourceVersion));
    } catch (err) {
      if (err instanceof StatusError && err.reason === "Conflict") continue;
      throw err;
    }
    await deletePod(store, ns, name, opts);
    return createdStatus();
  }
  throw tooMany(
    "Cannot evict pod as it would violate the pod's disruption budget.",
    "too many concurrent evictions, retry",
  );
}

/** POST pods/{name}/binding: what the scheduler does to place a pod. */
export async function bind(store: Store, ns: string, name: string, binding: KObject): Promise<StatusBody> {
  const target = (binding as { target?: { name?: string } }).target?.name;
  if (!target)
    throw invalid(PODS, name, [{ field: "target.name", message: "Required value", reason: "FieldValueRequired" }]);
  await bindPod(store, ns, name, target);
  return createdStatus();
}

/** Sets a pending pod's nodeName (409 if it is already bound). */
export async function bindPod(store: Store, ns: string, name: string, node: string): Promise<PodObj> {
  return (await store.guaranteedUpdate(PODS, ns, name, (cur) => {
    const pod = cur as PodObj;
    if (pod.metadata.deletionTimestamp)
      throw conflict(PODS, name, "pod is being deleted, cannot be assigned to a host");
    if (pod.spec.nodeName) throw conflict(PODS, name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
    pod.spec.nodeName = node;
    const conds = (pod.status?.conditions ?? []).filter((c) => c.type !== "PodScheduled");
    conds.push({ type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: nowTime() });
    pod.status = { ...pod.status, conditions: conds };
    return pod;
  })) as PodObj;
}
