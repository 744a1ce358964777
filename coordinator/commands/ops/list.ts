import { defineCommand, noArgs } from "../../command.js";
import { loadCoordinatorConfig } from "../../config.js";
import { listOperations } from "../../run/journal.js";
import { renderOutput } from "../../ui/output.js";
import { table } from "../../ui/table.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS } from "../common.js";

export const command = defineCommand({
  summary: "List the operations journaled in the state directory, newest first",
  usage: `kubecycle ops list [-o json|yaml]

${CLUSTER_HELP}`,
  options: { ...CLUSTER_OPTIONS },
  async run(ctx) {
    noArgs(ctx);
    const config = await loadCoordinatorConfig(ctx.values, ctx.env);
    const ops = await listOperations(config.stateDir);
    const rows = ops.map((o) => {
      const failed = o.steps.find((s) => s.status === "failed");
      const done = o.steps.filter((s) => s.status === "succeeded" || s.status === "skipped").length;
      return {
        op: o.op,
        procedure: o.procedure,
        target: o.target,
        result: o.result,
        steps: `${done}/${o.steps.length}`,
        started: o.startedAt,
        by: `${o.user}@${o.host}`,
        stoppedAt: failed?.step ?? "",
      };
    });
    ctx.stdout.write(
      renderOutput(ctx.output, rows, () =>
        rows.length === 0
          ? "no operations yet"
          : table(
              ["OPERATION", "PROCEDURE", "TARGET", "RESULT", "STEPS", "STARTED", "BY", "STOPPED AT"],
              rows.map((r) => [r.op, r.procedure, r.target, r.result, r.steps, r.started, r.by, r.stoppedAt]),
            ),
      ),
    );
    return 0;
  },
});
