import type { V1Node } from "@kubernetes/client-node";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  KubecycleError,
  type EtcdMemberStatus__Output,
  type Logger,
  type NodeLayout__Output,
  type NodeStatus__Output,
  writeFileDurably,
} from "../shared/index.js";
import type { AgentConnection, AgentPool } from "./agents/index.js";
import { etcdProbeTimeouts, type CompiledCoordinatorConfig } from "./config.js";
import {
  matchMembers,
  pickMemberList,
  type EtcdInventory,
  type LocalMemberView,
  type NodeAddresses,
} from "./etcd/membership.js";
import { internalIp, isControlPlane, type ClusterApi } from "./kube/index.js";
import type { EtcdMode, InventoryNode, NodeEtcd, NodeRuntime } from "./plan/index.js";

/** The cluster as kubecycle knows it: from the API and the agents, or from the cache when the API is down. */
export interface Inventory {
  cluster: string;
  collectedAt: string;
  source: "api" | "cache";
  nodes: InventoryNode[];
  /** etcd's member list, each member with the node it runs on (none: external etcd). */
  etcd: EtcdInventory;
}

const CACHE = "inventory.json";
/** Bumped when the cached inventory's shape changes; a cache of another version is not used. */
const CACHE_VERSION = 2;

const ETCD_MODES: Record<string, EtcdMode> = {
  ETCD_MODE_SYSTEMD: "systemd",
  ETCD_MODE_STATIC_POD: "static-pod",
  ETCD_MODE_NONE: "none",
};

/**
 * How many agents the inventory asks at once. Its call is usually the first to each agent, which opens the
 * connection: a TLS handshake on the coordinator's one thread (about 5 ms of CPU each on a 2-core machine). A
 * thousand opened at once progress together and all finish late, past their calls' deadlines (every node then looks
 * unreachable); a hundred at a time, each finishes within its own, and the whole takes no longer.
 */
const FIRST_CONTACT_CONCURRENCY = 100;

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A node from the API, with what its agent answered about its layout (nothing when it did not answer). */
interface Probed {
  name: string;
  address: string;
  addresses: string[];
  controlPlane: boolean;
  layout?: NodeLayout__Output;
  error?: string;
  /** Its status, local etcd member included, when discovery was asked for statuses (`withStatus`). */
  status?: NodeStatus__Output;
  statusError?: unknown;
}

/** What discovery saw on its way, for a caller that shows it (status) instead of asking again. */
export interface Discovery {
  inventory: Inventory;
  /** The API's nodes, when the API answered. */
  apiNodes?: V1Node[];
  /** Each etcd node's local member as its agent answered, by node name. */
  localEtcd: Map<string, EtcdMemberStatus__Output>;
  /** With `withStatus`: each node's status as its agent answered (units, facts, local etcd), or why not. */
  statuses?: Map<string, { status?: NodeStatus__Output; error?: unknown }>;
}

type DiscoveryDeps = {
  api: ClusterApi;
  agents: AgentPool;
  config: Readonly<CompiledCoordinatorConfig>;
  log: Logger;
};

/**
 * Discovers the inventory: nodes, addresses and the control-plane role from the Kubernetes API; how each node runs
 * etcd and its runtime from its agent (GetNodeLayout); etcd membership from etcd's member list, matched against the
 * nodes' addresses. Writes the cache on success; when the API does not answer, reads the cache instead and says so.
 * A node whose agent does not answer keeps the layout an earlier inventory had (its `agent` says "unreachable").
 */
export async function loadInventory(deps: DiscoveryDeps): Promise<Inventory> {
  return (await discover(deps)).inventory;
}

/**
 * {@link loadInventory}, with what it saw on the way. `withStatus`: each agent is asked for its status (its local etcd
 * member included) together with its layout, in one round instead of a layout round, an etcd round and a status
 * round; the etcd members come from those statuses.
 */
export async function discover(
  deps: DiscoveryDeps,
  opts: {
    withStatus?: boolean;
    /** Called as each node's agent is first asked: a caller that wants more of it asks in the same round. */
    onContact?: (node: string, agent: AgentConnection) => void;
  } = {},
): Promise<Discovery> {
  const { api, config } = deps;
  const previous = await readInventoryCache(config.stateDir);
  // The control-plane nodes we knew of are fallbacks when the kubeconfig's server is the one that is down.
  if (previous) api.addFallbackHosts(previous.nodes.filter((n) => n.controlPlane).map((n) => n.address));
  let apiNodes: V1Node[];
  try {
    apiNodes = await api.listNodes();
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
    return { inventory: { ...previous, source: "cache" }, localEtcd: new Map() };
  }

  const call = { deadlineMs: config.timeouts.agentCallMs };
  const probe = etcdProbeTimeouts(config);
  const probed = await mapBounded(apiNodes, FIRST_CONTACT_CONCURRENCY, async (n): Promise<Probed> => {
    const name = n.metadata?.name ?? "";
    const internal = internalIp(n);
    const address = config.nodes[name]?.address ?? internal ?? name;
    const base = { name, address, addresses: [internal ?? address], controlPlane: isControlPlane(n) };
    const agent = deps.agents.get(name, address);
    opts.onContact?.(name, agent);
    const status = opts.withStatus
      ? agent.getStatus({ includeEtcd: true }, { deadlineMs: probe.callMs }).then(
          (s) => ({ status: s }),
          (err: unknown) => ({ statusError: err }),
        )
      : undefined;
    try {
      const layout = await agent.getNodeLayout(call);
      return {
        ...base,
        layout,
        addresses: unique([...base.addresses, address, ...addressesOf(layout)]),
        ...(await status),
      };
    } catch (err) {
      deps.log.warn({ node: name, err }, "agent unreachable: its layout is taken from the cached inventory");
      return {
        ...base,
        addresses: unique([...base.addresses, address]),
        error: (err as Error).message,
        ...(await status),
      };
    }
  });

  // Every node that has etcd configured is asked about its local member (or was, with its status); the member list
  // comes from them.
  const local: LocalMemberView[] = await Promise.all(
    probed
      .filter((p) => p.layout?.etcd && etcdMode(p.layout) !== "none")
      .map(async (p): Promise<LocalMemberView> => {
        if (opts.withStatus) {
          return p.status?.etcd
            ? { node: p.name, status: p.status.etcd }
            : { node: p.name, error: errorText(p.statusError ?? "the agent's status named no etcd member") };
        }
        try {
          const status = await deps.agents
            .get(p.name, p.address)
            .etcdStatus({ timeoutMs: probe.etcdMs }, { deadlineMs: probe.callMs });
          return { node: p.name, status };
        } catch (err) {
          return { node: p.name, error: (err as Error).message };
        }
      }),
  );
  const list = pickMemberList(local, previous?.etcd);
  if (list.error) deps.log.warn({ source: list.source, error: list.error }, "no live etcd member list");
  const members = matchMembers(
    list.members,
    probed.map((p): NodeAddresses => ({ name: p.name, addresses: p.addresses })),
    local,
  );
  const nodes = probed.map((p) =>
    inventoryNode(
      p,
      members,
      previous?.nodes.find((x) => x.name === p.name),
    ),
  );
  nodes.sort((a, b) => a.name.localeCompare(b.name));
  api.addFallbackHosts(nodes.filter((n) => n.controlPlane).map((n) => n.address));
  const inventory: Inventory = {
    cluster: config.cluster,
    collectedAt: new Date().toISOString(),
    source: "api",
    nodes,
    etcd: { ...list, members },
  };
  await writeInventoryCache(config.stateDir, inventory);
  const localEtcd = new Map(local.flatMap((v) => (v.status ? [[v.node, v.status] as const] : [])));
  return {
    inventory,
    apiNodes,
    localEtcd,
    ...(opts.withStatus
      ? { statuses: new Map(probed.map((p) => [p.name, p.status ? { status: p.status } : { error: p.statusError }])) }
      : {}),
  };
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function etcdMode(layout: NodeLayout__Output): EtcdMode | "unknown" {
  return ETCD_MODES[layout.etcd?.mode ?? ""] ?? "unknown";
}

function addressesOf(layout: NodeLayout__Output): string[] {
  return layout.addresses.map((a) => a.address).filter((a) => a !== "");
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list.filter((a) => a !== ""))];
}

/** A node as the inventory keeps it: its layout from its agent (or an earlier inventory), its role from the list. */
function inventoryNode(
  p: Probed,
  members: ReturnType<typeof matchMembers>,
  prev: InventoryNode | undefined,
): InventoryNode {
  const member = members.find((m) => m.node === p.name);
  const layout = p.layout;
  const mode = layout ? etcdMode(layout) : (prev?.etcd.mode ?? "unknown");
  const role: NodeEtcd["role"] = member
    ? member.learner
      ? "learner"
      : "voter"
    : members.length > 0 || mode === "none"
      ? "none"
      : "unknown";
  const etcd: NodeEtcd = {
    role,
    mode,
    ...(layout?.etcd?.unit ? { unit: layout.etcd.unit } : !layout && prev?.etcd.unit ? { unit: prev.etcd.unit } : {}),
    ...(member ? { memberId: member.id, memberName: member.name } : {}),
  };
  const runtime: NodeRuntime = layout?.runtime
    ? {
        kind: layout.runtime.kind || "none",
        units: layout.runtime.units.map((u) => ({ service: u.service, ...(u.socket ? { socket: u.socket } : {}) })),
      }
    : (prev?.runtime ?? { kind: "unknown", units: [] });
  return {
    name: p.name,
    address: p.address,
    addresses: p.addresses,
    controlPlane: p.controlPlane,
    agent: layout ? "ok" : "unreachable",
    kubeletUnit: layout?.kubeletUnit || prev?.kubeletUnit || "kubelet.service",
    etcd,
    runtime,
  };
}

export async function readInventoryCache(stateDir: string): Promise<Inventory | undefined> {
  try {
    const cached = JSON.parse(await readFile(join(stateDir, CACHE), "utf8")) as Inventory & { version?: number };
    if (cached.version !== CACHE_VERSION) return undefined;
    delete cached.version;
    return cached;
  } catch {
    return undefined;
  }
}

async function writeInventoryCache(stateDir: string, inv: Inventory): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFileDurably(join(stateDir, CACHE), `${JSON.stringify({ version: CACHE_VERSION, ...inv }, null, 2)}\n`);
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
