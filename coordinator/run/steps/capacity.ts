import type { V1Node, V1NodeSelectorRequirement, V1Pod, V1Taint, V1Toleration } from "@kubernetes/client-node";
import { KubecycleError } from "../../../shared/index.js";
import { isEvictable, isReady, parseQuantity, podRequest } from "../../kube/index.js";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import type { StepDeps } from "./deps.js";

/** What the fit does not consider, said with every answer, so nobody takes it for the scheduler's. */
export const NOT_CONSIDERED = "inter-pod affinity and anti-affinity, topology spread, host ports and volumes";

interface Need {
  pod: string;
  cpu: number;
  memory: number;
  spec: V1Pod["spec"];
}

interface Room {
  name: string;
  node: V1Node;
  cpu: number;
  memory: number;
  /** Pods it may still take (allocatable pods minus those it runs). */
  pods: number;
}

/** Whether a pod tolerates a taint (the scheduler's rule: Exists matches any value, an empty key any key). */
function tolerates(tolerations: V1Toleration[], taint: V1Taint): boolean {
  return tolerations.some(
    (t) =>
      (t.effect === undefined || t.effect === "" || t.effect === taint.effect) &&
      (t.key === undefined || t.key === "" ? t.operator === "Exists" : t.key === taint.key) &&
      (t.operator === "Exists" || (t.value ?? "") === (taint.value ?? "")),
  );
}

/** A node selector requirement on the node's labels (In, NotIn, Exists, DoesNotExist, Gt, Lt). */
function matches(r: V1NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const v = labels[r.key];
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return v !== undefined && values.includes(v);
    case "NotIn":
      return v === undefined || !values.includes(v);
    case "Exists":
      return v !== undefined;
    case "DoesNotExist":
      return v === undefined;
    case "Gt":
      return v !== undefined && Number(v) > Number(values[0]);
    case "Lt":
      return v !== undefined && Number(v) < Number(values[0]);
    default:
      return false;
  }
}

/**
 * Whether the scheduler may put the pod on the node, by what this check considers: every NoSchedule/NoExecute taint
 * tolerated, the nodeSelector, and the required node affinity (any of its terms, all expressions of a term).
 */
export function admits(node: V1Node, spec: V1Pod["spec"]): boolean {
  const labels = node.metadata?.labels ?? {};
  const tolerations = spec?.tolerations ?? [];
  const taintsOk = (node.spec?.taints ?? [])
    .filter((t) => t.effect === "NoSchedule" || t.effect === "NoExecute")
    .every((t) => tolerates(tolerations, t));
  const selectorOk = Object.entries(spec?.nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const affinityOk =
    terms.length === 0 || terms.some((t) => (t.matchExpressions ?? []).every((r) => matches(r, labels)));
  return taintsOk && selectorOk && affinityOk;
}

/**
 * check-capacity: the evictable pods fit, pod by pod (largest first), into what the remaining Ready, schedulable
 * nodes that admit them (taints, nodeSelector, required node affinity) have left: CPU and memory by effective
 * request (init containers and overhead counted), and the number of pods. Refused otherwise, unless --force.
 */
export async function checkCapacity(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "check-capacity" }>>,
): Promise<Evidence> {
  const { leaving, force } = ctx.step.action;
  const [nodes, pods] = await Promise.all([deps.api.listNodes(), deps.api.listPods()]);
  const verdict = fit(nodes, pods, leaving);
  const evidence = {
    pods: verdict.needs,
    targets: verdict.targets,
    unplaced: verdict.unplaced,
    notConsidered: NOT_CONSIDERED,
  };
  if (verdict.unplaced.length > 0 && !force) {
    throw new KubecycleError(
      "INSUFFICIENT_CAPACITY",
      `the pods on ${leaving} do not fit on the remaining Ready, schedulable nodes that admit them (${verdict.targets.join(", ") || "none"}): ${verdict.unplaced.join(", ")} would stay Pending (this check does not consider ${NOT_CONSIDERED})`,
      {
        node: leaving,
        unplaced: verdict.unplaced,
        hint: "add capacity or uncordon a node first; or pass --force to stop anyway and leave them Pending",
      },
    );
  }
  return verdict.unplaced.length > 0 ? { ...evidence, warning: "--force: these pods will stay Pending" } : evidence;
}

/** The fit itself, pure: which of `leaving`'s evictable pods find no room elsewhere, and which nodes could take any. */
export function fit(
  nodes: readonly V1Node[],
  pods: readonly V1Pod[],
  leaving: string,
): { needs: number; targets: string[]; unplaced: string[] } {
  const running = pods.filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  const needs: Need[] = running
    .filter((p) => p.spec?.nodeName === leaving && isEvictable(p))
    .map((p) => ({
      pod: `${p.metadata?.namespace}/${p.metadata?.name}`,
      cpu: podRequest(p, "cpu"),
      memory: podRequest(p, "memory"),
      spec: p.spec,
    }))
    .sort((a, b) => b.cpu - a.cpu || b.memory - a.memory);
  const rooms: Room[] = nodes
    .filter((n) => n.metadata?.name !== leaving && isReady(n) && !n.spec?.unschedulable)
    .map((n) => {
      const name = n.metadata?.name ?? "";
      const here = running.filter((p) => p.spec?.nodeName === name);
      const alloc = n.status?.allocatable ?? {};
      return {
        name,
        node: n,
        cpu: (parseQuantity(alloc.cpu ?? "0") ?? 0) - here.reduce((s, p) => s + podRequest(p, "cpu"), 0),
        memory: (parseQuantity(alloc.memory ?? "0") ?? 0) - here.reduce((s, p) => s + podRequest(p, "memory"), 0),
        pods: (alloc.pods === undefined ? Number.POSITIVE_INFINITY : (parseQuantity(alloc.pods) ?? 0)) - here.length,
      };
    });
  const unplaced: string[] = [];
  for (const need of needs) {
    const room = rooms.find(
      (r) => r.cpu >= need.cpu && r.memory >= need.memory && r.pods >= 1 && admits(r.node, need.spec),
    );
    if (!room) {
      unplaced.push(need.pod);
      continue;
    }
    room.cpu -= need.cpu;
    room.memory -= need.memory;
    room.pods -= 1;
  }
  const targets = rooms.filter((r) => needs.some((n) => admits(r.node, n.spec))).map((r) => r.name);
  return { needs: needs.length, targets, unplaced };
}
