import { UsageError, defineCommand, noArgs } from "../../command.js";
import { etcdProbeTimeouts } from "../../config.js";
import { takeSnapshot } from "../../backup.js";
import { inventoryOf, openSession } from "../../operation.js";
import { isEtcdMember } from "../../plan/index.js";
import { renderOutput } from "../../ui/output.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS } from "../common.js";

export const command = defineCommand({
  summary: "Take a verified etcd snapshot through a member's agent",
  usage: `kubecycle etcd snapshot [--out DIR] [--keep N]

  Streams a snapshot from a healthy member's agent into DIR (default: the config's backup directory): written
  to .part, fsynced, its sha256 checked against the agent's, renamed, the newest N kept. Prints the number of
  keys and the revision.

      --out DIR    where to write it
      --keep N     snapshots kept (default from the config, 5)
${CLUSTER_HELP}`,
  options: { ...CLUSTER_OPTIONS, out: { type: "string" }, keep: { type: "string" } },
  async run(ctx) {
    noArgs(ctx);
    const session = await openSession(ctx, ctx.values);
    try {
      const inventory = await inventoryOf(session);
      const keep = ctx.values.keep === undefined ? session.config.backups.keep : Number(ctx.values.keep);
      if (!Number.isInteger(keep) || keep < 1) {
        throw new UsageError(
          `--keep must be a whole number of snapshots, 1 or more, not "${ctx.values.keep}"`,
          ctx.name,
        );
      }
      const snap = await takeSnapshot({
        agents: session.agents,
        members: inventory.nodes.filter(isEtcdMember),
        dir: ctx.values.out ?? session.config.backups.dir,
        cluster: session.config.cluster,
        keep,
        timeoutMs: session.config.timeouts.backupMs,
        probe: etcdProbeTimeouts(session.config),
      });
      ctx.stdout.write(
        renderOutput(
          ctx.output,
          snap,
          () =>
            `snapshot ${snap.path}\n  from ${snap.member}: ${snap.totalKeys} keys at revision ${snap.revision}, ${snap.sizeBytes} bytes\n  sha256 ${snap.sha256}`,
        ),
      );
      return 0;
    } finally {
      session.close();
    }
  },
});
