import { KubecycleError } from "../../../shared/index.js";
import { defineCommand, noArgs } from "../../command.js";
import { inventoryOf, openSession, runProcedure } from "../../operation.js";
import { isEtcdMember, planClusterStop } from "../../plan/index.js";
import { confirm } from "../../ui/confirm.js";
import { PROCEDURE_HELP, PROCEDURE_OPTIONS, parseDuration } from "../common.js";

/** The default `--cert-window`: certificates must outlive a month-long outage. */
const CERT_WINDOW_MS = 30 * 86_400_000;

export const command = defineCommand({
  summary: "Stop the whole cluster for a planned outage: preflight, record, backup, cordon, then phase by phase",
  usage: `kubecycle cluster stop [flags]

  The runbook's section 3 (a planned power or network outage), every phase verified on every node before the
  next. Preflight, refusing with nothing changed: every agent answers and lets this certificate operate; the API
  answers; etcd is healthy with one leader; no certificate the cluster needs expires within --cert-window; every
  node still has the addresses etcd and the API know it by. Then the inventory is recorded for \`cluster start\`
  (which begins with the API down), the cluster lock taken, an etcd snapshot verified, every node cordoned, and on
  all nodes at once: kubelet stopped; the workload's pods stopped within their grace periods, then the control
  plane's; every etcd member together; the container runtime. The lock stays parked for \`kubecycle cluster start\`.

      --boot-hold            disable kubelet, etcd and the runtime at boot, so nodes that boot start none of them
                             (the agent still starts; \`cluster start\` enables them again)
      --poweroff             power every node off at the end (its agent answers, then powers off)
      --cert-window DUR      refuse when a certificate expires within this long (default 30d)
${PROCEDURE_HELP}`,
  options: {
    ...PROCEDURE_OPTIONS,
    "boot-hold": { type: "boolean", default: false },
    poweroff: { type: "boolean", default: false },
    "cert-window": { type: "string" },
  },
  async run(ctx) {
    noArgs(ctx);
    const certWindowMs =
      parseDuration(ctx, "--cert-window", ctx.values["cert-window"], { minMs: 0, maxMs: 3650 * 86_400_000 }) ??
      CERT_WINDOW_MS;
    const session = await openSession(ctx, ctx.values);
    try {
      const inventory = await inventoryOf(session);
      if (inventory.source !== "api") {
        throw new KubecycleError("KUBE_API_UNREACHABLE", "cluster stop needs the API: it did not answer", {
          hint: "check `kubecycle status`; a cluster whose API is down cannot be stopped safely by kubecycle",
        });
      }
      const { config } = session;
      const plan = planClusterStop(config.cluster, inventory.nodes, {
        poweroff: ctx.values.poweroff,
        bootHold: ctx.values["boot-hold"],
        certWindowMs,
        breakLock: ctx.values["break-lock"],
        backupKeep: config.backups.keep,
        timeouts: config.timeouts,
      });
      const members = inventory.nodes.filter(isEtcdMember).length;
      return await runProcedure({
        ctx,
        session,
        inventory,
        plan,
        dryRun: ctx.values["dry-run"],
        confirm: () =>
          confirm(
            `Stop the whole cluster ${config.cluster} (${inventory.nodes.length} nodes, ${members} etcd members)${ctx.values.poweroff ? " and power it off" : ""}? ` +
              "Every workload stops and the API goes down until `kubecycle cluster start`.",
            { yes: ctx.values.yes, stdin: process.stdin, stderr: process.stderr },
          ),
      });
    } finally {
      session.close();
    }
  },
});
