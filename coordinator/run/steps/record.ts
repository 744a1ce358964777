import { CORDONED_BY } from "../../kube/index.js";
import type { StepAction } from "../../plan/index.js";
import { writeClusterRecord } from "../../record.js";
import type { Evidence, StepContext } from "../executor.js";
import type { StepDeps } from "./deps.js";

/**
 * record-inventory: what `cluster start` needs once the API is gone, written durably before anything changes: the
 * inventory, the nodes an administrator cordoned, each node's units' enablement and its boot id.
 */
export async function runRecordInventory(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "record-inventory" }>>,
): Promise<Evidence> {
  const call = { deadlineMs: deps.config.timeouts.agentCallMs, signal: ctx.signal };
  const [apiNodes, statuses] = await Promise.all([
    deps.api.listNodes(),
    Promise.all(deps.inventory.nodes.map((n) => deps.agents.get(n.name, n.address).getStatus({}, call))),
  ]);
  const adminCordoned = apiNodes
    .filter((n) => n.spec?.unschedulable && !n.metadata?.annotations?.[CORDONED_BY])
    .map((n) => n.metadata?.name ?? "");
  const enablement = Object.fromEntries(
    deps.inventory.nodes.map((n, i) => [
      n.name,
      Object.fromEntries((statuses[i]?.units ?? []).filter((u) => u.exists).map((u) => [u.name, u.unitFileState])),
    ]),
  );
  const bootIds = Object.fromEntries(deps.inventory.nodes.map((n, i) => [n.name, statuses[i]?.facts?.bootId ?? ""]));
  const path = await writeClusterRecord(deps.config.stateDir, {
    version: 1,
    op: ctx.op,
    cluster: deps.config.cluster,
    recordedAt: new Date().toISOString(),
    bootHold: ctx.step.action.bootHold,
    poweroff: ctx.step.action.poweroff,
    ...(ctx.step.action.startOnBoot ? { startOnBoot: true } : {}),
    inventory: deps.inventory,
    adminCordoned,
    enablement,
    bootIds,
  });
  return {
    path,
    nodes: deps.inventory.nodes.length,
    members: deps.inventory.etcd.members.length,
    adminCordoned,
    ...(ctx.step.action.startOnBoot ? { startOnBoot: "armed for kubecycle serve" } : {}),
  };
}
