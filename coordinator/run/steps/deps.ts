import { KubecycleError, type Logger } from "../../../shared/index.js";
import type { AgentConnection, AgentPool } from "../../agents/index.js";
import type { CompiledCoordinatorConfig } from "../../config.js";
import { findNode, type Inventory } from "../../inventory.js";
import type { ClusterApi, ClusterLock, LockHolder } from "../../kube/index.js";
import type { InventoryNode } from "../../plan/index.js";
import type { StepContext } from "../executor.js";

/** What step runners work with: the cluster's API, its agents, the inventory, the lock. */
export interface StepDeps {
  api: ClusterApi;
  agents: AgentPool;
  inventory: Inventory;
  config: Readonly<CompiledCoordinatorConfig>;
  lock: ClusterLock;
  /** Which parked lock this operation may adopt (a node start adopting its node's stop). */
  adoptLock?: (h: LockHolder) => boolean;
  log: Logger;
}

/** The step's node in the inventory; every node step has one. */
export function stepNode(deps: StepDeps, ctx: StepContext): InventoryNode {
  if (!ctx.step.node) throw new KubecycleError("INTERNAL", `step ${ctx.step.id} has no node`);
  return findNode(deps.inventory, ctx.step.node);
}

/** The agent of the step's node. */
export function stepAgent(deps: StepDeps, ctx: StepContext): AgentConnection {
  const node = stepNode(deps, ctx);
  return deps.agents.get(node.name, node.address);
}

/** What an agent call's deadline adds to the work it asks for: the way there and back. */
export const REPLY_MARGIN_MS = 2000;

/** Time left before the step's deadline, minus a margin for the answer to travel back. */
export function remaining(ctx: StepContext, startedAt: number, marginMs = REPLY_MARGIN_MS): number {
  return Math.max(1000, ctx.step.timeoutMs - (Date.now() - startedAt) - marginMs);
}
