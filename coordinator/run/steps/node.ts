import { cordon, mustGetNode, readyStatus, uncordonIfOurs, waitNodeReady } from "../../kube/index.js";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import { stepNode, type StepDeps } from "./deps.js";

/** check-node-exists: the node is in the API; its readiness and schedulability are recorded. */
export async function checkNodeExists(deps: StepDeps, ctx: StepContext): Promise<Evidence> {
  const node = await mustGetNode(deps.api, stepNode(deps, ctx).name);
  return { ready: readyStatus(node), unschedulable: node.spec?.unschedulable === true };
}

/** cordon: spec.unschedulable, with ownership recorded so only kubecycle's own cordon is undone later. */
export async function runCordon(deps: StepDeps, ctx: StepContext): Promise<Evidence> {
  return { ...(await cordon(deps.api, stepNode(deps, ctx).name, ctx.op)) };
}

/** uncordon: only if kubecycle cordoned the node. */
export async function runUncordon(deps: StepDeps, ctx: StepContext): Promise<Evidence> {
  return { ...(await uncordonIfOurs(deps.api, stepNode(deps, ctx).name)) };
}

/** wait-node-ready: the Node's Ready condition, seen from the API. */
export async function runWaitNodeReady(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "wait-node-ready" }>>,
): Promise<Evidence> {
  return {
    ...(await waitNodeReady(deps.api, stepNode(deps, ctx).name, ctx.step.action.ready, ctx.signal, ctx.progress)),
  };
}
