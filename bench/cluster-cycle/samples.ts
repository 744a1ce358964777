// One cycle (a stop, then its start) of one method, reduced to the rows the report compares: the same rows for
// kubecycle and the baselines where they do the same thing (kubelet, etcd, runtime), kubecycle's own phases beside
// them, and each row's floor (its slowest unit transition, from the nodes' own systemd) where units make the row.
import { floorMs, quorumAt, unitOnNodes, type UnitsByNode } from "./cluster.js";
import { span, type KubecycleRun } from "./kubecycle.js";
import type { ScriptRun } from "./ssh.js";

export type Method = "kubecycle" | "runbook" | "parallel-ssh";
export const METHODS: readonly Method[] = ["kubecycle", "runbook", "parallel-ssh"];

/** A row's time and, where unit transitions make it, its floor. */
export interface Cell {
  ms: number;
  floorMs?: number;
}

/** One stop and its start, by one method. */
export interface CycleSample {
  method: Method;
  nodes: number;
  run: number;
  /** /proc/loadavg's 1-minute load when the cycle began. */
  load1: number;
  stop: Record<string, Cell>;
  start: Record<string, Cell>;
  /** Container processes (workload and control-plane static pods) still running once the stop ended. */
  containersLeft: number;
  /** etcd restarts systemd made during the start (a start timeout, then Restart=always). */
  etcdRestarts: number;
  /** ssh connections that failed or timed out. */
  sshFailures: string[];
  /** kubecycle's stop refused (exit 2, nothing changed) and tried again once the cluster was steady. */
  refusals: number;
}

/** The runtime's units on this lab (kubelet and etcd have the same names everywhere). */
export interface UnitNames {
  runtime: string[];
}

const between = (a: number, b: number): number => b - a;

/** The floor of a row made of the stop (or start) of `units` on `nodes`, inside the window that row covers. */
function floorOf(
  units: UnitsByNode,
  names: readonly string[],
  kind: "stop" | "start",
  window: { from: number; to: number },
): number {
  return Math.max(0, ...names.map((u) => floorMs(unitOnNodes(units, u), kind, window)));
}

/** The stop rows of a kubecycle run, with floors from the units read right after it. */
export function kubecycleStop(r: KubecycleRun, units: UnitsByNode, n: UnitNames): Record<string, Cell> {
  const phase = (name: string) => r.phases.find((p) => p.phase === name);
  const kubelet = phase("stop-kubelet");
  // The followers, then the leader when kubecycle knew it (two phases): one row, from the first to the last.
  const etcd = span(r, "stop-etcd", phase("stop-etcd-leader") ? "stop-etcd-leader" : "stop-etcd");
  const runtime = phase("stop-runtime");
  if (!kubelet || !etcd || !runtime) throw new Error(`cluster stop ${r.op}: a stop phase is missing`);
  const rows: Record<string, Cell> = {};
  for (const p of r.phases) rows[`phase:${p.phase}`] = { ms: between(p.startAt, p.endAt) };
  const w = (p: { startAt: number; endAt: number }) => ({ from: p.startAt, to: p.endAt });
  rows.kubelet = {
    ms: between(kubelet.startAt, kubelet.endAt),
    floorMs: floorOf(units, ["kubelet.service"], "stop", w(kubelet)),
  };
  rows["phase:stop-kubelet"] = rows.kubelet;
  const pods = span(r, "stop-workload", "stop-control-plane");
  if (pods) rows.pods = { ms: between(pods.startAt, pods.endAt) };
  rows.etcd = { ms: between(etcd.startAt, etcd.endAt), floorMs: floorOf(units, ["etcd.service"], "stop", w(etcd)) };
  rows["phase:stop-etcd"] = rows.etcd;
  rows.runtime = {
    ms: between(runtime.startAt, runtime.endAt),
    floorMs: floorOf(units, n.runtime, "stop", w(runtime)),
  };
  rows["phase:stop-runtime"] = rows.runtime;
  rows.before = { ms: between(r.spawnedAt, kubelet.startAt) };
  rows.phases = {
    ms: between(kubelet.startAt, runtime.endAt),
    floorMs: (rows.kubelet.floorMs ?? 0) + (rows.etcd.floorMs ?? 0) + (rows.runtime.floorMs ?? 0),
  };
  rows.after = { ms: between(runtime.endAt, r.exitedAt) };
  rows.wall = { ms: between(r.spawnedAt, r.exitedAt), floorMs: rows.phases.floorMs ?? 0 };
  return rows;
}

/** The stop rows of a baseline's script. */
export function scriptStop(s: ScriptRun, units: UnitsByNode, n: UnitNames): Record<string, Cell> {
  const rows: Record<string, Cell> = {};
  const cell = (name: string, unitNames: string[]) => {
    const p = s.phases.get(name);
    if (!p) throw new Error(`the script has no ${name} phase`);
    return { ms: between(p[0], p[1]), floorMs: floorOf(units, unitNames, "stop", { from: p[0], to: p[1] }) };
  };
  rows.kubelet = cell("kubelet", ["kubelet.service"]);
  rows.etcd = cell("etcd", ["etcd.service"]);
  rows.runtime = cell("runtime", n.runtime);
  const first = s.phases.get("kubelet")?.[0] ?? s.startAt;
  const last = s.phases.get("runtime")?.[1] ?? s.endAt;
  rows.before = { ms: between(s.startAt, first) };
  rows.phases = {
    ms: between(first, last),
    floorMs: (rows.kubelet.floorMs ?? 0) + (rows.etcd.floorMs ?? 0) + (rows.runtime.floorMs ?? 0),
  };
  rows.after = { ms: between(last, s.endAt) };
  rows.wall = { ms: between(s.startAt, s.endAt), floorMs: rows.phases.floorMs ?? 0 };
  return rows;
}

/** The start rows of a kubecycle run; `backAt` is when the bench's own checks found the cluster back. */
export function kubecycleStart(
  r: KubecycleRun,
  units: UnitsByNode,
  n: UnitNames,
  backAt: number,
): Record<string, Cell> {
  const rows: Record<string, Cell> = {};
  for (const p of r.phases) rows[`phase:${p.phase}`] = { ms: between(p.startAt, p.endAt) };
  const runtime = span(r, "start-runtime", "start-runtime");
  const etcd = span(r, "start-etcd", "etcd-healthy");
  const kubelet = span(r, "start-control-plane", "start-workers");
  const ready = span(r, "wait-ready", "wait-ready");
  if (!runtime || !etcd || !kubelet || !ready) throw new Error(`cluster start ${r.op}: a start phase is missing`);
  const w = (p: { startAt: number; endAt: number }) => ({ from: p.startAt, to: p.endAt });
  rows.before = { ms: between(r.spawnedAt, runtime.startAt) };
  rows.runtime = {
    ms: between(runtime.startAt, runtime.endAt),
    floorMs: floorOf(units, n.runtime, "start", w(runtime)),
  };
  rows.etcd = { ms: between(etcd.startAt, etcd.endAt), floorMs: floorOf(units, ["etcd.service"], "start", w(etcd)) };
  rows.quorum = {
    ms: between(r.spawnedAt, etcd.endAt),
    floorMs: (rows.runtime.floorMs ?? 0) + (rows.etcd.floorMs ?? 0),
  };
  rows.unitQuorum = { ms: between(r.spawnedAt, quorumAt(unitOnNodes(units, "etcd.service"))) };
  rows.kubelet = {
    ms: between(kubelet.startAt, kubelet.endAt),
    floorMs: floorOf(units, ["kubelet.service"], "start", w(kubelet)),
  };
  rows.ready = { ms: between(ready.startAt, ready.endAt) };
  rows.after = { ms: between(ready.endAt, r.exitedAt) };
  rows.wall = { ms: between(r.spawnedAt, r.exitedAt) };
  rows.back = { ms: between(r.spawnedAt, Math.max(backAt, r.exitedAt)) };
  return rows;
}

/** The start rows of a baseline's script; after its loops, the bench waits until the cluster is back. */
export function scriptStart(s: ScriptRun, units: UnitsByNode, n: UnitNames, backAt: number): Record<string, Cell> {
  const rows: Record<string, Cell> = {};
  const cell = (name: string, unitNames: string[]) => {
    const p = s.phases.get(name);
    if (!p) throw new Error(`the script has no ${name} phase`);
    return { ms: between(p[0], p[1]), floorMs: floorOf(units, unitNames, "start", { from: p[0], to: p[1] }) };
  };
  rows.runtime = cell("runtime", n.runtime);
  rows.etcd = cell("etcd", ["etcd.service"]);
  const etcdEnd = s.phases.get("etcd")?.[1] ?? s.endAt;
  rows.before = { ms: between(s.startAt, s.phases.get("runtime")?.[0] ?? s.startAt) };
  rows.quorum = { ms: between(s.startAt, etcdEnd), floorMs: (rows.runtime.floorMs ?? 0) + (rows.etcd.floorMs ?? 0) };
  rows.unitQuorum = { ms: between(s.startAt, quorumAt(unitOnNodes(units, "etcd.service"))) };
  rows.kubelet = cell("kubelet", ["kubelet.service"]);
  rows.ready = { ms: between(s.endAt, Math.max(backAt, s.endAt)) };
  rows.wall = { ms: between(s.startAt, s.endAt) };
  rows.back = { ms: between(s.startAt, Math.max(backAt, s.endAt)) };
  return rows;
}
