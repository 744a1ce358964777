import { defineCommand, singleArg } from "../../command.js";
import { findNode } from "../../inventory.js";
import { inventoryOf, openSession, runProcedure } from "../../operation.js";
import { planNodeStart } from "../../plan/index.js";
import { PROCEDURE_HELP, PROCEDURE_OPTIONS } from "../common.js";

export const command = defineCommand({
  summary: "Start one node: runtime, etcd, kubelet, each verified; Ready; etcd and control-plane health; uncordon",
  usage: `kubecycle node start NODE [flags]

  Starts NODE: the container runtime, etcd (members) and kubelet, each verified active; waits for the node to be
  Ready, for etcd to be healthy with one leader and converged raft indexes, and for the control plane's health
  endpoints on control-plane nodes; uncordons only if kubecycle cordoned it; releases the cluster lock (taking
  over the one its \`node stop\` parked).

${PROCEDURE_HELP}`,
  options: { ...PROCEDURE_OPTIONS },
  async run(ctx) {
    const name = singleArg(ctx, "NODE");
    const session = await openSession(ctx, ctx.values);
    try {
      const inventory = await inventoryOf(session);
      const node = findNode(inventory, name);
      const plan = planNodeStart(node, {
        breakLock: ctx.values["break-lock"],
        timeouts: session.config.timeouts,
      });
      return await runProcedure({
        ctx,
        session,
        inventory,
        plan,
        dryRun: ctx.values["dry-run"],
        // Starting is not destructive: no confirmation.
        confirm: () => Promise.resolve(),
      });
    } finally {
      session.close();
    }
  },
});
