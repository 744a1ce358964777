import {
  PLAN_VERSION,
  type InventoryNode,
  type Phase,
  type Plan,
  type Step,
  type StepAction,
  type UnitNames,
} from "./types.js";

/** Timeouts a node procedure's steps use, by phase. */
export interface NodeTimeouts {
  agentCallMs: number;
  lockMs: number;
  backupMs: number;
  cordonMs: number;
  /** `--drain-timeout`: how long evictions may be retried while a PodDisruptionBudget blocks them. */
  drainMs: number;
  /** After the drain: how long to wait for evicted pods' replacements to run elsewhere. */
  replacementMs: number;
  unitSettleMs: number;
  podSandboxesMs: number;
  nodeNotReadyMs: number;
  nodeReadyMs: number;
  etcdHealthyMs: number;
  controlPlaneMs: number;
}

/** Options of `kubecycle node stop`. */
export interface NodeStopOptions {
  /** Skip the etcd snapshot an etcd member's stop takes by default. */
  skipBackup: boolean;
  /** Go on when the evicted pods would not fit on the remaining nodes. */
  force: boolean;
  /** Take the cluster lock even if another operation holds it. */
  breakLock: boolean;
  /** Snapshots kept in the backup directory. */
  backupKeep: number;
  timeouts: NodeTimeouts;
}

/** Options of `kubecycle node start`. */
export interface NodeStartOptions {
  breakLock: boolean;
  timeouts: NodeTimeouts;
}

/** Runtime units in start order for this node (docker is followed by cri-dockerd where it exists). */
function runtimeUnits(node: InventoryNode, units: UnitNames): { units: string[]; optional: string[] } {
  const list = units.runtime[node.runtime];
  // Everything after the runtime itself (cri-dockerd) is "if present".
  return { units: list, optional: list.slice(1) };
}

/** A step before its phase gives it an id; node null: not on a node; undefined: the procedure's node. */
type StepDraft = Omit<Step, "id" | "node"> & { node?: string | null };

class PlanBuilder {
  readonly #phases: Phase[] = [];
  readonly #node: string;

  constructor(node: string) {
    this.#node = node;
  }

  phase(name: string, title: string, steps: StepDraft[]): this {
    if (steps.length === 0) return this;
    this.#phases.push({
      name,
      title,
      steps: steps.map((s) => {
        const node = s.node === null ? undefined : (s.node ?? this.#node);
        return { ...s, node, id: [name, s.action.kind, node].filter(Boolean).join("/") };
      }),
    });
    return this;
  }

  build(procedure: string): Plan {
    return { version: PLAN_VERSION, procedure, target: this.#node, phases: this.#phases };
  }
}

function step(action: StepAction, timeoutMs: number, check: string, node?: string | null): StepDraft {
  return { action, timeoutMs, check, ...(node === undefined ? {} : { node }) };
}

/** Every node procedure first checks that the node's agent answers and that the API knows the node. */
function nodeChecks(t: NodeTimeouts): StepDraft[] {
  return [
    step({ kind: "check-agent" }, t.agentCallMs, "the node's agent answers over mTLS and reports its units"),
    step({ kind: "check-node-exists" }, t.agentCallMs, "the node exists in the Kubernetes API"),
  ];
}

/** The cluster lock, taking over one this node's own stop or start parked. */
function lockStep(breakLock: boolean, t: NodeTimeouts): StepDraft {
  return step(
    { kind: "acquire-lock", breakLock },
    t.lockMs,
    "the kube-system Lease and the local lock are ours (or taken over from this node's own parked stop or start)",
    null,
  );
}

/**
 * `kubecycle node stop NODE`: SPEC.md "Node stop". Preflight (agent, node, quorum guard for etcd members, capacity),
 * lock, backup (etcd members), cordon, drain, then kubelet, pod sandboxes, etcd and the runtime stopped in that
 * order, each verified, and finally the node seen NotReady from outside and the remaining etcd members healthy.
 */
export function planNodeStop(node: InventoryNode, units: UnitNames, opts: NodeStopOptions): Plan {
  const t = opts.timeouts;
  const rt = runtimeUnits(node, units);
  const b = new PlanBuilder(node.name);
  b.phase("preflight", "Preflight checks", [
    ...nodeChecks(t),
    ...(node.etcdMember
      ? [
          step(
            { kind: "check-etcd-quorum", leaving: node.name },
            t.etcdHealthyMs,
            "at least 3 etcd members, all healthy, and the others keep quorum without this one",
            null,
          ),
        ]
      : []),
    step(
      { kind: "check-capacity", leaving: node.name, force: opts.force },
      t.agentCallMs,
      "the evictable pods' CPU and memory requests fit on the remaining Ready, schedulable nodes",
    ),
  ]);
  b.phase("lock", "Take the cluster operation lock", [lockStep(opts.breakLock, t)]);
  if (node.etcdMember && !opts.skipBackup) {
    b.phase("backup", "Back up etcd", [
      step(
        { kind: "etcd-snapshot", keep: opts.backupKeep },
        t.backupMs,
        "a snapshot streamed from a member's agent is written, fsynced, its sha256 matches, and it is renamed into place",
        null,
      ),
    ]);
  }
  b.phase("cordon", "Cordon", [
    step({ kind: "cordon" }, t.cordonMs, "spec.unschedulable is true; whether it was already is recorded"),
  ]);
  b.phase("drain", "Drain through the Eviction API", [
    step(
      { kind: "drain", drainTimeoutMs: t.drainMs, replacementTimeoutMs: t.replacementMs },
      t.drainMs + t.replacementMs + t.agentCallMs,
      "every evictable pod is gone and its replacement runs on another node (DaemonSet and mirror pods stay)",
    ),
  ]);
  b.phase("stop-kubelet", "Stop kubelet", [
    step({ kind: "stop-units", units: [units.kubelet], ignoreMissing: [] }, t.unitSettleMs, "kubelet is inactive"),
  ]);
  b.phase("stop-pods", "Stop the remaining pod sandboxes", [
    step(
      { kind: "stop-pod-sandboxes" },
      t.podSandboxesMs,
      "no pod sandbox is ready on the node (stopping kubelet or the runtime does not stop containers)",
    ),
  ]);
  if (node.etcdMember) {
    b.phase("stop-etcd", "Stop etcd", [
      step({ kind: "stop-units", units: [units.etcd], ignoreMissing: [] }, t.unitSettleMs, "etcd is inactive"),
    ]);
  }
  b.phase("stop-runtime", "Stop the container runtime", [
    step(
      { kind: "stop-units", units: [...rt.units].reverse(), ignoreMissing: rt.optional },
      t.unitSettleMs,
      `${rt.units.join(" and ")} inactive`,
    ),
  ]);
  b.phase("verify", "Verify from outside", [
    step({ kind: "wait-node-ready", ready: false }, t.nodeNotReadyMs, "the Node turns NotReady in the API"),
    ...(node.etcdMember
      ? [
          step(
            { kind: "check-etcd-healthy", excluding: [node.name] },
            t.etcdHealthyMs,
            "the remaining etcd members are healthy and have a leader",
            null,
          ),
        ]
      : []),
  ]);
  return b.build("node stop");
}

/**
 * `kubecycle node start NODE`: SPEC.md "Node start". The runtime, etcd (members) and kubelet started in that order,
 * each verified active; the node Ready; etcd all healthy with one leader and converged raft indexes; the
 * control-plane health endpoints on control-plane nodes; uncordon only if kubecycle cordoned it; release the lock.
 */
export function planNodeStart(node: InventoryNode, units: UnitNames, opts: NodeStartOptions): Plan {
  const t = opts.timeouts;
  const rt = runtimeUnits(node, units);
  const b = new PlanBuilder(node.name);
  b.phase("preflight", "Preflight checks", nodeChecks(t));
  b.phase("lock", "Take the cluster operation lock", [lockStep(opts.breakLock, t)]);
  b.phase("start-runtime", "Start the container runtime", [
    step(
      { kind: "start-units", units: rt.units, ignoreMissing: rt.optional, noBlock: false },
      t.unitSettleMs,
      `${rt.units.join(" and ")} active`,
    ),
  ]);
  if (node.etcdMember) {
    b.phase("start-etcd", "Start etcd", [
      step(
        { kind: "start-units", units: [units.etcd], ignoreMissing: [], noBlock: false },
        t.unitSettleMs,
        "etcd is active (it has rejoined the quorum of the running members)",
      ),
    ]);
  }
  b.phase("start-kubelet", "Start kubelet", [
    step(
      { kind: "start-units", units: [units.kubelet], ignoreMissing: [], noBlock: false },
      t.unitSettleMs,
      "kubelet is active",
    ),
  ]);
  b.phase("verify", "Verify", [
    step({ kind: "wait-node-ready", ready: true }, t.nodeReadyMs, "the Node is Ready in the API"),
    ...(node.etcdMember
      ? [
          step(
            { kind: "check-etcd-healthy", excluding: [] },
            t.etcdHealthyMs,
            "this member and all members are healthy, exactly one leader, raft indexes converged",
            null,
          ),
        ]
      : []),
    ...(node.controlPlane
      ? [
          step(
            { kind: "check-control-plane" },
            t.controlPlaneMs,
            "the apiserver's /readyz, the scheduler's and the controller-manager's health endpoints answer ok",
          ),
        ]
      : []),
  ]);
  b.phase("uncordon", "Allow scheduling again", [
    step({ kind: "uncordon" }, t.cordonMs, "uncordoned only if kubecycle cordoned it; an administrator's cordon stays"),
  ]);
  b.phase("unlock", "Release the cluster operation lock", [
    step({ kind: "release-lock" }, t.lockMs, "the Lease and the local lock are released", null),
  ]);
  return b.build("node start");
}

/** Step kinds that change a node (the rest only check, back up or lock). */
const CHANGING_KINDS: ReadonlySet<StepAction["kind"]> = new Set([
  "cordon",
  "drain",
  "stop-units",
  "start-units",
  "stop-pod-sandboxes",
  "uncordon",
]);

/**
 * Whether a procedure that stopped at `stepId` may have changed its node: true once the first changing step has
 * started (a failed verification after the units stopped counts), false if it stopped in preflight, lock or backup.
 */
export function changedNodeBy(plan: Plan, stepId: string): boolean {
  const steps = plan.phases.flatMap((ph) => ph.steps);
  const first = steps.findIndex((s) => CHANGING_KINDS.has(s.action.kind));
  const at = steps.findIndex((s) => s.id === stepId);
  if (at < 0) throw new Error(`step ${stepId} is not in the plan of ${plan.procedure} ${plan.target}`);
  return first >= 0 && at >= first;
}
