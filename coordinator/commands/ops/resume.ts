import { KubecycleError } from "../../../shared/index.js";
import { defineCommand } from "../../command.js";
import type { Inventory } from "../../inventory.js";
import { openSession, runProcedure } from "../../operation.js";
import { PLAN_VERSION } from "../../plan/index.js";
import { listOperations, readOperation, readOperationInventory } from "../../run/journal.js";
import { confirm } from "../../ui/confirm.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS } from "../common.js";

export const command = defineCommand({
  summary: "Finish an interrupted or failed operation from its journal, once the cause is fixed",
  usage: `kubecycle ops resume [OPERATION] [flags]

  Runs the operation's own plan again from where it stopped (by default the newest operation that did not
  succeed): steps that succeeded are not run again; the step that was running or failed runs again with the same
  agent operation ids, so what an agent already did is answered from its record instead of done twice. Its lock is
  taken back only from the operation's own earlier run (parked, or left by a process that is gone).

  -y, --yes           do not ask for confirmation
${CLUSTER_HELP}`,
  options: { ...CLUSTER_OPTIONS, yes: { type: "boolean", short: "y", default: false } },
  async run(ctx) {
    if (ctx.positionals.length > 1)
      throw new KubecycleError("INVALID_REQUEST", "ops resume takes one OPERATION at most");
    const session = await openSession(ctx, ctx.values);
    try {
      const { stateDir } = session.config;
      const wanted = ctx.positionals[0];
      const o = wanted
        ? await readOperation(stateDir, wanted)
        : (await listOperations(stateDir)).find((x) => x.result !== "succeeded");
      if (!o) {
        throw new KubecycleError("INVALID_REQUEST", "no operation to resume: every journaled operation succeeded", {
          hint: "list them with `kubecycle ops list`",
        });
      }
      if (o.result === "succeeded") {
        throw new KubecycleError("INVALID_REQUEST", `operation ${o.op} succeeded; there is nothing to resume`);
      }
      if (o.result === "running") {
        throw new KubecycleError("LOCK_HELD", `operation ${o.op} is still running (by ${o.user}@${o.host})`, {
          hint: "wait for it, or stop it (Ctrl-C) first; an operation on another host shows as running until it ends",
        });
      }
      // Read back from disk: an older or newer kubecycle may have written another version.
      const version: number = o.plan.version;
      if (version !== PLAN_VERSION) {
        throw new KubecycleError(
          "INVALID_REQUEST",
          `operation ${o.op} has a plan of version ${version}; this kubecycle runs version ${PLAN_VERSION}`,
          { hint: "resume it with the kubecycle that started it, or run the procedure again" },
        );
      }
      const completed = new Map(
        o.steps
          .filter((s) => s.status === "succeeded" || s.status === "skipped")
          .map((s) => [s.step, s.evidence ?? {}] as const),
      );
      const inventory = await readOperationInventory<Inventory>(stateDir, o.op);
      session.api.addFallbackHosts(inventory.nodes.filter((n) => n.controlPlane).map((n) => n.address));
      const left = o.steps.length - completed.size;
      return await runProcedure({
        ctx,
        session,
        inventory,
        plan: o.plan,
        dryRun: false,
        confirm: () =>
          o.procedure.endsWith(" start")
            ? Promise.resolve()
            : confirm(
                `Resume ${o.procedure} ${o.target} (operation ${o.op}, ${left} of ${o.steps.length} steps left)?`,
                {
                  yes: ctx.values.yes,
                  stdin: process.stdin,
                  stderr: process.stderr,
                },
              ),
        resume: { op: o.op, epoch: o.epoch, completed },
      });
    } finally {
      session.close();
    }
  },
});
