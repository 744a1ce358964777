import { takeSnapshot } from "../../backup.js";
import { etcdProbeTimeouts } from "../../config.js";
import { isEtcdMember, type StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import type { StepDeps } from "./deps.js";

/** etcd-snapshot: a verified snapshot in the backup directory before anything is stopped. */
export async function runEtcdSnapshot(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "etcd-snapshot" }>>,
): Promise<Evidence> {
  const snap = await takeSnapshot({
    agents: deps.agents,
    members: deps.inventory.nodes.filter(isEtcdMember),
    dir: deps.config.backups.dir,
    cluster: deps.config.cluster,
    keep: ctx.step.action.keep,
    signal: ctx.signal,
    progress: ctx.progress,
    timeoutMs: ctx.step.timeoutMs,
    probe: etcdProbeTimeouts(deps.config),
  });
  return { ...snap };
}
