import type { Plan, Step } from "./types.js";

function seconds(ms: number): string {
  if (ms % 86_400_000 === 0 && ms >= 86_400_000) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000}h`;
  return ms % 60_000 === 0 && ms >= 60_000 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}

function describe(step: Step): string {
  const a = step.action;
  switch (a.kind) {
    case "stop-units":
      return `stop ${a.units.join(", ")}${a.ignoreMissing.length ? ` (${a.ignoreMissing.join(", ")} if present)` : ""}`;
    case "start-units":
      return `start ${a.units.join(", ")}${a.ignoreMissing.length ? ` (${a.ignoreMissing.join(", ")} if present)` : ""}${a.noBlock ? " without waiting for readiness" : ""}`;
    case "wait-node-ready":
      return a.ready ? "wait for the Node to be Ready" : "wait for the Node to be NotReady";
    case "check-etcd-quorum":
      return `check etcd keeps quorum without ${a.leaving}`;
    case "check-capacity":
      return `check the cluster has room for ${a.leaving}'s pods${a.force ? " (--force: warn only)" : ""}`;
    case "check-etcd-healthy":
      return `${a.wait ? "wait until" : "check"} etcd is healthy${a.excluding.length ? ` without ${a.excluding.join(", ")}` : ""}`;
    case "acquire-lock":
      return `take the lock${a.api ? "" : " (the local one; the Lease once the API is back)"}${a.breakLock ? ", breaking a stale one (--break-lock)" : ""}`;
    case "etcd-snapshot":
      return `etcd snapshot (keep ${a.keep})`;
    case "stop-pod-sandboxes":
      return {
        all: "stop every pod sandbox",
        workload: "stop the workload's pod sandboxes",
        "control-plane": "stop the control plane's static pods",
        etcd: "stop etcd's static pod",
        "all-but-etcd": "stop every pod sandbox but etcd's",
      }[a.scope];
    case "wait-etcd-member":
      return "wait for the node's etcd member to be healthy";
    case "check-api-servers":
      return `check another API server serves without ${a.leaving}${a.force ? " (--force: warn only)" : ""}`;
    case "check-certificates":
      return `check certificates outlive ${seconds(a.windowMs)}`;
    case "record-inventory":
      return `record the inventory${a.bootHold ? " (boot hold)" : ""}${a.poweroff ? " (power-off)" : ""}`;
    case "set-auto-start":
      return `${a.enabled ? "enable" : "disable"} start at boot: ${a.units.join(", ")}`;
    case "power-off":
      return "power off";
    case "settle-report":
      return `settle report (waits up to ${seconds(a.settleMs)})`;
    case "kubelet-csrs":
      return a.approve
        ? "approve the kubelets' CSRs that match the recorded inventory (--approve-kubelet-csrs), list the others"
        : "list the kubelets' pending CSRs";
    case "drain":
      return `drain (PDB retries up to ${seconds(a.drainTimeoutMs)})`;
    default:
      return a.kind.replaceAll("-", " ");
  }
}

/** The plan as people read it, for `--dry-run`. */
export function renderPlan(plan: Plan): string {
  const lines = [`Plan: ${plan.procedure} ${plan.target} (plan v${plan.version})`];
  plan.phases.forEach((phase, i) => {
    lines.push(`${i + 1}. ${phase.title}`);
    for (const s of phase.steps) {
      lines.push(`   - ${s.node ? `[${s.node}] ` : ""}${describe(s)}  (timeout ${seconds(s.timeoutMs)})`);
      lines.push(`       check: ${s.check}`);
    }
  });
  return `${lines.join("\n")}\n`;
}
