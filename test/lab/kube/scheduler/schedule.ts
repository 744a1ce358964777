// The kube-scheduler stand-in's one scheduling pass: each Pending, unbound pod goes to the feasible node with the
// most free capacity (the default LeastAllocated score), through the same binding the real scheduler POSTs.
// Feasible = Ready, not cordoned (unless tolerated), every NoSchedule/NoExecute taint tolerated, nodeSelector met,
// and cpu/memory requests plus those of the pods already bound there (Terminating ones too: they still hold their
// resources) within allocatable. A pod that fits nowhere gets PodScheduled=False/Unschedulable with the real
// scheduler's "0/N nodes are available: ..." message.
import type { Log } from "../lib/log.js";
import { milliCpu, parseQuantity } from "../lib/quantity.js";
import { tolerates } from "../lib/selectors.js";
import { findCondition, nowTime, type NodeObj, type PodObj } from "../lib/types.js";
import { StatusError } from "../apiserver/errors.js";
import { bindPod, prepareForUpdate } from "../apiserver/registry.js";
import { resourceOf } from "../apiserver/resources.js";
import type { Store } from "../apiserver/store.js";

const NODES = resourceOf("Node");
const PODS = resourceOf("Pod");

interface Usage {
  cpu: number;
  mem: number;
  pods: number;
}

function requests(pod: PodObj): { cpu: number; mem: number } {
  let cpu = 0;
  let mem = 0;
  for (const c of pod.spec.containers) {
    cpu += milliCpu(c.resources?.requests?.cpu);
    mem += parseQuantity(c.resources?.requests?.memory);
  }
  return { cpu, mem };
}

/** One pass over the pending pods. */
export async function schedulePending(store: Store, log: Log): Promise<void> {
  const [nodeList, podList] = await Promise.all([store.list(NODES, undefined), store.list(PODS, undefined)]);
  const nodes = nodeList.items as NodeObj[];
  const pods = podList.items as PodObj[];
  const usage = new Map<string, Usage>();
  for (const n of nodes) usage.set(n.metadata.name ?? "", { cpu: 0, mem: 0, pods: 0 });
  for (const p of pods) {
    const u = p.spec.nodeName ? usage.get(p.spec.nodeName) : undefined;
    if (!u || p.status?.phase === "Succeeded" || p.status?.phase === "Failed") continue;
    const r = requests(p);
    u.cpu += r.cpu;
    u.mem += r.mem;
    u.pods++;
  }
  const pending = pods
    .filter(
      (p) =>
        !p.spec.nodeName &&
        !p.metadata.deletionTimestamp &&
        (p.spec.schedulerName ?? "default-scheduler") === "default-scheduler" &&
        (p.status?.phase ?? "Pending") === "Pending",
    )
    .sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""));

  for (const pod of pending) {
    const req = requests(pod);
    const reasons = new Map<string, number>();
    const why = (r: string): false => {
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
      return false;
    };
    const feasible = nodes.filter((n) => {
      const name = n.metadata.name ?? "";
      const u = usage.get(name) ?? { cpu: 0, mem: 0, pods: 0 };
      const alloc = n.status?.allocatable ?? {};
      const tol = pod.spec.tolerations;
      if (n.spec?.unschedulable && !tolerates(tol, { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }))
        return why("node(s) were unschedulable");
      const bad = (n.spec?.taints ?? []).find((t) => t.effect !== "PreferNoSchedule" && !tolerates(tol, t));
      if (bad) return why(`node(s) had untolerated taint {${bad.key}: ${bad.value ?? ""}}`);
      if (findCondition(n.status?.conditions, "Ready")?.status !== "True") return why("node(s) were not ready");
      if (!Object.entries(pod.spec.nodeSelector ?? {}).every(([k, v]) => n.metadata.labels?.[k] === v))
        return why("node(s) didn't match Pod's node affinity/selector");
      let fits = true;
      if (u.cpu + req.cpu > milliCpu(alloc.cpu ?? "0")) fits = why("Insufficient cpu");
      if (u.mem + req.mem > parseQuantity(alloc.memory ?? "0")) fits = why("Insufficient memory");
      if (u.pods + 1 > Number(alloc.pods ?? "110")) fits = why("Too many pods");
      return fits;
    });
    const free = (n: NodeObj): number => {
      const u = usage.get(n.metadata.name ?? "") ?? { cpu: 0, mem: 0, pods: 0 };
      const a = n.status?.allocatable ?? {};
      const c = milliCpu(a.cpu ?? "1") || 1;
      const m = parseQuantity(a.memory ?? "1") || 1;
      return ((c - u.cpu - req.cpu) / c + (m - u.mem - req.mem) / m) / 2;
    };
    feasible.sort(
      (a, b) =>
        free(b) - free(a) ||
        (usage.get(a.metadata.name ?? "")?.pods ?? 0) - (usage.get(b.metadata.name ?? "")?.pods ?? 0) ||
        (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
    );
    const target = feasible[0];
    const ns = pod.metadata.namespace ?? "";
    const name = pod.metadata.name ?? "";
    try {
      if (target) {
        const node = target.metadata.name ?? "";
        await bindPod(store, ns, name, node);
        const u = usage.get(node);
        if (u) {
          u.cpu += req.cpu;
          u.mem += req.mem;
          u.pods++;
        }
        log.info("bound pod", { pod: `${ns}/${name}`, node });
      } else {
        const msg = `0/${nodes.length} nodes are available: ${[...reasons.entries()]
          .map(([r, n]) => `${n} ${r}`)
          .sort()
          .join(
            ", ",
          )}. preemption: 0/${nodes.length} nodes are available: ${nodes.length} Preemption is not helpful for scheduling.`;
        const prev = findCondition(pod.status?.conditions, "PodScheduled");
        if (prev?.message === msg) continue;
        const conds = (pod.status?.conditions ?? []).filter((c) => c.type !== "PodScheduled");
        conds.push({
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message: msg,
          lastProbeTime: null,
          lastTransitionTime: nowTime(),
        });
        const next = prepareForUpdate(PODS, pod, { ...pod, status: { ...pod.status, conditions: conds } }, "status");
        await store.update(PODS, next, Number(pod.metadata.resourceVersion));
        log.info("pod unschedulable", { pod: `${ns}/${name}`, msg });
      }
    } catch (err) {
      if (!(err instanceof StatusError && (err.code === 409 || err.code === 404))) throw err;
    }
  }
}
