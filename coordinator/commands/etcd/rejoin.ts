import { KubecycleError } from "../../../shared/index.js";
import { defineCommand, singleArg } from "../../command.js";
import { findNode } from "../../inventory.js";
import { inventoryOf, openSession, runProcedure } from "../../operation.js";
import { etcdRepairRefusal, isEtcdMember, planEtcdRejoin } from "../../plan/index.js";
import { confirm } from "../../ui/confirm.js";
import { PROCEDURE_HELP, PROCEDURE_OPTIONS } from "../common.js";
import { refreshInventory } from "./restore.js";

export const command = defineCommand({
  summary: "Make an etcd member that lost its data rejoin empty, while the others keep quorum",
  usage: `kubecycle etcd rejoin NODE [flags]

  For one member whose data is lost or damaged while the others are healthy: its member is stopped; through a
  healthy member it is removed and added again with the same name and peer URLs; its old data is moved aside (never
  deleted) and etcd told to join the existing cluster; it starts and catches up from the others; the join flags are
  taken back; every member healthy with the recorded members. Refused when the others are not healthy with a
  leader (then the whole etcd needs \`kubecycle etcd restore\`).

${PROCEDURE_HELP}`,
  options: { ...PROCEDURE_OPTIONS },
  async run(ctx) {
    const name = singleArg(ctx, "NODE");
    const session = await openSession(ctx, ctx.values);
    try {
      const inventory = await inventoryOf(session);
      const node = findNode(inventory, name);
      const refusal = [
        ...etcdRepairRefusal(inventory.nodes, inventory.etcd.members),
        ...(isEtcdMember(node) ? [] : [`${name} runs no etcd member`]),
        ...(inventory.nodes.filter(isEtcdMember).length < 2 ? ["a member can only rejoin others"] : []),
      ];
      if (refusal.length > 0) {
        throw new KubecycleError("INVALID_REQUEST", `${name} cannot rejoin: ${refusal.join("; ")}`, {
          problems: refusal,
          hint: "see `kubecycle status`; nothing was changed",
        });
      }
      const { config } = session;
      const plan = planEtcdRejoin(config.cluster, inventory.nodes, node, {
        breakLock: ctx.values["break-lock"],
        timeouts: config.timeouts,
      });
      const code = await runProcedure({
        ctx,
        session,
        inventory,
        plan,
        dryRun: ctx.values["dry-run"],
        confirm: () =>
          confirm(
            `Replace ${name}'s etcd member: stop it, set its data aside and let it rejoin empty from the others?`,
            { yes: ctx.values.yes, stdin: process.stdin, stderr: process.stderr },
          ),
      });
      if (code === 0 && !ctx.values["dry-run"]) await refreshInventory(session);
      return code;
    } finally {
      session.close();
    }
  },
});
