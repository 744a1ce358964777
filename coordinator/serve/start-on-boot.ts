// The start a `cluster stop --poweroff --boot-hold --start-on-boot` armed: `serve` runs `cluster start` once every
// recorded node has reported from a boot after the stop, and only then. Whether it is armed, and what it waits for,
// is decided here from durable records only (the cluster record, the operations' journals, the kept reports), so a
// restarted serve decides the same as the one before it. Nothing here does I/O.
import type { ClusterRecord } from "../record.js";
import type { OperationSummary } from "../run/journal.js";
import type { Kept } from "./store.js";

/** serve, as it names itself in the journal of the start it runs. */
export const SERVE_ORIGIN = "kubecycle serve";

/** A node the armed start still waits for. */
export interface Missing {
  node: string;
  /** When it went away: its power-off at the stop (the record's time when the journal has none). */
  sinceUnixMs: number;
  /** The boot id it had at the stop: a report from that boot does not count. */
  stoppedBootId: string;
  /** Its last report, from the old boot, if any. */
  lastReportUnixMs?: number;
}

/** What serve makes of the records. */
export type StartOnBootState =
  | { state: "none" }
  /** The stop that armed it is still running (or was cut short and may be resumed). */
  | { state: "waiting-for-stop"; stopOp: string; reason: string }
  | { state: "disarmed"; stopOp: string; reason: string; startOp?: string }
  | { state: "waiting"; stopOp: string; armedUnixMs: number; missing: Missing[]; reported: string[] }
  /** Every node reported: start now. */
  | { state: "ready"; stopOp: string; armedUnixMs: number; reported: string[]; why: string }
  | { state: "starting" | "started" | "failed"; stopOp: string; startOp: string; reason: string };

/** The journal facts the decision needs: the stop's, and the cluster starts begun after it. */
export interface JournalView {
  /** The stop that recorded the record, as its journal tells it (undefined: no journal). */
  stop: Pick<OperationSummary, "result" | "steps" | "finishedAt"> | undefined;
  /** `cluster start` operations begun after the stop, oldest first. */
  startsAfter: Array<Pick<OperationSummary, "op" | "result" | "origin" | "reason">>;
}

/** Whether `k` is a report from a boot after the stop: another boot id than the one recorded at the stop. */
export function reportedAfterBoot(k: Kept | undefined, stoppedBootId: string): boolean {
  return k !== undefined && k.report.bootId !== "" && k.report.bootId !== stoppedBootId;
}

/**
 * Decides what the armed start is doing. A start that anyone began after the stop (serve, or an operator by hand)
 * settles it: serve never runs a second one, and a failed one is finished with `kubecycle ops resume`, as any.
 */
export function startOnBootState(
  record: ClusterRecord | undefined,
  journals: JournalView,
  reports: (node: string) => Kept | undefined,
): StartOnBootState {
  if (!record?.startOnBoot) return { state: "none" };
  const stopOp = record.op;
  const start = journals.startsAfter.at(-1);
  if (start) {
    const bySelf = start.origin?.by === SERVE_ORIGIN;
    if (!bySelf) {
      return {
        state: "disarmed",
        stopOp,
        startOp: start.op,
        reason: `cluster start ${start.op} was run by hand after the stop`,
      };
    }
    const state = start.result === "succeeded" ? "started" : start.result === "running" ? "starting" : "failed";
    return {
      state,
      stopOp,
      startOp: start.op,
      reason:
        state === "failed"
          ? `the start ${start.result}${start.reason ? `: ${start.reason}` : ""}; finish it with \`kubecycle ops resume ${start.op}\``
          : (start.origin?.why ?? ""),
    };
  }
  const stop = journals.stop;
  if (!stop) return { state: "disarmed", stopOp, reason: `the stop ${stopOp} has no journal here` };
  if (stop.result === "running") {
    return { state: "waiting-for-stop", stopOp, reason: `the stop ${stopOp} is still running` };
  }
  if (stop.result !== "succeeded") {
    // Its nodes were not all powered off: nobody reports from a new boot, and a half-stopped cluster is the
    // operator's to finish (`ops resume`), after which the start is armed again.
    return {
      state: "waiting-for-stop",
      stopOp,
      reason: `the stop ${stopOp} ${stop.result}; it arms the start once it finishes (\`kubecycle ops resume ${stopOp}\`)`,
    };
  }
  const armedUnixMs = Date.parse(stop.finishedAt ?? record.recordedAt);
  const missing: Missing[] = [];
  const reported: string[] = [];
  for (const n of record.inventory.nodes) {
    const stoppedBootId = record.bootIds[n.name] ?? "";
    const k = reports(n.name);
    if (reportedAfterBoot(k, stoppedBootId)) {
      reported.push(n.name);
      continue;
    }
    const off = stop.steps.find((s) => s.phase === "power-off" && s.node === n.name)?.finishedAt;
    missing.push({
      node: n.name,
      sinceUnixMs: Date.parse(off ?? stop.finishedAt ?? record.recordedAt),
      stoppedBootId,
      ...(k ? { lastReportUnixMs: k.receivedUnixMs } : {}),
    });
  }
  if (missing.length > 0) return { state: "waiting", stopOp, armedUnixMs, missing, reported };
  const last = Math.max(...reported.map((n) => reports(n)?.receivedUnixMs ?? 0));
  return {
    state: "ready",
    stopOp,
    armedUnixMs,
    reported,
    why:
      `armed by cluster stop ${stopOp} (--start-on-boot); every recorded node (${reported.length}) reported from a ` +
      `new boot, the last at ${new Date(last).toISOString()}`,
  };
}
