import type { V1Pod, V1Taint, V1Toleration } from "@kubernetes/client-node";
import { KubecycleError } from "../../../shared/index.js";
import { isEvictable, isReady } from "../../kube/index.js";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import type { StepDeps } from "./deps.js";

const SUFFIX: Record<string, number> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** A Kubernetes resource quantity ("500m", "2", "128Mi", "1G") as a number (cores, bytes). */
export function parseQuantity(q: string | undefined): number {
  if (!q) return 0;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return 0;
  return Number(m[1]) * (m[2] ? (SUFFIX[m[2]] ?? 1) : 1);
}

interface Need {
  pod: string;
  cpu: number;
  memory: number;
  tolerations: V1Toleration[];
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

/** A node the scheduler may put the pod on: every NoSchedule/NoExecute taint tolerated. */
function admits(taints: V1Taint[], need: Need): boolean {
  return taints
    .filter((t) => t.effect === "NoSchedule" || t.effect === "NoExecute")
    .every((t) => tolerates(need.tolerations, t));
}

function requests(p: V1Pod): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of p.spec?.containers ?? []) {
    cpu += parseQuantity(c.resources?.requests?.cpu);
    memory += parseQuantity(c.resources?.requests?.memory);
  }
  return { cpu, memory };
}

/**
 * check-capacity: the evictable pods' CPU and memory requests fit, pod by pod (largest first), into what the
 * remaining Ready, schedulable nodes whose taints they tolerate have left. Refused otherwise, unless --force.
 */
export async function checkCapacity(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "check-capacity" }>>,
): Promise<Evidence> {
  const { leaving, force } = ctx.step.action;
  const [nodes, pods] = await Promise.all([deps.api.listNodes(), deps.api.listPods()]);
  const running = pods.filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  const needs: Need[] = running
    .filter((p) => p.spec?.nodeName === leaving && isEvictable(p))
    .map((p) => ({
      pod: `${p.metadata?.namespace}/${p.metadata?.name}`,
      ...requests(p),
      tolerations: p.spec?.tolerations ?? [],
    }))
    .sort((a, b) => b.cpu - a.cpu || b.memory - a.memory);
  const free = nodes
    .filter((n) => n.metadata?.name !== leaving && isReady(n) && !n.spec?.unschedulable)
    .map((n) => {
      const name = n.metadata?.name ?? "";
      const used = running.filter((p) => p.spec?.nodeName === name).map(requests);
      return {
        name,
        taints: n.spec?.taints ?? [],
        cpu: parseQuantity(n.status?.allocatable?.cpu) - used.reduce((s, r) => s + r.cpu, 0),
        memory: parseQuantity(n.status?.allocatable?.memory) - used.reduce((s, r) => s + r.memory, 0),
      };
    });
  const unplaced: string[] = [];
  for (const need of needs) {
    const target = free.find((f) => f.cpu >= need.cpu && f.memory >= need.memory && admits(f.taints, need));
    if (!target) unplaced.push(need.pod);
    else {
      target.cpu -= need.cpu;
      target.memory -= need.memory;
    }
  }
  // Nodes that would take at least one of these pods, for the evidence and the message.
  const targets = free.filter((f) => needs.some((n) => admits(f.taints, n))).map((f) => f.name);
  const evidence = { pods: needs.length, targets, unplaced };
  if (unplaced.length > 0 && !force) {
    throw new KubecycleError(
      "INSUFFICIENT_CAPACITY",
      `the pods on ${leaving} do not fit on the remaining Ready, schedulable nodes whose taints they tolerate (${targets.join(", ") || "none"}): ${unplaced.join(", ")} would stay Pending`,
      {
        node: leaving,
        unplaced,
        hint: "add capacity or uncordon a node first; or pass --force to stop anyway and leave them Pending",
      },
    );
  }
  return unplaced.length > 0 ? { ...evidence, warning: "--force: these pods will stay Pending" } : evidence;
}
