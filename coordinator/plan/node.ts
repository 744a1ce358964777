import { KubecycleError } from "../../shared/index.js";
import { PlanBuilder, step, type StepDraft } from "./builder.js";
import { runtimeStartOrder, runtimeStopOrder } from "./runtime.js";
import { changesNodes, isEtcdMember, type InventoryNode, type Plan, type StepAction } from "./types.js";

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
  /**
   * Go on when the evicted pods would not fit on the remaining nodes, when the node is the last API server, and evict
   * pods no controller replaces (kubectl drain's --force).
   */
  force: boolean;
  /** Evict pods with emptyDir volumes, whose data goes with them (kubectl drain's --delete-emptydir-data). */
  deleteEmptyDirData: boolean;
  /** Take the cluster lock even if another operation holds it. */
  breakLock: boolean;
  /** Snapshots kept in the backup directory. */
  backupKeep: number;
  /**
   * Whether another control-plane node is in the inventory. When none is (one control-plane node, external etcd),
   * the API goes down with this node, and the checks that need it afterwards cannot run.
   */
  apiElsewhere: boolean;
  timeouts: NodeTimeouts;
}

/** Options of `kubecycle node start`. */
export interface NodeStartOptions {
  breakLock: boolean;
  timeouts: NodeTimeouts;
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
    { kind: "acquire-lock", breakLock, api: true },
    t.lockMs,
    "the kube-system Lease and the local lock are ours (or taken over from this node's own parked stop or start)",
    null,
  );
}

/**
 * What a node procedure needs to know of the node's etcd: whether it is a member and how its etcd runs. A node whose
 * membership nobody could tell, or a member whose etcd kubecycle does not control, is refused here.
 */
function etcdOf(node: InventoryNode): { member: boolean; staticPod: boolean; unit: string } {
  if (node.etcd.role === "unknown") {
    throw new KubecycleError(
      "QUORUM_AT_RISK",
      `kubecycle cannot tell whether ${node.name} is an etcd member: its agent did not answer and no member list was had`,
      {
        node: node.name,
        hint: "check the node's agent (`kubecycle status`) and etcd's health, then try again; nothing was changed",
      },
    );
  }
  if (!isEtcdMember(node)) return { member: false, staticPod: false, unit: "" };
  if (node.etcd.mode === "static-pod") return { member: true, staticPod: true, unit: "" };
  if (node.etcd.mode === "systemd" && node.etcd.unit) return { member: true, staticPod: false, unit: node.etcd.unit };
  throw new KubecycleError(
    "QUORUM_AT_RISK",
    `${node.name} is etcd member ${node.etcd.memberName ?? node.etcd.memberId ?? "?"}, but its agent finds neither an etcd unit nor an etcd static pod on it (${node.etcd.mode})`,
    {
      node: node.name,
      hint: "kubecycle controls etcd as a systemd unit (KubeKey) or a kubeadm static pod; see the agent's etcd settings",
    },
  );
}

/** The node's runtime units, or a refusal when its agent never told them. */
function runtimeOf(node: InventoryNode): InventoryNode["runtime"] {
  if (node.runtime.units.length === 0) {
    throw new KubecycleError(
      "NODE_UNREACHABLE",
      `the container runtime of ${node.name} is unknown: its agent did not answer and no earlier inventory has it`,
      { node: node.name, hint: `check that kubecycle-agent runs on ${node.name}: systemctl status kubecycle-agent` },
    );
  }
  return node.runtime;
}

const units = (list: string[]): StepAction => ({ kind: "stop-units", units: list, ignoreMissing: [] });

/**
 * `kubecycle node stop NODE`: SPEC.md "Node stop". Preflight (agent, node, quorum guard for etcd members, the API
 * kept for control-plane nodes, capacity), lock, backup (etcd members), cordon, drain, then kubelet, the pod
 * sandboxes, etcd and the runtime stopped in that order, each verified, and finally the node seen NotReady from
 * outside and the remaining etcd members healthy. A static-pod etcd member's sandbox is stopped last of its pods.
 */
export function planNodeStop(node: InventoryNode, opts: NodeStopOptions): Plan {
  const t = opts.timeouts;
  const etcd = etcdOf(node);
  const rt = runtimeOf(node);
  const stopRuntime = runtimeStopOrder(rt);
  const b = new PlanBuilder(node.name, { defaultNode: node.name });
  b.phase("preflight", "Preflight checks", [
    ...nodeChecks(t),
    ...(etcd.member
      ? [
          step(
            { kind: "check-etcd-quorum", leaving: node.name },
            t.etcdHealthyMs,
            "at least 3 voting etcd members, all healthy, and the others keep quorum without this one",
            null,
          ),
        ]
      : []),
    ...(node.controlPlane
      ? [
          step(
            { kind: "check-api-servers", leaving: node.name, force: opts.force },
            t.controlPlaneMs,
            "another control-plane node's API server is ready, so the API stays up without this one",
            null,
          ),
        ]
      : []),
    step(
      { kind: "check-drainable", force: opts.force, deleteEmptyDirData: opts.deleteEmptyDirData },
      t.agentCallMs,
      "no pod would be lost to the drain unless allowed: bare pods need --force, emptyDir data --delete-emptydir-data",
    ),
    step(
      { kind: "check-capacity", leaving: node.name, force: opts.force },
      t.agentCallMs,
      "the evictable pods' CPU and memory requests fit on the remaining Ready, schedulable nodes",
    ),
  ]);
  b.phase("lock", "Take the cluster operation lock", [lockStep(opts.breakLock, t)]);
  if (etcd.member && !opts.skipBackup) {
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
      {
        kind: "drain",
        drainTimeoutMs: t.drainMs,
        replacementTimeoutMs: t.replacementMs,
        force: opts.force,
        deleteEmptyDirData: opts.deleteEmptyDirData,
      },
      t.drainMs + t.replacementMs + t.agentCallMs,
      "every evictable pod is gone and its replacement runs on another node (DaemonSet and mirror pods stay)",
    ),
  ]);
  b.phase("stop-kubelet", "Stop kubelet", [step(units([node.kubeletUnit]), t.unitSettleMs, "kubelet is inactive")]);
  b.phase("stop-pods", "Stop the remaining pod sandboxes", [
    step(
      { kind: "stop-pod-sandboxes", scope: etcd.staticPod ? "all-but-etcd" : "all" },
      t.podSandboxesMs,
      `no pod sandbox${etcd.staticPod ? " but etcd's" : ""} is ready on the node (stopping kubelet or the runtime does not stop containers)`,
    ),
  ]);
  if (etcd.member) {
    b.phase("stop-etcd", "Stop etcd", [
      etcd.staticPod
        ? step(
            { kind: "stop-pod-sandboxes", scope: "etcd" },
            t.podSandboxesMs,
            "etcd's static pod sandbox is stopped and the member no longer answers",
          )
        : step(units([etcd.unit]), t.unitSettleMs, "etcd is inactive"),
    ]);
  }
  b.phase("stop-runtime", "Stop the container runtime", [
    step(units(stopRuntime), t.unitSettleMs, `${stopRuntime.join(", ")} inactive`),
  ]);
  const apiGone = node.controlPlane && !opts.apiElsewhere;
  b.phase("verify", "Verify from outside", [
    // With the last API server stopped (--force, external etcd) nobody can tell NotReady; the units were verified.
    ...(apiGone
      ? []
      : [step({ kind: "wait-node-ready", ready: false }, t.nodeNotReadyMs, "the Node turns NotReady in the API")]),
    ...(etcd.member
      ? [
          step(
            { kind: "check-etcd-healthy", excluding: [node.name], wait: true },
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
 * `kubecycle node start NODE`: SPEC.md "Node start". The runtime, etcd (a systemd member) and kubelet started in
 * that order, each verified active (a static-pod member: its etcd seen healthy once kubelet runs it); the node Ready;
 * etcd all healthy with one leader and converged raft indexes; the control plane's health endpoints on control-plane
 * nodes, probed by the node's agent; uncordon only if kubecycle cordoned it; release the lock.
 */
export function planNodeStart(node: InventoryNode, opts: NodeStartOptions): Plan {
  const t = opts.timeouts;
  const etcd = etcdOf(node);
  const startRuntime = runtimeStartOrder(runtimeOf(node));
  const b = new PlanBuilder(node.name, { defaultNode: node.name });
  b.phase("preflight", "Preflight checks", nodeChecks(t));
  b.phase("lock", "Take the cluster operation lock", [lockStep(opts.breakLock, t)]);
  b.phase("start-runtime", "Start the container runtime", [
    step(
      { kind: "start-units", units: startRuntime, ignoreMissing: [], noBlock: false },
      t.unitSettleMs,
      `${startRuntime.join(", ")} active`,
    ),
  ]);
  if (etcd.member && !etcd.staticPod) {
    b.phase("start-etcd", "Start etcd", [
      step(
        { kind: "start-units", units: [etcd.unit], ignoreMissing: [], noBlock: false },
        t.unitSettleMs,
        "etcd is active (it has rejoined the quorum of the running members)",
      ),
    ]);
  }
  b.phase("start-kubelet", "Start kubelet", [
    step(
      { kind: "start-units", units: [node.kubeletUnit], ignoreMissing: [], noBlock: false },
      t.unitSettleMs,
      "kubelet is active",
    ),
  ]);
  if (etcd.staticPod) {
    b.phase("wait-etcd", "Wait for etcd's static pod", [
      step(
        { kind: "wait-etcd-member" },
        t.etcdHealthyMs,
        "kubelet runs etcd's static pod again and the member answers a linearizable read",
      ),
    ]);
  }
  b.phase("verify", "Verify", [
    step({ kind: "wait-node-ready", ready: true }, t.nodeReadyMs, "the Node is Ready in the API"),
    ...(etcd.member
      ? [
          step(
            { kind: "check-etcd-healthy", excluding: [], wait: true },
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
            "the node's agent finds the apiserver's /readyz, the scheduler's and the controller-manager's /healthz ok",
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

/**
 * Whether a procedure that stopped at `stepId` may have changed its node: true once the first changing step has
 * started (a failed verification after the units stopped counts), false if it stopped in preflight, lock or backup.
 */
export function changedNodeBy(plan: Plan, stepId: string): boolean {
  const steps = plan.phases.flatMap((ph) => ph.steps);
  const first = steps.findIndex((s) => changesNodes(s.action));
  const at = steps.findIndex((s) => s.id === stepId);
  if (at < 0) throw new Error(`step ${stepId} is not in the plan of ${plan.procedure} ${plan.target}`);
  return first >= 0 && at >= first;
}
