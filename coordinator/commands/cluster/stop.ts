import { KubecycleError, readTlsFiles } from "../../../shared/index.js";
import { UsageError, defineCommand, noArgs } from "../../command.js";
import { discover } from "../../inventory.js";
import { openSession, runProcedure, type ClusterSession } from "../../operation.js";
import { ServeConnection } from "../../serve/client.js";
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
      --start-on-boot        with --poweroff and --boot-hold: \`kubecycle serve\` runs \`cluster start\` by itself
                             once every node has reported from its new boot (power returned); until then nothing
                             starts, and \`kubecycle status\` names the nodes still missing
      --cert-window DUR      refuse when a certificate expires within this long (default 30d)
${PROCEDURE_HELP}`,
  options: {
    ...PROCEDURE_OPTIONS,
    "boot-hold": { type: "boolean", default: false },
    poweroff: { type: "boolean", default: false },
    "start-on-boot": { type: "boolean", default: false },
    "cert-window": { type: "string" },
  },
  async run(ctx) {
    noArgs(ctx);
    const startOnBoot = ctx.values["start-on-boot"];
    if (startOnBoot && !(ctx.values.poweroff && ctx.values["boot-hold"])) {
      // Without a power-off there is no new boot to wait for; without the boot hold the nodes would start kubelet,
      // etcd and the runtime by themselves, one by one as they boot, before serve could start them in order.
      throw new UsageError("--start-on-boot needs --poweroff and --boot-hold", ctx.name);
    }
    const certWindowMs =
      parseDuration(ctx, "--cert-window", ctx.values["cert-window"], { minMs: 0, maxMs: 3650 * 86_400_000 }) ??
      CERT_WINDOW_MS;
    const session = await openSession(ctx, ctx.values);
    try {
      const { inventory, localEtcd } = await discover(session);
      if (inventory.source !== "api") {
        throw new KubecycleError("KUBE_API_UNREACHABLE", "cluster stop needs the API: it did not answer", {
          hint: "check `kubecycle status`; a cluster whose API is down cannot be stopped safely by kubecycle",
        });
      }
      const { config } = session;
      const plan = planClusterStop(config.cluster, inventory.nodes, {
        poweroff: ctx.values.poweroff,
        bootHold: ctx.values["boot-hold"],
        startOnBoot,
        certWindowMs,
        breakLock: ctx.values["break-lock"],
        backupKeep: config.backups.keep,
        timeouts: config.timeouts,
        etcdLeader: [...localEtcd].find(([, st]) => st.isMember && st.memberId === st.leaderId)?.[0],
      });
      const members = inventory.nodes.filter(isEtcdMember).length;
      if (startOnBoot && !ctx.values["dry-run"]) await mustReachServe(session);
      return await runProcedure({
        ctx,
        session,
        inventory,
        plan,
        dryRun: ctx.values["dry-run"],
        confirm: () =>
          confirm(
            `Stop the whole cluster ${config.cluster} (${inventory.nodes.length} nodes, ${members} etcd members)${ctx.values.poweroff ? " and power it off" : ""}? ` +
              (startOnBoot
                ? "Every workload stops and the API goes down until every node has booted again and `kubecycle serve` starts the cluster."
                : "Every workload stops and the API goes down until `kubecycle cluster start`."),
            { yes: ctx.values.yes, stdin: process.stdin, stderr: process.stderr },
          ),
      });
    } finally {
      session.close();
    }
  },
});

/**
 * A start armed on boot is run by `kubecycle serve`: refuse (changing nothing) unless the config names a serve and
 * it answers now, or the cluster would stay stopped after power returns with nobody to start it.
 */
async function mustReachServe(session: ClusterSession): Promise<void> {
  const s = session.config.serve;
  if (!s) {
    throw new KubecycleError("CONFIG_INVALID", "--start-on-boot needs kubecycle serve, and the config names none", {
      field: "serve",
      refused: true,
      hint: "add a serve block (listen, tls, endpoint) to the config and run `kubecycle serve` (systemd/kubecycle-serve.service)",
    });
  }
  const conn = new ServeConnection(
    s.endpoint,
    await readTlsFiles(session.config.agents.tls, "agents.tls"),
    s.serverName,
  );
  try {
    await conn.listReports(session.config.agents.callTimeoutMs);
  } catch (err) {
    throw new KubecycleError(
      "SERVE_UNREACHABLE",
      `--start-on-boot: kubecycle serve at ${s.endpoint} does not answer: ${(err as Error).message}`,
      {
        refused: true,
        hint: "start it (systemctl start kubecycle-serve) and check serve.endpoint; nothing was changed",
      },
      { cause: err },
    );
  } finally {
    conn.close();
  }
}
