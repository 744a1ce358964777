// A procedure is first built as a plan: plain, versioned data (phases of steps, each with node, action, timeout and
// check). Builders are pure functions of the inventory and the options; `--dry-run` prints the plan, and a generic
// executor runs it. Nothing here does I/O.

/** Bumped whenever a plan's shape changes incompatibly; the executor refuses to resume a plan of another version. */
export const PLAN_VERSION = 1;

/** What kubecycle knows about a node, from the API and the agents (or the cached inventory). */
export interface InventoryNode {
  name: string;
  /** Address the agent is dialled on. */
  address: string;
  controlPlane: boolean;
  etcdMember: boolean;
  /** Container runtime unit ("containerd" or "docker"). */
  runtime: "containerd" | "docker";
}

/** Unit names by role, from the coordinator config. */
export interface UnitNames {
  kubelet: string;
  etcd: string;
  /** Runtime units stopped last and started first, in start order (e.g. ["docker", "cri-dockerd"]). */
  runtime: { containerd: string[]; docker: string[] };
}

/** One action the executor knows how to run; each kind has one runner file in coordinator/run/steps/. */
export type StepAction =
  | { kind: "check-agent" }
  | { kind: "check-node-exists" }
  | { kind: "check-etcd-quorum"; leaving: string }
  | { kind: "check-capacity"; leaving: string; force: boolean }
  | { kind: "acquire-lock"; breakLock: boolean }
  | { kind: "etcd-snapshot"; keep: number }
  | { kind: "cordon" }
  | { kind: "drain"; drainTimeoutMs: number; replacementTimeoutMs: number }
  | { kind: "stop-units"; units: string[]; ignoreMissing: string[] }
  | { kind: "start-units"; units: string[]; ignoreMissing: string[]; noBlock: boolean }
  | { kind: "stop-pod-sandboxes" }
  | { kind: "wait-node-ready"; ready: boolean }
  | { kind: "check-etcd-healthy"; excluding: string[] }
  | { kind: "check-control-plane" }
  | { kind: "uncordon" }
  | { kind: "release-lock" };

export type StepKind = StepAction["kind"];

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
