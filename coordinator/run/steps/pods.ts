import { KubecycleError } from "../../../shared/index.js";
import type { Evidence, StepContext } from "../executor.js";
import { remaining, stepAgent, type StepDeps } from "./deps.js";

/** stop-pod-sandboxes: what kubelet leaves running is stopped through the agent's crictl. */
export async function runStopPodSandboxes(deps: StepDeps, ctx: StepContext): Promise<Evidence> {
  const t0 = Date.now();
  const timeoutMs = remaining(ctx, t0);
  const res = await stepAgent(deps, ctx).stopPodSandboxes(
    { operationId: ctx.agentOpId, timeoutMs },
    { deadlineMs: timeoutMs + 2000, signal: ctx.signal },
  );
  const name = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;
  if (!res.ok) {
    throw new KubecycleError("UNIT_FAILED", `${ctx.step.node}: ${res.message}`, {
      node: ctx.step.node,
      remaining: res.remaining.map(name),
      hint: "see `crictl pods` on the node",
    });
  }
  return { stopped: res.stopped.map(name), message: res.message };
}
