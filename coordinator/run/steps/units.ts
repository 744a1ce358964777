import { KubecycleError, type UnitOutcome__Output } from "../../../shared/index.js";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import { REPLY_MARGIN_MS, remaining, stepAgent, type StepDeps } from "./deps.js";

type UnitsAction = Extract<StepAction, { kind: "stop-units" | "start-units" }>;

function describe(o: UnitOutcome__Output): string {
  const s = o.state;
  const state = s ? ` (${s.activeState}/${s.subState}, result ${s.result})` : "";
  return `${o.unit}: ${o.outcome.replace("OUTCOME_", "").toLowerCase()}${state}: ${o.message}`;
}

/**
 * stop-units and start-units: one agent call per unit, in order, each waited for until systemd reports it
 * settled. The agent operation id is derived from the step, so a resumed step replays instead of acting twice.
 */
export async function runUnits(deps: StepDeps, ctx: StepContext<UnitsAction>): Promise<Evidence> {
  const t0 = Date.now();
  const agent = stepAgent(deps, ctx);
  const a = ctx.step.action;
  const outcomes: string[] = [];
  for (const unit of a.units) {
    const settleTimeoutMs = remaining(ctx, t0, REPLY_MARGIN_MS + 1000);
    const req = {
      operationId: ctx.agentOpId(unit),
      units: [{ name: unit, settleTimeoutMs }],
      ignoreMissing: a.ignoreMissing.includes(unit),
    };
    ctx.progress(`${a.kind === "stop-units" ? "stopping" : "starting"} ${unit}`);
    const opts = { deadlineMs: settleTimeoutMs + REPLY_MARGIN_MS, signal: ctx.signal };
    const res =
      a.kind === "stop-units"
        ? await agent.stopUnits(req, opts)
        : await agent.startUnits({ ...req, noBlock: a.noBlock }, opts);
    const outcome = res.outcomes[0];
    if (!res.ok || !outcome) {
      throw new KubecycleError(
        "UNIT_FAILED",
        `${ctx.step.node}: ${outcome ? describe(outcome) : `${unit}: no outcome`}`,
        {
          node: ctx.step.node,
          unit,
          journal: outcome?.journal ?? [],
          hint: `see the unit on the node: systemctl status ${unit}; journalctl -u ${unit}`,
        },
      );
    }
    outcomes.push(describe(outcome));
  }
  return { outcomes };
}
