import { drainNode, drainRefusal, isEvictable } from "../../kube/index.js";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import { stepNode, type StepDeps } from "./deps.js";

/** drain: evictions, PDB retries, then the evicted pods gone and replaced elsewhere. */
export async function runDrain(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "drain" }>>,
): Promise<Evidence> {
  const a = ctx.step.action;
  return {
    ...(await drainNode(deps.api, stepNode(deps, ctx).name, {
      drainTimeoutMs: a.drainTimeoutMs,
      replacementTimeoutMs: a.replacementTimeoutMs,
      force: a.force,
      deleteEmptyDirData: a.deleteEmptyDirData,
      signal: ctx.signal,
      progress: ctx.progress,
    })),
  };
}

/** check-drainable: nothing on the node that a drain would lose without being told (see drainRefusal). */
export async function checkDrainable(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "check-drainable" }>>,
): Promise<Evidence> {
  const node = stepNode(deps, ctx).name;
  const pods = await deps.api.listPods({ node });
  const refusal = drainRefusal(node, pods, ctx.step.action);
  if (refusal) throw refusal;
  return { evict: pods.filter(isEvictable).map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`) };
}
