import { setTimeout as sleep } from "node:timers/promises";
import { KubecycleError, type PodScope as WireScope } from "../../../shared/index.js";
import { etcdProbeTimeouts } from "../../config.js";
import type { PodScope, StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import { REPLY_MARGIN_MS, remaining, stepAgent, type StepDeps } from "./deps.js";

const SCOPES: Record<PodScope, WireScope> = {
  all: "POD_SCOPE_ALL",
  workload: "POD_SCOPE_WORKLOAD",
  "control-plane": "POD_SCOPE_CONTROL_PLANE",
  etcd: "POD_SCOPE_ETCD",
  "all-but-etcd": "POD_SCOPE_ALL_BUT_ETCD",
};

/**
 * stop-pod-sandboxes: what kubelet leaves running is stopped through the agent's CRI client, each pod's containers
 * first within its grace period. For etcd's static pod, the member is then seen to stop answering.
 */
export async function runStopPodSandboxes(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "stop-pod-sandboxes" }>>,
): Promise<Evidence> {
  const t0 = Date.now();
  const scope = ctx.step.action.scope;
  const timeoutMs = remaining(ctx, t0);
  const agent = stepAgent(deps, ctx);
  const res = await agent.stopPodSandboxes(
    { operationId: ctx.agentOpId(), timeoutMs, scope: SCOPES[scope] },
    { deadlineMs: timeoutMs + REPLY_MARGIN_MS, signal: ctx.signal },
  );
  const name = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;
  if (!res.ok) {
    throw new KubecycleError("UNIT_FAILED", `${ctx.step.node}: ${res.message}`, {
      node: ctx.step.node,
      remaining: res.remaining.map(name),
      hint: "see `crictl pods` on the node",
    });
  }
  const evidence = { scope, stopped: res.stopped.map(name), message: res.message };
  if (scope !== "etcd") return evidence;
  // The sandbox is down; the member must be too, or something else still runs etcd on the node.
  for (;;) {
    let answer = "";
    try {
      const st = await agent.etcdStatus(
        { timeoutMs: etcdProbeTimeouts(deps.config).etcdMs },
        { deadlineMs: etcdProbeTimeouts(deps.config).callMs, signal: ctx.signal },
      );
      answer = st.healthy ? "the member still answers a linearizable read" : "";
    } catch (err) {
      if (ctx.signal.aborted) throw err;
    }
    if (answer === "") return { ...evidence, member: "no longer answers" };
    ctx.progress(`${ctx.step.node}: ${answer}`);
    await sleep(500, undefined, { signal: ctx.signal });
  }
}
