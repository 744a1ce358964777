// What the status page shows, as plain data built from what serve knows: the cached inventory (which nodes there
// are, their roles), the agents' reports, what the agents answered serve's own probes, and the operations'
// journals. Nothing here does I/O; the page's server gathers the inputs and sends the result to every browser.
import type {
  EtcdMemberStatus__Output,
  NodeStatus__Output,
  StartOnBoot,
  UnitStatus__Output,
} from "../../../shared/index.js";
import type { Inventory } from "../../inventory.js";
import { isEtcdMember } from "../../plan/index.js";
import type { OperationSummary, StepState } from "../../run/journal.js";
import type { Kept } from "../store.js";

/** The last thing serve learnt by asking a node's agent. */
export type ProbeResult =
  | { ok: true; atUnixMs: number; status: NodeStatus__Output }
  | { ok: false; atUnixMs: number; code: string; error: string };

/** A node's agent as serve's probes found it, with the state's start and the last answer it gave. */
export interface ProbeState {
  last: ProbeResult;
  /** When the agent entered the state it is in (reachable, or not). */
  sinceUnixMs: number;
  /** Its last answer, kept while it does not answer: the page shows it as last known. */
  lastOk?: { atUnixMs: number; status: NodeStatus__Output };
}

/** Folds a new probe result into a node's probe state. */
export function nextProbeState(prev: ProbeState | undefined, r: ProbeResult): ProbeState {
  const same = prev !== undefined && prev.last.ok === r.ok && (r.ok || (!prev.last.ok && prev.last.code === r.code));
  const lastOk = r.ok ? { atUnixMs: r.atUnixMs, status: r.status } : prev?.lastOk;
  return { last: r, sinceUnixMs: same ? prev.sinceUnixMs : r.atUnixMs, ...(lastOk ? { lastOk } : {}) };
}

/** Agent reachability in words: the page never relies on a colour alone. */
export type AgentState = "reachable" | "unreachable" | "refused" | "error" | "not asked yet";

export interface PageUnit {
  /** Without ".service". */
  name: string;
  /** systemd's ActiveState (active, inactive, failed, activating...), "not installed", or "unknown". */
  state: string;
  sub: string;
  /** UnitFileState: enabled, disabled... */
  enabled: string;
}

export interface PageNode {
  name: string;
  roles: string[];
  address: string;
  agent: { state: AgentState; sinceUnixMs: number | null; error?: string; lastAnswerUnixMs: number | null };
  /** The node's last report to serve (null: none). */
  report: { receivedUnixMs: number; reason: string; bootId: string; agentVersion: string } | null;
  /** The boot the node is in, from its freshest word (a probe's answer or a report), with where it came from. */
  boot: { id: string; bootedUnixMs: number; source: "agent" | "report"; atUnixMs: number } | null;
  /** From the same freshest word; `stale` when the agent does not answer now (last known). */
  units: PageUnit[];
  unitsStale: boolean;
  etcd: {
    memberId: string;
    healthy: boolean;
    leader: boolean;
    raftIndex: number;
    raftTerm: number;
    error?: string;
  } | null;
}

export interface PageEtcdMember {
  id: string;
  name: string;
  /** The node it runs on, when known. */
  node: string | null;
  peerUrls: string[];
  learner: boolean;
  /** health of its linearizable read as its node's agent answered; null: not asked or no answer. */
  healthy: boolean | null;
  leader: boolean;
  raftIndex: number | null;
  error?: string;
}

export interface PageEtcd {
  /** healthy (every voting member healthy, one leader), degraded (quorum kept), no quorum, unknown. */
  state: "healthy" | "degraded" | "no quorum" | "unknown";
  leader: string | null;
  members: PageEtcdMember[];
  note?: string;
}

export interface PageStep {
  id: string;
  node?: string;
  kind: string;
  status: StepState["status"];
  startedAt?: string;
  finishedAt?: string;
  progress?: string;
  error?: string;
}

export interface PagePhase {
  name: string;
  title: string;
  /** pending, running, done, failed, skipped (every step skipped), stopped (an operation that ended within it). */
  state: "pending" | "running" | "done" | "failed" | "skipped" | "stopped";
  steps: PageStep[];
}

export interface PageOperation {
  op: string;
  procedure: string;
  target: string;
  /** user@host that ran it, and what began it when not an operator (serve's start on boot). */
  by: string;
  origin?: { by: string; why: string };
  result: OperationSummary["result"];
  reason?: string;
  startedAt: string;
  finishedAt?: string;
  phases: PagePhase[];
  done: number;
  total: number;
}

export interface PageSettle {
  op: string;
  finishedAt?: string;
  pods: number;
  unsettled: Array<{
    pod: string;
    node: string;
    phase: string;
    reason: string;
    restarts: number;
    lastTermination?: string;
  }>;
  warning?: string;
}

/** Everything one frame of the page shows. */
export interface PageState {
  cluster: string;
  /** serve's clock when the frame was made: the browser takes ages against it, not against its own clock. */
  nowUnixMs: number;
  inventory: { source: string; collectedAt: string } | null;
  nodes: PageNode[];
  etcd: PageEtcd;
  /** The operation running now, or else the last one. */
  operation: PageOperation | null;
  recent: Array<Pick<PageOperation, "op" | "procedure" | "target" | "by" | "result" | "startedAt" | "finishedAt">>;
  settle: PageSettle | null;
  startOnBoot: { state: string; stopOperation: string; reason: string; missing: string[] } | null;
}

export interface PageInputs {
  cluster: string;
  nowUnixMs: number;
  inventory: Inventory | undefined;
  reports: readonly Kept[];
  probes: ReadonlyMap<string, ProbeState>;
  /** Newest first. */
  operations: readonly OperationSummary[];
  startOnBoot: StartOnBoot | undefined;
  /** How many finished operations the page lists. Default 8. */
  recent?: number;
}

const unitName = (u: string) => (u.endsWith(".service") ? u.slice(0, -8) : u);

/** The nodes to show: the inventory's, and any other node that reported (one added since the last inventory). */
export function pageNodeNames(inventory: Inventory | undefined, reports: readonly Kept[]): string[] {
  const names = new Set(inventory?.nodes.map((n) => n.name) ?? []);
  for (const k of reports) names.add(k.report.nodeName);
  return [...names].sort((a, b) => a.localeCompare(b));
}

/** The address to probe a node's agent on: the inventory's, else the config's, else the one it reported from. */
export function agentAddress(
  node: string,
  inventory: Inventory | undefined,
  configured: Readonly<Record<string, { address?: string }>>,
  report: Kept | undefined,
): string | undefined {
  const peerHost = report?.peer
    .replace(/^ipv[46]:/, "")
    .replace(/:\d+$/, "")
    .replace(/^\[|\]$/g, "");
  return inventory?.nodes.find((n) => n.name === node)?.address ?? configured[node]?.address ?? (peerHost || undefined);
}

function units(list: readonly UnitStatus__Output[]): PageUnit[] {
  return list.map((u) => ({
    name: unitName(u.name),
    state: u.exists ? u.activeState || "unknown" : "not installed",
    sub: u.exists ? u.subState : "",
    enabled: u.exists ? u.unitFileState : "",
  }));
}

function pageNode(name: string, inp: PageInputs): PageNode {
  const inv = inp.inventory?.nodes.find((n) => n.name === name);
  const kept = inp.reports.find((k) => k.report.nodeName === name);
  const probe = inp.probes.get(name);
  const roles = inv
    ? [
        ...(inv.controlPlane ? ["control-plane"] : []),
        ...(isEtcdMember(inv) ? [inv.etcd.role === "learner" ? "etcd-learner" : "etcd"] : []),
        ...(inv.controlPlane ? [] : ["worker"]),
      ]
    : [];
  const live = probe?.last.ok ? probe.last : undefined;
  const lastOk = probe?.lastOk;
  // The freshest word about the node: a probe's answer or a report, whichever the agent collected last.
  const reportAt = kept ? Number(kept.report.collectedUnixMs) || kept.receivedUnixMs : -1;
  const probeAt = lastOk ? Number(lastOk.status.collectedUnixMs) || lastOk.atUnixMs : -1;
  const fromReport = kept !== undefined && reportAt > probeAt;
  const facts = fromReport ? kept.report.facts : lastOk?.status.facts;
  const bootId = facts?.bootId || (fromReport ? kept.report.bootId : "");
  const agentState: AgentState = !probe
    ? "not asked yet"
    : probe.last.ok
      ? "reachable"
      : probe.last.code === "PERMISSION_DENIED" || probe.last.code === "UNAUTHENTICATED"
        ? "refused"
        : probe.last.code === "NODE_UNREACHABLE" || probe.last.code === "DEADLINE_EXCEEDED"
          ? "unreachable"
          : "error";
  const etcd: EtcdMemberStatus__Output | undefined | null = live?.status.etcd;
  return {
    name,
    roles,
    address: inv?.address ?? "",
    agent: {
      state: agentState,
      sinceUnixMs: probe?.sinceUnixMs ?? null,
      ...(probe && !probe.last.ok ? { error: probe.last.error } : {}),
      lastAnswerUnixMs: lastOk?.atUnixMs ?? null,
    },
    report: kept
      ? {
          receivedUnixMs: Number(kept.receivedUnixMs),
          reason: String(kept.report.reason)
            .replace(/^REPORT_REASON_/, "")
            .toLowerCase(),
          bootId: kept.report.bootId,
          agentVersion: kept.report.agentVersion,
        }
      : null,
    boot: bootId
      ? {
          id: bootId,
          bootedUnixMs: Number(facts?.bootedUnixMs ?? (fromReport ? kept.report.bootedUnixMs : 0)),
          source: fromReport ? "report" : "agent",
          atUnixMs: fromReport ? reportAt : probeAt,
        }
      : null,
    units: units(fromReport ? kept.report.units : (lastOk?.status.units ?? [])),
    unitsStale: agentState !== "reachable",
    etcd: etcd?.isMember
      ? {
          memberId: etcd.memberId,
          healthy: etcd.healthy,
          leader: etcd.memberId !== "" && etcd.memberId === etcd.leaderId,
          raftIndex: Number(etcd.raftIndex),
          raftTerm: Number(etcd.raftTerm),
          ...(etcd.healthy ? {} : { error: etcd.healthError || etcd.statusError || "unhealthy" }),
        }
      : null,
  };
}

/** etcd as the members' own agents answered: the member list from any member, each member's health and index. */
export function pageEtcd(inp: PageInputs, nodes: readonly PageNode[]): PageEtcd {
  const statuses = [...inp.probes.entries()].flatMap(([node, p]) =>
    p.last.ok && p.last.status.etcd?.isMember ? [{ node, etcd: p.last.status.etcd }] : [],
  );
  const listed = statuses.find((s) => s.etcd.members.length > 0)?.etcd.members;
  const known = inp.inventory?.etcd.members ?? [];
  const base: Array<{ id: string; name: string; peerUrls: string[]; learner: boolean }> = listed
    ? listed.map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerUrls, learner: m.isLearner }))
    : known.map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerUrls, learner: m.learner }));
  const leaders = new Set(statuses.map((s) => s.etcd.leaderId).filter((l) => l !== "" && l !== "0"));
  const leader = leaders.size === 1 ? ([...leaders][0] ?? null) : null;
  const members: PageEtcdMember[] = base.map((m) => {
    const s = statuses.find((x) => x.etcd.memberId === m.id);
    const node = s?.node ?? known.find((k) => k.id === m.id)?.node ?? null;
    const probed = node !== null ? nodes.find((n) => n.name === node) : undefined;
    return {
      id: m.id,
      name: m.name,
      node,
      peerUrls: m.peerUrls,
      learner: m.learner,
      healthy: s ? s.etcd.healthy : null,
      leader: leader !== null && m.id === leader,
      raftIndex: s ? Number(s.etcd.raftIndex) : null,
      ...(s && !s.etcd.healthy
        ? { error: s.etcd.healthError || s.etcd.statusError || "unhealthy" }
        : !s && probed
          ? {
              error:
                probed.agent.state !== "reachable"
                  ? `agent ${probed.agent.state}`
                  : probed.units.some((u) => u.name === "etcd" && (u.state === "inactive" || u.state === "failed"))
                    ? "etcd.service is stopped"
                    : "not answering as a member",
            }
          : {}),
    };
  });
  const voters = members.filter((m) => !m.learner);
  const healthy = voters.filter((m) => m.healthy === true).length;
  const state: PageEtcd["state"] =
    voters.length === 0
      ? "unknown"
      : healthy === voters.length && leader !== null
        ? "healthy"
        : healthy > voters.length / 2 && leader !== null
          ? "degraded"
          : statuses.length === 0 && healthy === 0 && nodes.every((n) => n.agent.state === "not asked yet")
            ? "unknown"
            : "no quorum";
  return {
    state,
    leader: leader === null ? null : (members.find((m) => m.id === leader)?.name ?? leader),
    members,
    ...(listed ? {} : known.length ? { note: "member list from the last inventory: no member answered" } : {}),
  };
}

function phaseState(steps: readonly PageStep[], result: OperationSummary["result"]): PagePhase["state"] {
  if (steps.some((s) => s.status === "failed")) return "failed";
  if (steps.length > 0 && steps.every((s) => s.status === "skipped")) return "skipped";
  if (steps.every((s) => s.status === "succeeded" || s.status === "skipped")) return "done";
  if (steps.some((s) => s.status !== "pending")) return result === "running" ? "running" : "stopped";
  return "pending";
}

/** An operation as the page shows it: its phases in order with their steps, as the terminal's live view does. */
export function pageOperation(o: OperationSummary): PageOperation {
  const phases = o.plan.phases.map((ph): PagePhase => {
    const steps = o.steps
      .filter((s) => s.phase === ph.name)
      .map((s): PageStep => {
        const planned = ph.steps.find((p) => p.id === s.step);
        return {
          id: s.step,
          ...(s.node ? { node: s.node } : {}),
          kind: planned?.action.kind ?? s.step,
          status: s.status,
          ...(s.startedAt ? { startedAt: s.startedAt } : {}),
          ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
          ...(s.progress && s.status === "running" ? { progress: s.progress } : {}),
          ...(s.error ? { error: `${s.error.code}: ${s.error.message}` } : {}),
        };
      });
    return { name: ph.name, title: ph.title, state: phaseState(steps, o.result), steps };
  });
  return {
    op: o.op,
    procedure: o.procedure,
    target: o.target,
    by: o.user && o.host ? `${o.user}@${o.host}` : o.user || o.host,
    ...(o.origin ? { origin: o.origin } : {}),
    result: o.result,
    ...(o.reason ? { reason: o.reason } : {}),
    startedAt: o.startedAt,
    ...(o.finishedAt ? { finishedAt: o.finishedAt } : {}),
    phases,
    done: o.steps.filter((s) => s.status === "succeeded" || s.status === "skipped").length,
    total: o.steps.length,
  };
}

/** The settle report of the newest cluster start that made one (its settle-report step's evidence). */
export function pageSettle(ops: readonly OperationSummary[]): PageSettle | null {
  for (const o of ops) {
    if (o.procedure !== "cluster start") continue;
    const step = o.steps.find(
      (s) =>
        s.status === "succeeded" &&
        o.plan.phases.some((ph) => ph.steps.some((p) => p.id === s.step && p.action.kind === "settle-report")),
    );
    if (!step?.evidence) continue;
    const e = step.evidence as { pods?: number; unsettled?: PageSettle["unsettled"]; warning?: string };
    return {
      op: o.op,
      ...(step.finishedAt ? { finishedAt: step.finishedAt } : {}),
      pods: e.pods ?? 0,
      unsettled: (e.unsettled ?? []).slice(0, 50),
      ...(e.warning ? { warning: e.warning } : {}),
    };
  }
  return null;
}

/** One frame of the page from serve's inputs. */
export function pageState(inp: PageInputs): PageState {
  const nodes = pageNodeNames(inp.inventory, inp.reports).map((n) => pageNode(n, inp));
  const running = inp.operations.find((o) => o.result === "running");
  const current = running ?? inp.operations[0];
  const sob = inp.startOnBoot;
  return {
    cluster: inp.cluster,
    nowUnixMs: inp.nowUnixMs,
    inventory: inp.inventory ? { source: inp.inventory.source, collectedAt: inp.inventory.collectedAt } : null,
    nodes,
    etcd: pageEtcd(inp, nodes),
    operation: current ? pageOperation(current) : null,
    recent: inp.operations.slice(0, inp.recent ?? 8).map((o) => {
      const { op, procedure, target, by, result, startedAt, finishedAt } = pageOperation(o);
      return { op, procedure, target, by, result, startedAt, ...(finishedAt ? { finishedAt } : {}) };
    }),
    settle: pageSettle(inp.operations),
    startOnBoot: sob
      ? {
          state: sob.state ?? "",
          stopOperation: sob.stopOperation ?? "",
          reason: sob.reason ?? "",
          missing: (sob.missing ?? []).map((m) => m.nodeName ?? ""),
        }
      : null,
  };
}
