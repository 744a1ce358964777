// Collecting the evidence: the inventory (from the API, or the cache when the API is down), the recorded inventory to
// compare with, the API's nodes, pods and kubelet CSRs, and on every node through its agent: units and their
// journals, etcd's member, its configuration, certificates, control-plane health, clock, disks and network. Every
// call that fails is recorded as evidence too; nothing here throws but a config or inventory that cannot be had.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { readdir } from "node:fs/promises";
import type { EtcdMemberStatus__Output, KubecycleError, Logger } from "../../shared/index.js";
import type { AgentPool } from "../agents/index.js";
import { etcdProbeTimeouts, type CompiledCoordinatorConfig } from "../config.js";
import { discover, findNode, readInventoryCache, type Discovery, type Inventory } from "../inventory.js";
import { internalIp, pendingKubeletCsrs, readyStatus, type ClusterApi, type KnownNode } from "../kube/index.js";
import { isEtcdMember, runtimeStartOrder, type InventoryNode } from "../plan/index.js";
import { readClusterRecord } from "../record.js";
import type { ApiNodeEvidence, Evidence, NodeEvidence, PodEvidence } from "./evidence.js";

/** What gathering uses: the session's API, agents, config and log. */
export interface GatherDeps {
  api: ClusterApi;
  agents: AgentPool;
  config: Readonly<CompiledCoordinatorConfig>;
  log: Logger;
}

/** How long a node's agent may take to answer Health before the node counts as unreachable. */
const HEALTH_MS = 5000;
/** Journal lines read per unit that is down or restarted. */
const JOURNAL_LINES = 20;
/** Each TCP probe of ProbeNetwork. */
const NETWORK_PROBE_MS = 2000;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Collects the evidence about the cluster, and about `scope`'s nodes (every node when empty). */
export async function gatherEvidence(deps: GatherDeps, scope: readonly string[]): Promise<Evidence> {
  const { config } = deps;
  // Read before discovery rewrites the cache: what was known before is what the present is compared with.
  const previous = await readInventoryCache(config.stateDir);
  const record = await readClusterRecord(config.stateDir, config.cluster).catch(() => undefined);
  const discovery = await discover(deps).catch((err: unknown): Discovery => {
    // The API is down and no inventory was cached: the last cluster stop's record still names every node.
    if (!record || (err as KubecycleError).code !== "KUBE_API_UNREACHABLE") throw err;
    deps.log.warn({ err }, "doctor: API down, no cached inventory; using the cluster stop's record");
    return { inventory: { ...record.inventory, source: "cache" }, localEtcd: new Map() };
  });
  const inv = discovery.inventory;
  for (const name of scope) findNode(inv, name);
  const asked = scope.length > 0 ? inv.nodes.filter((n) => scope.includes(n.name)) : inv.nodes;
  const apiNodes = discovery.apiNodes;
  const recorded = record
    ? { inventory: record.inventory, source: `the cluster stop ${record.op} (${record.recordedAt})` }
    : previous
      ? { inventory: previous, source: `the inventory cached ${previous.collectedAt}` }
      : undefined;

  const [pods, csrs, nodes, snapshots] = await Promise.all([
    apiNodes ? deps.api.listPods().catch((err: unknown) => deps.log.warn({ err }, "doctor: listing pods")) : undefined,
    apiNodes ? deps.api.listCsrs().catch((err: unknown) => deps.log.warn({ err }, "doctor: listing CSRs")) : undefined,
    Promise.all(
      asked.map((n) =>
        nodeEvidence(deps, n, knownAddresses(n, recorded?.inventory, apiNodes), inv, discovery.localEtcd.get(n.name)),
      ),
    ),
    listSnapshots(config.backups.dir, config.cluster),
  ]);
  const known: KnownNode[] = (recorded?.inventory ?? inv).nodes.map((n) => ({ name: n.name, addresses: n.addresses }));
  return {
    cluster: config.cluster,
    collectedUnixMs: Date.now(),
    scope: asked.map((n) => n.name),
    inventory: { source: inv.source, collectedAt: inv.collectedAt },
    api: apiNodes
      ? { reachable: true, server: deps.api.server }
      : {
          reachable: false,
          server: deps.api.server,
          error: "it did not answer (see the log); the cached inventory was used",
        },
    members: inv.etcd.members,
    membersSource: inv.etcd.source || "none",
    ...(recorded ? { recordedMembers: { members: recorded.inventory.etcd.members, source: recorded.source } } : {}),
    snapshots,
    ...(apiNodes ? { apiNodes: apiNodes.map(apiNodeEvidence) } : {}),
    ...(pods ? { pods: podEvidence(pods) } : {}),
    ...(csrs ? { csrs: pendingKubeletCsrs(csrs, known) } : {}),
    nodes,
  };
}

/** Every address the cluster knows a node by: the recorded inventory's, the current one's, its InternalIP. */
function knownAddresses(n: InventoryNode, recorded: Inventory | undefined, apiNodes: V1Node[] | undefined): string[] {
  const before = recorded?.nodes.find((x) => x.name === n.name);
  const api = apiNodes?.find((x) => x.metadata?.name === n.name);
  const ip = api ? internalIp(api) : undefined;
  return [...new Set([...(before ? [before.address] : [n.address]), ...(ip ? [ip] : [])])];
}

async function listSnapshots(dir: string, cluster: string): Promise<string[]> {
  const files = await readdir(dir).catch(() => [] as string[]);
  return files
    .filter((f) => f.startsWith(`${cluster}-etcd-`) && f.endsWith(".db"))
    .sort()
    .reverse()
    .map((f) => `${dir}/${f}`);
}

function apiNodeEvidence(n: V1Node): ApiNodeEvidence {
  const conds = n.status?.conditions ?? [];
  const time = (t: Date | string | undefined) => (t ? new Date(t).toISOString() : "");
  return {
    name: n.metadata?.name ?? "",
    ready: readyStatus(n),
    conditions: conds.map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason ?? "",
      message: c.message ?? "",
      since: time(c.lastTransitionTime),
    })),
    internalIp: internalIp(n) ?? "",
    lastHeartbeat: time(conds.find((c) => c.type === "Ready")?.lastHeartbeatTime),
  };
}

/** Pods that are not running well: not ready (and not done), or restarted. */
export function podEvidence(pods: readonly V1Pod[]): PodEvidence[] {
  const out: PodEvidence[] = [];
  for (const p of pods) {
    const phase = p.status?.phase ?? "Unknown";
    if (phase === "Succeeded" || p.metadata?.deletionTimestamp) continue;
    const statuses = p.status?.containerStatuses ?? [];
    const ready = phase === "Running" && statuses.length > 0 && statuses.every((c) => c.ready);
    const restarts = statuses.reduce((sum, c) => sum + c.restartCount, 0);
    if (ready && restarts === 0) continue;
    const worst = [...statuses].sort((a, b) => b.restartCount - a.restartCount)[0];
    const last = worst?.lastState?.terminated;
    out.push({
      namespace: p.metadata?.namespace ?? "",
      name: p.metadata?.name ?? "",
      node: p.spec?.nodeName ?? "",
      phase,
      ready,
      restarts,
      waiting: statuses.map((c) => c.state?.waiting?.reason).find((r) => r !== undefined) ?? "",
      ...(last && worst
        ? {
            lastTermination: {
              container: worst.name,
              reason: last.reason ?? "",
              exitCode: last.exitCode,
              message: (last.message ?? "").slice(0, 2000),
              finishedAt: last.finishedAt ? new Date(last.finishedAt).toISOString() : "",
            },
          }
        : {}),
    });
  }
  return out;
}

/** Asks one node's agent everything doctor looks at; what cannot be had is recorded with its reason. */
async function nodeEvidence(
  deps: GatherDeps,
  n: InventoryNode,
  knownAddrs: string[],
  inv: Inventory,
  /** The local member's status discovery already asked for, if it did. */
  asked: EtcdMemberStatus__Output | undefined,
): Promise<NodeEvidence> {
  const base: NodeEvidence = {
    name: n.name,
    address: n.address,
    controlPlane: n.controlPlane,
    etcdMember: isEtcdMember(n) || inv.etcd.members.some((m) => m.node === n.name),
    etcdMode: n.etcd.mode,
    kubeletUnit: n.kubeletUnit,
    runtimeUnits: runtimeStartOrder(n.runtime),
    knownAddresses: knownAddrs,
    agent: { reachable: true },
    journals: {},
    errors: {},
  };
  const agent = deps.agents.get(n.name, n.address);
  try {
    await agent.health({ deadlineMs: HEALTH_MS });
  } catch (err) {
    return { ...base, agent: { reachable: false, error: message(err) } };
  }
  const callMs = deps.config.timeouts.agentCallMs;
  const probe = etcdProbeTimeouts(deps.config);
  const errors: Record<string, string> = {};
  const attempt = async <T>(rpc: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      errors[rpc] = message(err);
      return undefined;
    }
  };
  const [status, layout, certs, components, clock, disks, network] = await Promise.all([
    attempt("GetStatus", () => agent.getStatus({}, { deadlineMs: callMs })),
    attempt("GetNodeLayout", () => agent.getNodeLayout({ deadlineMs: callMs })),
    attempt("GetCertificates", () => agent.getCertificates({ deadlineMs: callMs })),
    n.controlPlane
      ? attempt("ProbeComponents", () => agent.probeComponents({ timeoutMs: 2000 }, { deadlineMs: callMs }))
      : undefined,
    attempt("GetClock", () => measureClock(deps, n)),
    attempt("GetDiskUsage", () => agent.getDiskUsage({ deadlineMs: callMs })),
    attempt("ProbeNetwork", () =>
      agent.probeNetwork({ timeoutMs: NETWORK_PROBE_MS }, { deadlineMs: callMs + NETWORK_PROBE_MS }),
    ),
  ]);
  const etcdConfigured = layout?.etcd?.mode === "ETCD_MODE_SYSTEMD" || layout?.etcd?.mode === "ETCD_MODE_STATIC_POD";
  const etcd =
    etcdConfigured || base.etcdMember
      ? (asked ??
        (await attempt("EtcdStatus", () =>
          agent.etcdStatus({ timeoutMs: probe.etcdMs }, { deadlineMs: probe.callMs }),
        )))
      : undefined;
  const units = status?.units.filter((u) => u.exists);
  const watched = new Set([
    n.kubeletUnit,
    n.etcd.unit ?? "",
    ...base.runtimeUnits.filter((u) => u.endsWith(".service")),
  ]);
  const troubled = (units ?? []).filter((u) => watched.has(u.name) && (u.activeState !== "active" || u.restarts > 0));
  const journals: Record<string, string[]> = {};
  await Promise.all(
    troubled.map(async (u) => {
      const j = await attempt(`ReadJournal ${u.name}`, () =>
        agent.readJournal({ unit: u.name, lines: JOURNAL_LINES }, { deadlineMs: callMs }),
      );
      if (j) journals[u.name] = j.lines;
    }),
  );
  const l = layout?.etcd;
  return {
    ...base,
    journals,
    errors,
    ...(units
      ? {
          units: units.map((u) => ({
            name: u.name,
            exists: u.exists,
            activeState: u.activeState,
            subState: u.subState,
            result: u.result,
            restarts: u.restarts,
            stateChangeUnixMs: u.stateChangeUnixMs,
          })),
        }
      : {}),
    ...(etcd
      ? {
          etcd: {
            isMember: etcd.isMember,
            healthy: etcd.healthy,
            healthError: etcd.healthError,
            memberId: etcd.memberId,
            leaderId: etcd.leaderId,
            revision: etcd.revision,
            raftIndex: etcd.raftIndex,
            dbSizeBytes: etcd.dbSizeBytes,
            dbSizeInUseBytes: etcd.dbSizeInUseBytes,
            errors: etcd.errors,
            statusError: etcd.statusError,
          },
        }
      : {}),
    ...(errors.EtcdStatus ? { etcdError: errors.EtcdStatus } : {}),
    ...(l
      ? {
          etcdConfig: {
            mode:
              l.mode === "ETCD_MODE_SYSTEMD" ? "systemd" : l.mode === "ETCD_MODE_STATIC_POD" ? "static-pod" : "none",
            name: l.name,
            dataDir: l.dataDir,
            peerUrls: l.advertisePeerUrls,
            quotaBackendBytes: l.quotaBackendBytes,
            error: l.error,
          },
        }
      : {}),
    ...(layout ? { addresses: layout.addresses.map((a) => a.address) } : {}),
    ...(certs
      ? {
          certificates: certs.certificates.map((c) => ({
            purpose: c.purpose,
            path: c.path,
            subject: c.subject,
            notAfterUnixMs: c.notAfterUnixMs,
            error: c.error,
          })),
        }
      : {}),
    ...(components ? { components: components.components } : {}),
    ...(clock ? { clock } : {}),
    ...(disks ? { disks: disks.paths } : {}),
    ...(network ? { network: network.probes } : {}),
  };
}

/**
 * The node's clock offset from the coordinator's: the node's time against the middle of the call, the best of three
 * (the shortest round trip bounds the error best).
 */
async function measureClock(
  deps: GatherDeps,
  n: InventoryNode,
): Promise<{ offsetMs: number; uncertaintyMs: number; synchronized?: boolean }> {
  const agent = deps.agents.get(n.name, n.address);
  let best: { offsetMs: number; uncertaintyMs: number; synchronized?: boolean } | undefined;
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    const c = await agent.getClock({ deadlineMs: deps.config.timeouts.agentCallMs });
    const t1 = Date.now();
    const sample = {
      offsetMs: Math.round(c.unixMs - (t0 + t1) / 2),
      uncertaintyMs: Math.ceil((t1 - t0) / 2),
      ...(c.timeSyncKnown ? { synchronized: c.timeSynchronized } : {}),
    };
    if (!best || sample.uncertaintyMs < best.uncertaintyMs) best = sample;
  }
  return best as { offsetMs: number; uncertaintyMs: number; synchronized?: boolean };
}
