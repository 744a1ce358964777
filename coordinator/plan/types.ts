// A procedure is first built as a plan: plain, versioned data (phases of steps, each with node, action, timeout and
// check). Builders are pure functions of the inventory and the options; `--dry-run` prints the plan, and a generic
// executor runs it. Nothing here does I/O.

/** Bumped whenever a plan's shape changes incompatibly; the executor refuses to resume a plan of another version. */
export const PLAN_VERSION = 1;

/** How etcd is configured on a node, as its agent found it: a systemd unit (KubeKey), a static pod (kubeadm), none. */
export type EtcdMode = "systemd" | "static-pod" | "none";

/**
 * A node's place in etcd. The role is etcd's own member list's to say (its peer URLs matched against the node's
 * addresses), never a file's; "unknown" when nobody could tell (the node's agent did not answer and no member list
 * was had), which refuses whatever depends on it.
 */
export interface NodeEtcd {
  role: "voter" | "learner" | "none" | "unknown";
  mode: EtcdMode | "unknown";
  /** The etcd unit, in systemd mode. */
  unit?: string;
  /** The member's id (decimal) and name, when it is one. */
  memberId?: string;
  memberName?: string;
}

/** One part of the container runtime: a service and the socket unit that activates it, if any. */
export interface RuntimeUnit {
  service: string;
  socket?: string;
}

/** The container runtime of a node, as its agent found it. */
export interface NodeRuntime {
  /** "containerd", "docker" (with cri-dockerd), or "unknown" when the agent did not answer. */
  kind: string;
  /** In start order (containerd, docker, cri-dockerd). */
  units: RuntimeUnit[];
}

/** What kubecycle knows about a node, from the API and its agent (or the cached inventory). */
export interface InventoryNode {
  name: string;
  /** Address the agent is dialled on. */
  address: string;
  /** Every address the node is known by (its InternalIP and the agent's own), to match etcd's peer URLs. */
  addresses: string[];
  controlPlane: boolean;
  /** Whether its agent answered when the inventory was taken; if not, its layout is an earlier inventory's. */
  agent: "ok" | "unreachable";
  /** The kubelet's unit, e.g. "kubelet.service". */
  kubeletUnit: string;
  etcd: NodeEtcd;
  runtime: NodeRuntime;
}

/** A voting or learning member of etcd. */
export function isEtcdMember(node: InventoryNode): boolean {
  return node.etcd.role === "voter" || node.etcd.role === "learner";
}

/** One etcd member as the member list gives it, with the node it runs on (none: external etcd). */
export interface EtcdMemberRecord {
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  learner: boolean;
  node?: string;
}

/** One action the executor knows how to run; each kind has one runner file in coordinator/run/steps/. */
export type StepAction =
  | { kind: "check-agent" }
  | { kind: "check-api" }
  | { kind: "check-certificates"; windowMs: number }
  | { kind: "check-addresses" }
  | {
      kind: "record-inventory";
      bootHold: boolean;
      poweroff: boolean;
      /** `--start-on-boot`: serve starts the cluster once every node reported from a new boot (absent: false). */
      startOnBoot?: boolean;
    }
  | { kind: "park-lease" }
  | { kind: "attach-lease" }
  | { kind: "set-auto-start"; units: string[]; enabled: boolean }
  | { kind: "power-off"; delayMs: number }
  | { kind: "wait-agent" }
  | { kind: "settle-report"; settleMs: number }
  | { kind: "kubelet-csrs"; approve: boolean }
  | { kind: "check-node-exists" }
  | { kind: "check-etcd-quorum"; leaving: string }
  | { kind: "check-capacity"; leaving: string; force: boolean }
  | { kind: "acquire-lock"; breakLock: boolean; api: boolean }
  | { kind: "etcd-snapshot"; keep: number }
  | { kind: "cordon" }
  | { kind: "check-drainable"; force: boolean; deleteEmptyDirData: boolean }
  | {
      kind: "drain";
      drainTimeoutMs: number;
      replacementTimeoutMs: number;
      force: boolean;
      deleteEmptyDirData: boolean;
    }
  | { kind: "stop-units"; units: string[]; ignoreMissing: string[] }
  | { kind: "start-units"; units: string[]; ignoreMissing: string[]; noBlock: boolean }
  | { kind: "stop-pod-sandboxes"; scope: PodScope }
  | { kind: "wait-etcd-member" }
  | { kind: "check-api-servers"; leaving: string; force: boolean }
  | { kind: "wait-node-ready"; ready: boolean }
  | { kind: "check-etcd-healthy"; excluding: string[]; wait: boolean }
  | { kind: "check-control-plane" }
  | { kind: "uncordon" }
  | { kind: "release-lock" }
  /** The snapshot file on this host still has the sha256 the plan was made with. */
  | { kind: "check-snapshot"; path: string; sha256: string }
  /** etcd is broken (some member unhealthy, no single leader): a restore is refused otherwise, unless forced. */
  | { kind: "check-etcd-restorable"; force: boolean }
  /** The snapshot sent to the node's agent, checked there against its sha256 and read by etcd's own tool. */
  | { kind: "stage-snapshot"; path: string; sha256: string }
  /** The node's member restored from the staged snapshot with the recorded member list and a new cluster token. */
  | { kind: "etcd-restore"; sha256: string; clusterToken: string }
  /** Through the step's node's healthy member: `member` (a node's name) removed and added again, empty. */
  | { kind: "etcd-replace-member"; member: string }
  /** The node's member prepared to rejoin (its data aside; the initial cluster `replacedBy`'s step got) or done. */
  | { kind: "etcd-rejoin"; phase: "prepare" | "finish"; replacedBy: string }
  /**
   * Every member on its node healthy, one leader, the recorded members by name and peer URLs (a restore or a rejoin
   * gives them new ids); with `revisionFrom` (a stage-snapshot step), the revision the snapshot had, or at least it.
   */
  | { kind: "check-etcd-members"; revisionFrom?: string; exactRevision: boolean };

export type StepKind = StepAction["kind"];

/** Step kinds that change a node (the rest only check, record, back up or lock). */
const CHANGING_KINDS: ReadonlySet<StepKind> = new Set([
  "cordon",
  "drain",
  "stop-units",
  "start-units",
  "stop-pod-sandboxes",
  "set-auto-start",
  "power-off",
  "uncordon",
  "etcd-restore",
  "etcd-replace-member",
  "etcd-rejoin",
]);

/** Whether a step changes a node: the executor fences these with the lock, and a stop that ran one parks it. */
export function changesNodes(action: StepAction): boolean {
  return CHANGING_KINDS.has(action.kind);
}

/**
 * Which pod sandboxes a step stops: all; the workload (all but the control plane's static pods); the control plane's
 * static pods but etcd; etcd's static pod; all but etcd's (a node stop ends a static-pod etcd member last).
 */
export type PodScope = "all" | "workload" | "control-plane" | "etcd" | "all-but-etcd";

/** One step: what to do, where, how long it may take, and how its success is checked. */
export interface Step {
  /** Unique within the plan; also the suffix of the agent operation ids the step uses (idempotent resume). */
  id: string;
  /** The node the step acts on or about; absent for cluster-wide steps. */
  node?: string;
  action: StepAction;
  timeoutMs: number;
  /** How success is verified, in words, for the dry run and the journal. */
  check: string;
}

/** Steps that may run concurrently; the next phase starts only when every step here has succeeded. */
export interface Phase {
  name: string;
  title: string;
  steps: Step[];
}

/** A whole procedure. */
export interface Plan {
  version: typeof PLAN_VERSION;
  /** "node stop", "node start", ... */
  procedure: string;
  /** The node or cluster the procedure is about. */
  target: string;
  phases: Phase[];
}
