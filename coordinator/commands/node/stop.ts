import { defineCommand, singleArg } from "../../command.js";
import { findNode } from "../../inventory.js";
import { inventoryOf, openSession, runProcedure } from "../../operation.js";
import { MAX_DRAIN_MS } from "../../config.js";
import { isEtcdMember, planNodeStop } from "../../plan/index.js";
import { confirm } from "../../ui/confirm.js";
import { PROCEDURE_HELP, PROCEDURE_OPTIONS, parseDuration } from "../common.js";

export const command = defineCommand({
  summary: "Stop one node safely: preflight, lock, backup, cordon, drain, stop kubelet/pods/etcd/runtime, verify",
  usage: `kubecycle node stop NODE [flags]

  Stops NODE as the runbook's sections 1 and 2 do, every step verified: the agent answers and the node exists;
  for an etcd member, at least 3 members, all healthy, quorum kept without it; the evicted pods fit elsewhere;
  the cluster lock; an etcd snapshot (members); cordon; drain through the Eviction API; kubelet, the remaining
  pod sandboxes, etcd and the container runtime stopped in order; the node NotReady and etcd healthy without it.
  The lock stays parked until \`kubecycle node start NODE\` (or a re-run of this stop) takes it over.

      --skip-backup          no etcd snapshot before stopping an etcd member
      --force                stop even if the evicted pods do not fit on the other nodes, if the node is the last
                             control-plane node whose API server is ready (external etcd: the API goes down with it),
                             and evict pods that no controller replaces (as kubectl drain --force)
      --delete-emptydir-data evict pods with emptyDir volumes, whose data is deleted (as kubectl drain)
      --drain-timeout DUR    how long evictions blocked by a PodDisruptionBudget are retried (default 5m)
${PROCEDURE_HELP}`,
  options: {
    ...PROCEDURE_OPTIONS,
    "skip-backup": { type: "boolean", default: false },
    force: { type: "boolean", default: false },
    "delete-emptydir-data": { type: "boolean", default: false },
    "drain-timeout": { type: "string" },
  },
  async run(ctx) {
    const name = singleArg(ctx, "NODE");
    const drainMs = parseDuration(ctx, "--drain-timeout", ctx.values["drain-timeout"], { maxMs: MAX_DRAIN_MS });
    const session = await openSession(ctx, ctx.values);
    try {
      const inventory = await inventoryOf(session);
      const node = findNode(inventory, name);
      const { config } = session;
      const member = isEtcdMember(node);
      const plan = planNodeStop(node, {
        skipBackup: ctx.values["skip-backup"],
        force: ctx.values.force,
        deleteEmptyDirData: ctx.values["delete-emptydir-data"],
        breakLock: ctx.values["break-lock"],
        backupKeep: config.backups.keep,
        apiElsewhere: inventory.nodes.some((n) => n.controlPlane && n.name !== node.name),
        timeouts: { ...config.timeouts, ...(drainMs ? { drainMs } : {}) },
      });
      return await runProcedure({
        ctx,
        session,
        inventory,
        plan,
        dryRun: ctx.values["dry-run"],
        confirm: () =>
          confirm(
            `Stop node ${name}${member ? " (an etcd member)" : ""}: drain it and stop its kubelet, pods${member ? ", etcd" : ""} and runtime?`,
            {
              yes: ctx.values.yes,
              stdin: process.stdin,
              stderr: process.stderr,
            },
          ),
      });
    } finally {
      session.close();
    }
  },
});
