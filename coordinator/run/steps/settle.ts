import type { V1Pod } from "@kubernetes/client-node";
import { setTimeout as sleep } from "node:timers/promises";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import type { StepDeps } from "./deps.js";

/** How often the pods are listed again while they settle. */
const POLL_MS = 2000;

/** A pod that has not settled, as the report lists it (the runbook's 3.6.3: read why it restarts). */
export interface UnsettledPod {
  pod: string;
  node: string;
  phase: string;
  /** CrashLoopBackOff, ContainerCreating, ... or "not ready". */
  reason: string;
  restarts: number;
  /** The last termination of its most restarted container: reason and exit code. */
  lastTermination?: string;
}

/** The pods that are neither Succeeded nor Running with every container ready, and why. */
export function unsettledPods(pods: readonly V1Pod[]): UnsettledPod[] {
  const out: UnsettledPod[] = [];
  for (const p of pods) {
    const phase = p.status?.phase ?? "Unknown";
    if (phase === "Succeeded" || p.metadata?.deletionTimestamp) continue;
    const statuses = p.status?.containerStatuses ?? [];
    const ready = phase === "Running" && statuses.length > 0 && statuses.every((c) => c.ready);
    if (ready) continue;
    const worst = [...statuses].sort((a, b) => b.restartCount - a.restartCount)[0];
    const waiting = statuses.map((c) => c.state?.waiting?.reason).find((r) => r !== undefined);
    const last = worst?.lastState?.terminated;
    out.push({
      pod: `${p.metadata?.namespace}/${p.metadata?.name}`,
      node: p.spec?.nodeName ?? "",
      phase,
      reason: waiting ?? p.status?.reason ?? (phase === "Running" ? "not ready" : phase),
      restarts: statuses.reduce((n, c) => n + c.restartCount, 0),
      ...(last ? { lastTermination: `${last.reason ?? "terminated"} (exit ${last.exitCode})` } : {}),
    });
  }
  return out.sort((a, b) => b.restarts - a.restarts || a.pod.localeCompare(b.pod));
}

/**
 * settle-report: waits up to `settleMs` for every pod to run; then reports those that do not, or that restart in a
 * loop (they often wait on pods they depend on), with their restart counts and last termination reasons. A report
 * with pods in it does not fail the start: the cluster is up, and the report says what to look at.
 */
export async function runSettleReport(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "settle-report" }>>,
): Promise<Evidence> {
  const end = Date.now() + ctx.step.action.settleMs;
  const t0 = Date.now();
  for (;;) {
    let unsettled: UnsettledPod[] | undefined;
    let total = 0;
    try {
      const pods = await deps.api.listPods();
      total = pods.length;
      unsettled = unsettledPods(pods);
    } catch (err) {
      ctx.progress(`listing pods: ${(err as Error).message}`);
    }
    if (unsettled?.length === 0) return { pods: total, settledMs: Date.now() - t0, unsettled: [] };
    if (unsettled && Date.now() >= end) {
      for (const u of unsettled.slice(0, 20)) {
        ctx.progress(
          `${u.pod} on ${u.node || "(no node)"}: ${u.phase}, ${u.reason}, ${u.restarts} restart(s)${u.lastTermination ? `, last: ${u.lastTermination}` : ""}`,
        );
      }
      return {
        pods: total,
        unsettled,
        warning: `${unsettled.length} pod(s) not running after ${Math.round(ctx.step.action.settleMs / 1000)} s; see their logs (kubectl logs --previous)`,
      };
    }
    if (unsettled) ctx.progress(`${unsettled.length} of ${total} pods not running yet`);
    await sleep(Math.min(POLL_MS, Math.max(0, end - Date.now())) || POLL_MS, undefined, { signal: ctx.signal });
  }
}
