import { onEach, PlanBuilder, step, stopUnits } from "./builder.js";
import { startControlPlane, startEtcdMember, stopEtcdMember } from "./cluster.js";
import type { NodeTimeouts } from "./node.js";
import { isEtcdMember, type EtcdMemberRecord, type InventoryNode, type Plan } from "./types.js";

/** A snapshot file on this host, as the command found it. */
export interface SnapshotRef {
  path: string;
  sha256: string;
}

/** Options of `kubecycle etcd restore`. */
export interface EtcdRestoreOptions {
  snapshot: SnapshotRef;
  /** The new --initial-cluster-token: the restored cluster can never be taken for the old one. */
  clusterToken: string;
  /** Restore also while etcd is healthy. */
  force: boolean;
  breakLock: boolean;
  timeouts: NodeTimeouts;
}

/** Options of `kubecycle etcd rejoin`. */
export interface EtcdRejoinOptions {
  breakLock: boolean;
  timeouts: NodeTimeouts;
}

/** Why a member list cannot be restored or rejoined by kubecycle, or nothing. */
export function etcdRepairRefusal(nodes: readonly InventoryNode[], members: readonly EtcdMemberRecord[]): string[] {
  const why: string[] = [];
  if (members.length === 0) why.push("the recorded inventory has no etcd member list");
  for (const m of members) {
    if (!m.node) why.push(`member ${m.name || m.id} (${m.peerUrls.join(", ")}) runs on no node of the cluster`);
    if (m.learner) why.push(`member ${m.name || m.id} is a learner: promote or remove it first`);
  }
  const unknown = nodes.filter((n) => n.etcd.role === "unknown").map((n) => n.name);
  if (unknown.length > 0) {
    why.push(`whether ${unknown.join(", ")} ${unknown.length > 1 ? "run" : "runs"} etcd is unknown`);
  }
  return why;
}

/**
 * `kubecycle etcd restore SNAPSHOT`: the runbook's "restore etcd data from a backup" (section 3.6), every member from
 * the same snapshot. Nothing is stopped before the snapshot has passed every check: its sha256 here, then on every
 * member node (sent to the agent, checked against the sha256 and read by etcd's own tool). Then, as Kubernetes
 * documents it, no API server may run while etcd is restored: kubelet on the control plane (and on static-pod
 * members) is stopped, the control plane's pods, every member; each member is restored into a fresh data directory
 * (the old one kept aside) with the recorded member list and a new cluster token; the members start together; they
 * must agree on one leader and the recorded members, at the snapshot's revision; then the control plane.
 */
export function planEtcdRestore(
  cluster: string,
  nodes: readonly InventoryNode[],
  members: readonly EtcdMemberRecord[],
  opts: EtcdRestoreOptions,
): Plan {
  const t = opts.timeouts;
  const memberNodes = nodes.filter(isEtcdMember);
  const staticPod = new Set(memberNodes.filter((n) => n.etcd.mode === "static-pod").map((n) => n.name));
  const controlPlane = nodes.filter((n) => n.controlPlane);
  // Every node whose kubelet runs an API server or an etcd member.
  const kubeletStopped = nodes.filter((n) => n.controlPlane || staticPod.has(n.name));
  const { path, sha256 } = opts.snapshot;
  const b = new PlanBuilder(cluster);
  b.phase("preflight", "Preflight checks", [
    ...onEach(kubeletStopped.concat(memberNodes.filter((n) => !kubeletStopped.includes(n))), () =>
      step({ kind: "check-agent" }, t.agentCallMs, "the agent answers over mTLS and lets this certificate operate"),
    ),
    step(
      { kind: "check-snapshot", path, sha256 },
      t.backupMs,
      `${path} is there and its sha256 is still ${sha256.slice(0, 12)}…`,
      null,
    ),
    step(
      { kind: "check-etcd-restorable", force: opts.force },
      t.etcdHealthyMs,
      opts.force
        ? "etcd's members are asked how they are (--force: a restore goes ahead also when etcd is healthy)"
        : "etcd is broken: some member unhealthy or no single leader (a healthy etcd is not restored without --force)",
      null,
    ),
  ]);
  b.phase("lock", "Take the cluster operation lock", [
    step(
      { kind: "acquire-lock", breakLock: opts.breakLock, api: false },
      t.lockMs,
      "the local lock is ours (the API may be down with etcd)",
      null,
    ),
  ]);
  b.phase("stage", "Send the snapshot to every member", [
    ...onEach(memberNodes, () =>
      step(
        { kind: "stage-snapshot", path, sha256 },
        t.backupMs,
        "the agent has the snapshot, its sha256 checked and read by etcd's own tool (snapshot status)",
      ),
    ),
  ]);
  b.phase("stop-kubelet", "Stop kubelet where it runs an API server or etcd", [
    ...onEach(kubeletStopped, (n) => step(stopUnits([n.kubeletUnit]), t.unitSettleMs, "kubelet is inactive")),
  ]);
  b.phase("stop-control-plane", "Stop the control plane's pods", [
    ...onEach(controlPlane, () =>
      step(
        { kind: "stop-pod-sandboxes", scope: "control-plane" },
        t.podSandboxesMs,
        "the apiserver's, controller-manager's and scheduler's sandboxes are stopped",
      ),
    ),
  ]);
  b.phase("stop-etcd", "Stop every etcd member", [...onEach(memberNodes, (n) => stopEtcdMember(n, t))]);
  b.phase("restore", "Restore every member from the snapshot", [
    ...onEach(memberNodes, () =>
      step(
        { kind: "etcd-restore", sha256, clusterToken: opts.clusterToken },
        t.backupMs,
        "the member's data is the snapshot's, with the recorded member list and a new cluster token; the old data kept aside",
      ),
    ),
  ]);
  b.phase("start-etcd", "Start every etcd member at once", [...onEach(memberNodes, (n) => startEtcdMember(n, t))]);
  const first = memberNodes[0];
  b.phase("etcd-restored", "Check the restored etcd", [
    step(
      {
        kind: "check-etcd-members",
        ...(first ? { revisionFrom: `stage/stage-snapshot/${first.name}` } : {}),
        // With no API server running yet (no static-pod member), nothing has written since the restore.
        exactRevision: staticPod.size === 0,
      },
      t.etcdHealthyMs,
      `every member healthy, one leader, the recorded members by name and peer URLs, at the snapshot's revision${staticPod.size === 0 ? "" : " or after"}`,
      null,
    ),
  ]);
  startControlPlane(b, controlPlane, staticPod, t);
  b.phase("release", "Release the lock", [step({ kind: "release-lock" }, t.lockMs, "the lock is released", null)]);
  return b.build("etcd restore");
}

/**
 * `kubecycle etcd rejoin NODE`: the member on NODE lost its data (or holds bad data) while the others keep quorum.
 * The others must be healthy; NODE's member is stopped; through a healthy member it is removed and added again
 * (same name and peer URLs); NODE's old data is moved aside and etcd told to join the existing cluster; it starts,
 * catches up, and the join flags are taken back; every member healthy with the recorded members.
 */
export function planEtcdRejoin(
  cluster: string,
  nodes: readonly InventoryNode[],
  node: InventoryNode,
  opts: EtcdRejoinOptions,
): Plan {
  const t = opts.timeouts;
  const others = nodes.filter((n) => isEtcdMember(n) && n.name !== node.name);
  const through = others[0];
  const b = new PlanBuilder(cluster, { defaultNode: node.name });
  b.phase("preflight", "Preflight checks", [
    ...onEach([node, ...others], () =>
      step({ kind: "check-agent" }, t.agentCallMs, "the agent answers over mTLS and lets this certificate operate"),
    ),
    step(
      { kind: "check-etcd-healthy", excluding: [node.name], wait: false },
      t.etcdHealthyMs,
      `every other member is healthy, with one leader: they keep quorum while ${node.name}'s member is replaced`,
      null,
    ),
  ]);
  b.phase("lock", "Take the cluster operation lock", [
    step(
      { kind: "acquire-lock", breakLock: opts.breakLock, api: true },
      t.lockMs,
      "the Lease and local lock are ours",
      null,
    ),
  ]);
  b.phase("stop", `Stop ${node.name}'s etcd member`, [
    ...(node.etcd.mode === "static-pod"
      ? [step(stopUnits([node.kubeletUnit]), t.unitSettleMs, "kubelet is inactive")]
      : []),
    stopEtcdMember(node, t),
  ]);
  const replaceId = `replace/etcd-replace-member/${through?.name ?? ""}`;
  b.phase("replace", "Replace the member", [
    step(
      { kind: "etcd-replace-member", member: node.name },
      t.etcdHealthyMs,
      `through ${through?.name ?? "a healthy member"}: the member removed and added again with its name and peer URLs`,
      through?.name ?? null,
    ),
  ]);
  b.phase("prepare", "Prepare the member to rejoin", [
    step(
      { kind: "etcd-rejoin", phase: "prepare", replacedBy: replaceId },
      t.unitSettleMs,
      "its old data kept aside; etcd told to join the existing cluster",
    ),
  ]);
  b.phase("start", "Start the member", [startEtcdMember(node, t)]);
  b.phase("wait", "Wait for the member", [
    step({ kind: "wait-etcd-member" }, t.etcdHealthyMs, "the node's member answers a linearizable read"),
  ]);
  b.phase("finish", "Finish the rejoin", [
    step(
      { kind: "etcd-rejoin", phase: "finish", replacedBy: replaceId },
      t.unitSettleMs,
      "the join flags are taken back: its data now says it all",
    ),
  ]);
  b.phase("healthy", "Check etcd", [
    step(
      { kind: "check-etcd-members", exactRevision: false },
      t.etcdHealthyMs,
      "every member healthy, one leader, the recorded members by name and peer URLs",
      null,
    ),
  ]);
  b.phase("release", "Release the lock", [step({ kind: "release-lock" }, t.lockMs, "the lock is released", null)]);
  return b.build("etcd rejoin");
}
