// The report: per lab size, medians of every row for each method side by side with their floors, kubecycle's own
// phases, the ratios and the issue's targets.
import { cpus } from "node:os";
import { METHODS, type Cell, type CycleSample, type Method } from "./samples.js";

type Verb = "stop" | "start";

export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? Number.NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

const ms = (x: number): string => (Number.isFinite(x) ? String(Math.round(x)) : "-");
const ratio = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : "-");

/** The median of one row of one method and verb, and of its floor. */
function cell(samples: readonly CycleSample[], method: Method, verb: Verb, row: string): { ms: number; floor: number } {
  const of = samples.filter((s) => s.method === method).map((s): Cell | undefined => s[verb][row]);
  return {
    ms: median(of.map((c) => c?.ms ?? Number.NaN)),
    floor: median(of.map((c) => c?.floorMs ?? Number.NaN)),
  };
}

const STOP_ROWS: Array<[string, string]> = [
  ["before", "before the stop phases: kubecycle's start-up, preflight, record, lock, snapshot, cordon"],
  ["kubelet", "kubelet on every node"],
  ["pods", "pod sandboxes: the workload's, the Lease parked, the control plane's"],
  ["etcd", "etcd on every member"],
  ["runtime", "the runtime on every node"],
  ["phases", "= the stop phases, kubelet to runtime (floor: sum of the rows')"],
  ["after", "after the phases (journal, lock parked, exit)"],
  ["wall", "= the whole command / script"],
];

const START_ROWS: Array<[string, string]> = [
  ["before", "before the runtime: kubecycle's start-up, agents, lock"],
  ["runtime", "the runtime on every node"],
  ["etcd", "etcd: started, each member, the cluster healthy"],
  ["quorum", "= to etcd quorum, from the start (floor: runtime + etcd)"],
  ["unitQuorum", "  (quorum as systemd saw it: a majority of members active)"],
  ["kubelet", "kubelet: control plane (+ its health, Lease) then workers"],
  ["ready", "every node Ready (baselines: the bench's check after the loops)"],
  ["after", "after Ready: uncordon, settle report, unlock, exit"],
  ["wall", "= the whole command / script"],
  ["back", "= until the cluster is back, by the bench's own checks"],
];

function table(samples: readonly CycleSample[], verb: Verb, rows: Array<[string, string]>): string[] {
  const methods = METHODS.filter((m) => samples.some((s) => s.method === m));
  const head = ["", ...methods.flatMap((m) => [m, "floor"])];
  const lines = [head];
  for (const [key, label] of rows) {
    const cells = methods.map((m) => cell(samples, m, verb, key));
    if (cells.every((c) => !Number.isFinite(c.ms))) continue;
    lines.push([label, ...cells.flatMap((c) => [ms(c.ms), ms(c.floor)])]);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? "").length)));
  return lines.map((l) =>
    l
      .map((c, i) => (i === 0 ? c.padEnd(widths[0] ?? 0) : c.padStart((widths[i] ?? 0) + 2)))
      .join("")
      .trimEnd(),
  );
}

/** kubecycle's own phases, each with its slowest step's floor where units make it. */
function kubecyclePhases(samples: readonly CycleSample[], verb: Verb): string[] {
  const runs = samples.filter((s) => s.method === "kubecycle");
  const names = [...new Set(runs.flatMap((s) => Object.keys(s[verb]).filter((k) => k.startsWith("phase:"))))];
  return names.map((key) => {
    const c = cell(runs, "kubecycle", verb, key);
    return `  ${key.slice(6).padEnd(22)}${ms(c.ms).padStart(7)}${Number.isFinite(c.floor) ? `  floor ${ms(c.floor)}` : ""}`;
  });
}

/** The report of one lab size. */
export function report(samples: readonly CycleSample[]): string[] {
  const nodes = samples[0]?.nodes ?? 0;
  const runs = Math.max(...METHODS.map((m) => samples.filter((s) => s.method === m).length));
  const loads = samples.map((s) => s.load1);
  const out: string[] = [
    "",
    `=== ${nodes} nodes (3 masters), medians of ${runs} runs, ms; 1-min load while measuring ` +
      `${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} on ${cpus().length} cores`,
    "",
    "cluster stop",
    ...table(samples, "stop", STOP_ROWS),
  ];
  const left = (m: Method) => median(samples.filter((s) => s.method === m).map((s) => s.containersLeft));
  out.push(
    `container processes left running after the stop: ${METHODS.map((m) => `${m} ${ms(left(m))}`).join(", ")}`,
    "",
    "cluster start",
    ...table(samples, "start", START_ROWS),
  );
  const restarts = (m: Method) => median(samples.filter((s) => s.method === m).map((s) => s.etcdRestarts));
  out.push(`etcd restarts by systemd during the start: ${METHODS.map((m) => `${m} ${ms(restarts(m))}`).join(", ")}`);
  const refusals = samples.reduce((a, s) => a + s.refusals, 0);
  if (refusals > 0) out.push(`kubecycle's stop refused (nothing changed) and tried again: ${refusals} time(s)`);
  const failures = samples.flatMap((s) => s.sshFailures.map((f) => `${s.method} run ${s.run}: ${f}`));
  if (failures.length > 0) out.push("ssh connections that failed or timed out:", ...failures.map((f) => `  ${f}`));
  out.push("", "kubecycle's phases, cluster stop", ...kubecyclePhases(samples, "stop"));
  out.push("kubecycle's phases, cluster start", ...kubecyclePhases(samples, "start"));

  const k = (verb: Verb, row: string) => cell(samples, "kubecycle", verb, row).ms;
  const b = (m: Method, verb: Verb, row: string) => cell(samples, m, verb, row).ms;
  out.push(
    "",
    "ratios (kubecycle / baseline)                       runbook  parallel-ssh",
    `  stop, whole command / whole script                ${ratio(k("stop", "wall") / b("runbook", "stop", "wall")).padStart(7)}  ${ratio(k("stop", "wall") / b("parallel-ssh", "stop", "wall")).padStart(12)}`,
    `  stop phases (kubelet..runtime) / script's phases  ${ratio(k("stop", "phases") / b("runbook", "stop", "phases")).padStart(7)}  ${ratio(k("stop", "phases") / b("parallel-ssh", "stop", "phases")).padStart(12)}`,
    `  start, to etcd quorum                             ${ratio(k("start", "quorum") / b("runbook", "start", "quorum")).padStart(7)}  ${ratio(k("start", "quorum") / b("parallel-ssh", "start", "quorum")).padStart(12)}`,
    `  start, whole command / whole script               ${ratio(k("start", "wall") / b("runbook", "start", "wall")).padStart(7)}  ${ratio(k("start", "wall") / b("parallel-ssh", "start", "wall")).padStart(12)}`,
    `  start, until back                                 ${ratio(k("start", "back") / b("runbook", "start", "back")).padStart(7)}  ${ratio(k("start", "back") / b("parallel-ssh", "start", "back")).padStart(12)}`,
  );
  if (nodes >= 15) {
    const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
    const stopPhases = k("stop", "phases");
    const quorum = k("start", "quorum");
    const rStop = k("stop", "wall") / b("runbook", "stop", "wall");
    const rStart = k("start", "wall") / b("runbook", "start", "wall");
    const rPar = k("stop", "phases") / b("parallel-ssh", "stop", "phases");
    out.push(
      "",
      "the issue's targets at 15 nodes",
      `  cluster stop, kubelet..runtime phases <= 1200 ms:  ${ms(stopPhases)} ms  ${verdict(stopPhases <= 1200)}`,
      `  cluster start to etcd quorum <= 5000 ms:            ${ms(quorum)} ms  ${verdict(quorum <= 5000)}`,
      `  stop / runbook <= 0.1:                              ${ratio(rStop)}  ${verdict(rStop <= 0.1)}`,
      `  start / runbook <= 0.05:                            ${ratio(rStart)}  ${verdict(rStart <= 0.05)}`,
      `  stop phases / parallel ssh <= 0.2:                  ${ratio(rPar)}  ${verdict(rPar <= 0.2)}`,
    );
  }
  return out;
}
