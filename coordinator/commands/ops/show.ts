import { defineCommand, singleArg } from "../../command.js";
import { loadCoordinatorConfig } from "../../config.js";
import { readOperation } from "../../run/journal.js";
import { renderOutput } from "../../ui/output.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS } from "../common.js";

export const command = defineCommand({
  summary: "Show an operation's plan and journal: every step, where it stopped, and why",
  usage: `kubecycle ops show OPERATION [-o json|yaml]

${CLUSTER_HELP}`,
  options: { ...CLUSTER_OPTIONS },
  async run(ctx) {
    const op = singleArg(ctx, "OPERATION");
    const config = await loadCoordinatorConfig(ctx.values, ctx.env);
    const o = await readOperation(config.stateDir, op);
    const { plan, ...summary } = o;
    ctx.stdout.write(
      renderOutput(ctx.output, { ...summary, planVersion: plan.version }, () => {
        const lines = [
          `operation ${o.op}: ${o.procedure} ${o.target}`,
          `by ${o.user}@${o.host}, started ${o.startedAt}${o.finishedAt ? `, finished ${o.finishedAt}` : ""}`,
          ...(o.origin ? [`started by ${o.origin.by}: ${o.origin.why}`] : []),
          `result: ${o.result}${o.reason ? ` (${o.reason})` : ""}`,
          "",
        ];
        for (const phase of plan.phases) {
          lines.push(phase.title);
          for (const s of o.steps.filter((x) => x.phase === phase.name)) {
            const icon = { pending: "·", running: "…", succeeded: "✓", failed: "✗", skipped: "-" }[s.status];
            // A step of an abandoned operation never finished: it may have done part of its work, or all of it.
            const status =
              s.status === "running" && o.result === "abandoned" ? "was running, never finished" : s.status;
            lines.push(
              `  ${icon} ${s.step} ${status}${s.finishedAt ? ` at ${s.finishedAt}` : s.startedAt ? ` since ${s.startedAt}` : ""}`,
            );
            if (s.error) lines.push(`      ${s.error.code}: ${s.error.message}`);
            if (s.progress && s.status !== "succeeded") lines.push(`      last: ${s.progress}`);
            if (s.evidence && Object.keys(s.evidence).length)
              lines.push(`      evidence: ${JSON.stringify(s.evidence)}`);
          }
        }
        return lines.join("\n");
      }),
    );
    return 0;
  },
});
