import { defineCommand, noArgs, type CommandContext } from "../../command.js";
import { openSession, runProcedure, type ClusterSession } from "../../operation.js";
import type { OperationOrigin } from "../../run/journal.js";
import { bootHoldUnits, planClusterStart } from "../../plan/index.js";
import { readClusterRecord } from "../../record.js";
import { PROCEDURE_HELP, PROCEDURE_OPTIONS, parseDuration } from "../common.js";

/** Defaults of `--wait-agents` and `--settle-timeout`. */
export const WAIT_AGENTS_MS = 10 * 60_000;
export const SETTLE_MS = 5 * 60_000;

export const command = defineCommand({
  summary: "Start the cluster again after a planned outage, from what cluster stop recorded, phase by phase",
  usage: `kubecycle cluster start [flags]

  The runbook's section 3.4, with the API down at first: from the inventory \`cluster stop\` recorded. Waits for
  every recorded node's agent (naming the ones still missing) and refuses agents that describe another cluster;
  then the container runtime everywhere; every etcd member at once (a member started alone waits for a quorum that
  never comes); each member healthy, then the cluster (one leader, the recorded members, caught up); kubelet on the
  control plane and its health endpoints; kubelet on the workers; the kubelets' pending CSRs; every node Ready; what --boot-hold disabled
  enabled again; kubecycle's cordons lifted (an administrator's stay); and a settle report of the pods that do not
  run or restart in a loop.

      --wait-agents DUR      how long to wait for every node's agent (default 10m)
      --settle-timeout DUR   how long to wait for the pods to run before the settle report (default 5m)
      --approve-kubelet-csrs approve the kubelets' pending certificate requests that match a recorded node: asked by
                             the node itself (not a bootstrap token), the signer's usages, and for a serving
                             certificate only the node's name and recorded addresses; the others are listed with why
                             (without the flag, all are only listed)
${PROCEDURE_HELP}`,
  options: {
    ...PROCEDURE_OPTIONS,
    "wait-agents": { type: "string" },
    "settle-timeout": { type: "string" },
    "approve-kubelet-csrs": { type: "boolean", default: false },
  },
  async run(ctx) {
    noArgs(ctx);
    const waitAgentsMs = parseDuration(ctx, "--wait-agents", ctx.values["wait-agents"], { maxMs: 7 * 86_400_000 });
    const settleMs = parseDuration(ctx, "--settle-timeout", ctx.values["settle-timeout"], {
      minMs: 0,
      maxMs: 86_400_000,
    });
    const session = await openSession(ctx, ctx.values);
    try {
      return await startCluster(ctx, session, {
        breakLock: ctx.values["break-lock"],
        dryRun: ctx.values["dry-run"],
        waitAgentsMs: waitAgentsMs ?? WAIT_AGENTS_MS,
        settleMs: settleMs ?? SETTLE_MS,
        approveKubeletCsrs: ctx.values["approve-kubelet-csrs"],
      });
    } finally {
      session.close();
    }
  },
});

/** How a cluster start runs: the command's flags, and who began it when not an operator. */
export interface ClusterStartRun {
  breakLock: boolean;
  dryRun: boolean;
  waitAgentsMs: number;
  settleMs: number;
  /** Approve the kubelets' pending CSRs that match a recorded node (otherwise they are only listed). */
  approveKubeletCsrs: boolean;
  /** Set by `kubecycle serve` when it runs the start a stop armed: journaled and shown by `ops show`. */
  origin?: OperationOrigin;
}

/**
 * `cluster start` on an open session: its plan from the recorded inventory, run by runProcedure (journal, lock,
 * progress). The command runs it for an operator; `kubecycle serve` runs the very same for a start armed on boot,
 * with a context whose output is its log.
 */
export async function startCluster(ctx: CommandContext, session: ClusterSession, o: ClusterStartRun): Promise<number> {
  const { config } = session;
  const record = await readClusterRecord(config.stateDir, config.cluster);
  const inventory = { ...record.inventory, source: "cache" as const };
  session.api.addFallbackHosts(inventory.nodes.filter((n) => n.controlPlane).map((n) => n.address));
  const reenable = record.bootHold
    ? Object.fromEntries(
        inventory.nodes.map((n) => [
          n.name,
          bootHoldUnits(n).filter((u) => record.enablement[n.name]?.[u] === "enabled"),
        ]),
      )
    : {};
  const plan = planClusterStart(config.cluster, inventory.nodes, {
    breakLock: o.breakLock,
    waitAgentsMs: o.waitAgentsMs,
    settleMs: o.settleMs,
    reenable,
    approveKubeletCsrs: o.approveKubeletCsrs,
    timeouts: config.timeouts,
  });
  return runProcedure({
    ctx,
    session,
    inventory,
    plan,
    dryRun: o.dryRun,
    // Starting is not destructive: no confirmation.
    confirm: () => Promise.resolve(),
    ...(o.origin ? { origin: o.origin } : {}),
  });
}
