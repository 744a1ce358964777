import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { KubecycleError, type Logger } from "../shared/index.js";
import type { AgentPool } from "./agents/index.js";
import type { CompiledCoordinatorConfig } from "./config.js";
import { internalIp, isControlPlane, type ClusterApi } from "./kube/index.js";
import type { InventoryNode } from "./plan/index.js";

/** The cluster as kubecycle knows it: from the API and the agents, or from the cache when the API is down. */
export interface Inventory {
  cluster: string;
  collectedAt: string;
  source: "api" | "cache";
  nodes: InventoryNode[];
}

const CACHE = "inventory.json";

/**
 * Discovers the inventory: nodes, addresses and control-plane role from the Kubernetes API, etcd membership from
 * each node's agent (a node is a member when its agent finds a local member). Writes the cache on success; when
 * the API does not answer, reads the cache instead and says so.
 */
export async function loadInventory(deps: {
  api: ClusterApi;
  agents: AgentPool;
  config: Readonly<CompiledCoordinatorConfig>;
  log: Logger;
}): Promise<Inventory> {
  const { api, config } = deps;
  const previous = await readInventoryCache(config.stateDir);
  // The control-plane nodes we knew of are fallbacks when the kubeconfig's server is the one that is down.
  if (previous) api.addFallbackHosts(previous.nodes.filter((n) => n.controlPlane).map((n) => n.address));
  let nodes;
  try {
    nodes = await api.listNodes();
  } catch (err) {
    const code = (err as KubecycleError).code;
    if (code !== "KUBE_API_UNREACHABLE" && code !== "KUBE_API_FAILED") throw err;
    if (!previous) {
      throw new KubecycleError(
        "KUBE_API_UNREACHABLE",
        `${(err as Error).message}; and no cached inventory in ${config.stateDir}`,
        {
          hint: "kubecycle caches the inventory on every successful run; run `kubecycle status` once while the API is up",
        },
      );
    }
    deps.log.warn({ err }, "API down: using the cached inventory");
    return { ...previous, source: "cache" };
  }
  const found: InventoryNode[] = await Promise.all(
    nodes.map(async (n) => {
      const name = n.metadata?.name ?? "";
      const address = config.nodes[name]?.address ?? internalIp(n) ?? name;
      let etcdMember = previous?.nodes.find((p) => p.name === name)?.etcdMember ?? false;
      try {
        const st = await deps.agents.get(name, address).etcdStatus({ timeoutMs: 3000 }, { deadlineMs: 8000 });
        etcdMember = st.isMember;
      } catch (err) {
        deps.log.warn({ node: name, err }, "agent unreachable: etcd membership taken from the cache");
      }
      return { name, address, controlPlane: isControlPlane(n), etcdMember, runtime: config.runtime };
    }),
  );
  found.sort((a, b) => a.name.localeCompare(b.name));
  api.addFallbackHosts(found.filter((n) => n.controlPlane).map((n) => n.address));
  const inventory: Inventory = {
    cluster: config.cluster,
    collectedAt: new Date().toISOString(),
    source: "api",
    nodes: found,
  };
  await writeInventoryCache(config.stateDir, inventory);
  return inventory;
}

export async function readInventoryCache(stateDir: string): Promise<Inventory | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, CACHE), "utf8")) as Inventory;
  } catch {
    return undefined;
  }
}

async function writeInventoryCache(stateDir: string, inv: Inventory): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, CACHE);
  const fh = await open(`${path}.tmp`, "w", 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(inv, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(`${path}.tmp`, path);
}

/** The inventory entry of `name`, or NODE_NOT_FOUND naming the nodes there are. */
export function findNode(inv: Inventory, name: string): InventoryNode {
  const node = inv.nodes.find((n) => n.name === name);
  if (!node) {
    throw new KubecycleError("NODE_NOT_FOUND", `node ${name} is not in cluster ${inv.cluster}`, {
      node: name,
      hint: `known nodes: ${inv.nodes.map((n) => n.name).join(", ") || "(none)"}`,
    });
  }
  return node;
}
