// The lab's etcd: a real 3-member cluster (Debian's etcd) on the masters, laid out as one of the installers that
// people run lays it out (a layout: etcd-kubekey.ts, etcd-kubeadm.ts), and the lab's own view of it (etcdctl inside a
// member with that member's own credentials, health of the whole cluster), the same on every layout.
import { waitFor, type RunOptions, type RunResult } from "./host.js";
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT, type LabPaths, type NodePlan } from "./layout.js";
import type { LabNode, NodeParts, StateDir } from "./nodes.js";

export const clientUrl = (ip: string): string => `https://${ip}:${ETCD_CLIENT_PORT}`;
export const peerUrl = (ip: string): string => `https://${ip}:${ETCD_PEER_PORT}`;

/** How a client reaches etcd: endpoints and TLS files (paths inside a node, or on the host). */
export interface EtcdClient {
  endpoints: string[];
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** What a layout gets to prepare one node. */
export interface EtcdNodeContext {
  node: NodePlan;
  masters: readonly NodePlan[];
  paths: LabPaths;
}

/** One way of laying etcd out on the masters. Everything that differs between layouts is here, nowhere else. */
export interface EtcdLayout {
  readonly name: "kubekey" | "kubeadm";
  /** One line for `lab up --help`. */
  readonly describe: string;
  /** A master's etcd member name, from its Kubernetes node name. */
  memberName(kubeName: string): string;
  /** True when etcd needs the kube stand-ins (a static pod needs the kubelet and a runtime). */
  readonly needsKube: boolean;
  /** Per-node writable directories it needs besides the common ones. */
  readonly stateDirs: readonly StateDir[];
  /** Symlinks on the host's shared root into a per-node directory (they resolve on some nodes only). */
  readonly hostLinks: ReadonlyArray<{ path: string; target: string }>;
  /** True when a member's boot waits for quorum (etcd.service is Type=notify and started at boot). */
  readonly bootWaitsForQuorum: boolean;
  /** The CA and certificates, made on the host under paths.etcdPki. */
  makePki(paths: LabPaths, plan: readonly NodePlan[]): Promise<void>;
  /** The node's etcd files, units and certificates. */
  nodeParts(ctx: EtcdNodeContext): Promise<NodeParts>;
  /** How the API simulator on a master reaches etcd (paths inside the node). */
  apiserverClient(node: NodePlan, masters: readonly NodePlan[]): EtcdClient;
  /** Host-side client credentials (inventory.json). */
  hostClient(paths: LabPaths, plan: readonly NodePlan[]): Omit<EtcdClient, "endpoints">;
  /** argv running `etcdctl ARGS...` inside a member with that member's own credentials, as an operator would. */
  etcdctlArgv(args: readonly string[]): string[];
  /** How etcd runs on a node right now, for `lab status` ("active", "inactive", "-" for none...). */
  etcdState(node: LabNode): Promise<string>;
  /** Whether the member starts etcd when it boots (read from its state directory: the node may be off). */
  enabledAtBoot(node: LabNode): Promise<boolean>;
}

/** The etcd cluster's health as seen from one member. */
export interface EtcdReport {
  from?: string;
  endpoints: Array<{ endpoint: string; health: boolean; error?: string }>;
  error?: string;
}

/** `etcdctl ARGS...` inside `member`. */
export function etcdctl(
  layout: EtcdLayout,
  member: LabNode,
  args: readonly string[],
  o?: RunOptions,
): Promise<RunResult> {
  return member.exec(layout.etcdctlArgv(args), o);
}

/** `etcdctl endpoint health --cluster` from one member, parsed. */
export async function etcdHealth(layout: EtcdLayout, member: LabNode): Promise<EtcdReport> {
  const r = await etcdctl(layout, member, ["endpoint", "health", "--cluster", "-w", "json", "--command-timeout=3s"], {
    timeoutMs: 15_000,
  });
  try {
    const parsed = JSON.parse(r.stdout) as Array<{ endpoint: string; health: boolean; error?: string }>;
    return { from: member.name, endpoints: parsed.sort((a, b) => a.endpoint.localeCompare(b.endpoint)) };
  } catch {
    return { from: member.name, endpoints: [], error: (r.stderr || r.stdout).trim() || `etcdctl exited ${r.code}` };
  }
}

/** Waits until `members` members answer a linearizable health check, asking whichever `ask()` names each time. */
export function waitEtcdHealthy(
  members: number,
  ask: () => Promise<EtcdReport>,
  timeoutMs: number,
): Promise<EtcdReport> {
  return waitFor(
    `etcd: ${members} healthy members`,
    async () => {
      const h = await ask();
      if (h.error !== undefined) throw new Error(h.error);
      const healthy = h.endpoints.filter((e) => e.health).length;
      if (healthy === members && h.endpoints.length === members) return h;
      throw new Error(`${healthy}/${members} healthy: ${JSON.stringify(h.endpoints)}`);
    },
    { timeoutMs, intervalMs: 200 },
  );
}
