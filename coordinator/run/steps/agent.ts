import type { Evidence, StepContext } from "../executor.js";
import { stepAgent, type StepDeps } from "./deps.js";

/** check-agent: the node's agent answers over mTLS and reports its units. */
export async function checkAgent(deps: StepDeps, ctx: StepContext): Promise<Evidence> {
  const agent = stepAgent(deps, ctx);
  const opts = { deadlineMs: ctx.step.timeoutMs, signal: ctx.signal };
  const health = await agent.health(opts);
  const status = await agent.getStatus({}, opts);
  return {
    agentState: health.state,
    agentVersion: health.agentVersion,
    bootId: status.facts?.bootId ?? "",
    units: Object.fromEntries(
      status.units.map((u) => [u.name, u.exists ? `${u.activeState}/${u.subState}` : "absent"]),
    ),
  };
}
