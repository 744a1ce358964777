import { KubecycleError } from "../../../shared/index.js";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import { stepAgent, type StepDeps } from "./deps.js";

/** set-auto-start: the units' start at boot, enabled or disabled (`systemctl enable/disable`), verified by the agent. */
export async function runSetAutoStart(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "set-auto-start" }>>,
): Promise<Evidence> {
  const { units, enabled } = ctx.step.action;
  const res = await stepAgent(deps, ctx).setAutoStart(
    { operationId: ctx.agentOpId(), units, enabled, ignoreMissing: false },
    { deadlineMs: ctx.step.timeoutMs, signal: ctx.signal },
  );
  const outcomes = res.outcomes.map((o) => `${o.unit}: ${o.outcome.replace("OUTCOME_", "").toLowerCase()}`);
  if (!res.ok) {
    throw new KubecycleError(
      "UNIT_FAILED",
      `${ctx.step.node}: ${enabled ? "enable" : "disable"} failed: ${outcomes.join(", ")}`,
      {
        node: ctx.step.node,
        hint: `see the units on the node: systemctl is-enabled ${units.join(" ")}`,
      },
    );
  }
  return { enabled, outcomes };
}
