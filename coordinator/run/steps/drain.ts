import { drainNode } from "../../kube/index.js";
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
      signal: ctx.signal,
      progress: ctx.progress,
    })),
  };
}
