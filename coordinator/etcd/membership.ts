// Who is an etcd member is etcd's own member list's to say: its peer URLs are matched against the nodes' addresses
// (and a node whose local member answered with its id is that member). A member no node matches runs outside the
// cluster (external etcd): it still counts for quorum. Pure functions; the agents are asked in inventory.ts.
import type { EtcdMemberStatus__Output } from "../../shared/index.js";
import type { EtcdMemberRecord } from "../plan/index.js";

/** The member list kubecycle works from, and where it came from. */
export interface EtcdInventory {
  clusterId: string;
  members: EtcdMemberRecord[];
  /** "node <name>": that node's member gave the list; "cache": an earlier inventory's; "": nobody could. */
  source: string;
  /** Why no live member list was had (with source "cache" or ""). */
  error?: string;
}

/** One node's local etcd member as its agent answered (or did not). */
export interface LocalMemberView {
  node: string;
  status?: EtcdMemberStatus__Output;
  error?: string;
}

/** A node as membership matching sees it: its name and every address it is known by. */
export interface NodeAddresses {
  name: string;
  /** The InternalIP first: it wins over the agent's own addresses when both would match. */
  addresses: string[];
}

/**
 * The member list from the members that answered: a healthy member's first (it has a leader and sees the current
 * list), else any member's; with none, the earlier inventory's, said so.
 */
export function pickMemberList(views: readonly LocalMemberView[], previous?: EtcdInventory): EtcdInventory {
  const listed = views.filter((v) => v.status && v.status.members.length > 0 && !v.status.membersError);
  const best = listed.find((v) => v.status?.healthy) ?? listed[0];
  if (best?.status) {
    return {
      clusterId: best.status.clusterId,
      source: `node ${best.node}`,
      members: best.status.members.map((m) => ({
        id: m.id,
        name: m.name,
        peerUrls: m.peerUrls,
        clientUrls: m.clientUrls,
        learner: m.isLearner,
      })),
    };
  }
  const why = views.length
    ? views.map((v) => `${v.node}: ${v.error ?? (v.status?.membersError || v.status?.healthError || "no member list")}`)
    : ["no node's agent reported an etcd configured"];
  if (previous && previous.members.length > 0) {
    return { ...previous, source: "cache", error: why.join("; ") };
  }
  return { clusterId: "", members: [], source: "", error: why.join("; ") };
}

/** The host of a URL, without IPv6 brackets; "" when it does not parse. */
export function urlHost(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
  } catch {
    return "";
  }
}

/**
 * Sets each member's node: the node whose local member answered with the member's id, else the node one of whose
 * addresses (or name) is the host of one of the member's peer URLs. The InternalIP, listed first, is tried first
 * across all nodes, and a match must be unique, so an address two nodes share (a bridge) never decides.
 */
export function matchMembers(
  members: readonly EtcdMemberRecord[],
  nodes: readonly NodeAddresses[],
  local: readonly LocalMemberView[] = [],
): EtcdMemberRecord[] {
  return members.map((m) => {
    const byId = local.find((v) => v.status?.memberId && v.status.memberId === m.id)?.node;
    if (byId) return { ...m, node: byId };
    const hosts = new Set(m.peerUrls.map(urlHost).filter((h) => h !== ""));
    const unique = (hits: readonly NodeAddresses[]) => (hits.length === 1 ? hits[0]?.name : undefined);
    const node =
      unique(nodes.filter((n) => n.addresses[0] !== undefined && hosts.has(n.addresses[0]))) ??
      unique(nodes.filter((n) => n.addresses.some((a) => hosts.has(a)))) ??
      unique(nodes.filter((n) => hosts.has(n.name)));
    const rest = { ...m };
    delete rest.node;
    return node ? { ...rest, node } : rest;
  });
}
