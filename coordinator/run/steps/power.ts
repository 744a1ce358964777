import { setTimeout as sleep } from "node:timers/promises";
import { KubecycleError } from "../../../shared/index.js";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import { stepAgent, type StepDeps } from "./deps.js";

/** How often a powering-off node's agent is asked whether it is still there. */
const POLL_MS = 500;

/**
 * power-off: the node's agent answers, then powers the node off; the step ends once the agent no longer answers
 * (or answers from a new boot), which is the proof from outside that the node went down.
 */
export async function runPowerOff(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "power-off" }>>,
): Promise<Evidence> {
  const agent = stepAgent(deps, ctx);
  const res = await agent.powerOff(
    { operationId: ctx.agentOpId(), delayMs: ctx.step.action.delayMs },
    { deadlineMs: deps.config.timeouts.agentCallMs, signal: ctx.signal },
  );
  const t0 = Date.now();
  ctx.progress(`${ctx.step.node}: powering off (boot ${res.bootId})`);
  for (;;) {
    try {
      const st = await agent.getStatus({}, { deadlineMs: 1000, signal: ctx.signal });
      if (st.facts?.bootId && st.facts.bootId !== res.bootId) {
        return { bootId: res.bootId, goneMs: Date.now() - t0, note: "already booted again" };
      }
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      if ((err as KubecycleError).code === "NODE_UNREACHABLE" || (err as KubecycleError).code === "DEADLINE_EXCEEDED") {
        return { bootId: res.bootId, replayed: res.replayed, goneMs: Date.now() - t0 };
      }
    }
    try {
      await sleep(POLL_MS, undefined, { signal: ctx.signal });
    } catch {
      throw new KubecycleError("NODE_NOT_READY", `${ctx.step.node}: its agent still answers after the power-off`, {
        node: ctx.step.node,
        hint: "see the node's console: systemd may be waiting on a unit to stop",
      });
    }
  }
}
