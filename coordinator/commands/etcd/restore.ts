import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { KubecycleError } from "../../../shared/index.js";
import { defineCommand, singleArg } from "../../command.js";
import { loadInventory } from "../../inventory.js";
import { inventoryOf, openSession, runProcedure } from "../../operation.js";
import { etcdRepairRefusal, planEtcdRestore } from "../../plan/index.js";
import { sha256File } from "../../run/steps/restore.js";
import { confirm } from "../../ui/confirm.js";
import { PROCEDURE_HELP, PROCEDURE_OPTIONS } from "../common.js";

export const command = defineCommand({
  summary: "Restore every etcd member from a snapshot, verified, and bring the control plane back",
  usage: `kubecycle etcd restore SNAPSHOT [flags]

  The runbook's "restore etcd data from a backup", as one verified procedure. The snapshot is checked first: its
  sha256 (against SNAPSHOT.sha256 when it is there, as \`kubecycle etcd snapshot\` writes it), then on every member
  node, where the agent checks it again and reads it with etcd's own tool. Only then: kubelet stopped where it runs
  an API server or etcd, the control plane's pods, every member; each member restored from the same snapshot into a
  fresh data directory with the recorded member list and peer URLs and a new cluster token (the old data is moved
  aside, never deleted); the members started together; every member healthy, one leader, the recorded members, at
  the snapshot's revision; then the control plane. Refused while etcd is healthy, unless --force.
  A restore cut short is finished with \`kubecycle ops resume\`.

      --force     restore also when etcd is healthy (every change since the snapshot is lost)
${PROCEDURE_HELP}`,
  options: { ...PROCEDURE_OPTIONS, force: { type: "boolean", default: false } },
  async run(ctx) {
    const path = resolve(singleArg(ctx, "SNAPSHOT"));
    const sha256 = await snapshotSha256(path);
    const session = await openSession(ctx, ctx.values);
    try {
      const inventory = await inventoryOf(session);
      const refusal = etcdRepairRefusal(inventory.nodes, inventory.etcd.members);
      if (refusal.length > 0) {
        throw new KubecycleError("INVALID_REQUEST", `kubecycle cannot restore this etcd: ${refusal.join("; ")}`, {
          problems: refusal,
          hint: "restore it by hand (etcdutl snapshot restore on each member); nothing was changed",
        });
      }
      const { config } = session;
      const plan = planEtcdRestore(config.cluster, inventory.nodes, inventory.etcd.members, {
        snapshot: { path, sha256 },
        clusterToken: `kubecycle-restore-${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString("hex")}`,
        force: ctx.values.force,
        breakLock: ctx.values["break-lock"],
        timeouts: config.timeouts,
      });
      const members = inventory.etcd.members.map((m) => m.node ?? m.name).join(", ");
      const code = await runProcedure({
        ctx,
        session,
        inventory,
        plan,
        dryRun: ctx.values["dry-run"],
        confirm: () =>
          confirm(
            `Restore etcd (${members}) from ${path}: stop the control plane and every member, and replace every member's data with the snapshot's (the old data is kept aside)?`,
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

/** The snapshot's sha256, checked against the .sha256 file beside it when there is one. */
async function snapshotSha256(path: string): Promise<string> {
  const sha256 = await sha256File(path).catch((err: NodeJS.ErrnoException) => {
    throw new KubecycleError(
      "INVALID_REQUEST",
      `snapshot ${path}: ${err.code === "ENOENT" ? "no such file" : err.message}`,
      {
        hint: "give the path of a snapshot on this host (`kubecycle etcd snapshot` writes them to the backup directory)",
      },
    );
  });
  const recorded = await readFile(`${path}.sha256`, "utf8").then(
    (text) => text.trim().split(/\s+/)[0],
    (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    },
  );
  if (recorded !== undefined && recorded !== sha256) {
    throw new KubecycleError(
      "SNAPSHOT_CORRUPT",
      `snapshot ${path} is damaged: its sha256 is ${sha256}, ${path}.sha256 says ${recorded}`,
      { hint: "use another snapshot; nothing was changed" },
    );
  }
  return sha256;
}

/**
 * The members have new ids after a restore or a rejoin: the inventory cache (what kubecycle falls back on when the
 * API is down) is taken again now that the API is back.
 */
export async function refreshInventory(session: Parameters<typeof loadInventory>[0]): Promise<void> {
  try {
    const inv = await loadInventory(session);
    if (inv.source !== "api") session.log.warn("the API did not answer: the cached inventory keeps the old member ids");
  } catch (err) {
    session.log.warn({ err }, "the inventory could not be taken again after the repair");
  }
}
