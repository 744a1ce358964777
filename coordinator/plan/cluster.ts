import { onEach, PlanBuilder, startUnits, step, stopUnits, type StepDraft } from "./builder.js";
import type { NodeTimeouts } from "./node.js";
import { runtimeStartOrder, runtimeStopOrder } from "./runtime.js";
import { isEtcdMember, type InventoryNode, type Plan } from "./types.js";

/** Timeouts of the cluster procedures: the node procedures' and their own. */
export interface ClusterTimeouts extends NodeTimeouts {
  /** From PowerOff's answer to the node's agent gone. */
  powerOffMs: number;
}

/** Options of `kubecycle cluster stop`. */
export interface ClusterStopOptions {
  /** Each node powers off once everything is stopped. */
  poweroff: boolean;
  /** Disable the units' start at boot, so a node that boots starts none of them (the agent still starts). */
  bootHold: boolean;
  /**
   * `--start-on-boot` (with poweroff and bootHold): recorded for `kubecycle serve`, which starts the cluster once every
   * node reported from a new boot. Default false.
   */
  startOnBoot?: boolean;
  /** `--cert-window`: refuse when a certificate the cluster needs expires within this long. */
  certWindowMs: number;
  breakLock: boolean;
  backupKeep: number;
  timeouts: ClusterTimeouts;
  /**
   * The node whose etcd member led when the plan was made: it is stopped after the others (unknown: all at once).
   * Had leadership moved by then, the stop only takes longer.
   */
  etcdLeader?: string | undefined;
}

/** Options of `kubecycle cluster start`. */
export interface ClusterStartOptions {
  breakLock: boolean;
  /** `--wait-agents`: how long to wait for every recorded node's agent to answer. */
  waitAgentsMs: number;
  /** `--settle-timeout`: how long to wait for the pods to run before the settle report. */
  settleMs: number;
  /** Per node, the units the stop disabled with --boot-hold that were enabled before: enabled again. */
  reenable: Readonly<Record<string, readonly string[]>>;
  /** `--approve-kubelet-csrs`: approve the kubelets' CSRs that match the recorded inventory. Default false. */
  approveKubeletCsrs?: boolean;
  timeouts: ClusterTimeouts;
}

/** How an etcd member stops: its systemd unit, or its static pod once the node's kubelet is stopped. */
export function stopEtcdMember(n: InventoryNode, t: NodeTimeouts): StepDraft {
  return n.etcd.mode === "static-pod"
    ? step(
        { kind: "stop-pod-sandboxes", scope: "etcd" },
        t.podSandboxesMs,
        "etcd's static pod is stopped and the member no longer answers",
      )
    : step(stopUnits([n.etcd.unit ?? "etcd.service"]), t.unitSettleMs, "etcd is inactive");
}

/**
 * How an etcd member starts: its unit, not waited for (a Type=notify member started alone waits for a quorum that
 * never comes: members start together); or its node's kubelet, which runs etcd's static pod.
 */
export function startEtcdMember(n: InventoryNode, t: NodeTimeouts): StepDraft {
  return n.etcd.mode === "static-pod"
    ? step(startUnits([n.kubeletUnit]), t.unitSettleMs, "kubelet is active (it runs etcd's static pod)")
    : step(
        startUnits([n.etcd.unit ?? "etcd.service"], true),
        t.unitSettleMs,
        "etcd is activating or active (not waiting for its readiness: that needs the others' quorum)",
      );
}

/**
 * The control plane back once etcd is: kubelet started where it is not already running (`started`: the static-pod
 * members, whose kubelet ran etcd), then every control-plane node's apiserver, scheduler and controller-manager healthy.
 */
export function startControlPlane(
  b: PlanBuilder,
  controlPlane: readonly InventoryNode[],
  started: ReadonlySet<string>,
  t: NodeTimeouts,
): void {
  b.phase("start-control-plane", "Start kubelet on the control plane", [
    ...onEach(
      controlPlane.filter((n) => !started.has(n.name)),
      (n) => step(startUnits([n.kubeletUnit]), t.unitSettleMs, "kubelet is active"),
    ),
  ]);
  b.phase("wait-control-plane", "Wait for the control plane", [
    ...onEach(controlPlane, () =>
      step(
        { kind: "check-control-plane" },
        t.controlPlaneMs,
        "the node's agent finds the apiserver's /readyz, the scheduler's and the controller-manager's /healthz ok",
      ),
    ),
  ]);
}

/** The units --boot-hold disables on a node: kubelet, a systemd etcd, and the runtime's services and sockets. */
export function bootHoldUnits(n: InventoryNode): string[] {
  const etcdUnit = isEtcdMember(n) && n.etcd.mode === "systemd" && n.etcd.unit ? [n.etcd.unit] : [];
  return [n.kubeletUnit, ...etcdUnit, ...runtimeStartOrder(n.runtime)];
}

/**
 * `kubecycle cluster stop`: the runbook's planned-outage stop (section 3.3), SPEC.md "Cluster stop". Preflight on
 * every node (agents, the API, etcd healthy with one leader, certificates outliving the window, addresses as etcd
 * and the API recorded them); the inventory recorded for the start; lock, snapshot, every node cordoned; then, each
 * phase on all its nodes at once and verified on every one before the next: kubelet; the workload's pod sandboxes,
 * then the control plane's; every etcd member together; the runtime. The Lease is parked for `cluster start` before
 * the control plane (and the API with it) goes.
 */
export function planClusterStop(cluster: string, nodes: readonly InventoryNode[], opts: ClusterStopOptions): Plan {
  const t = opts.timeouts;
  const members = nodes.filter(isEtcdMember);
  const controlPlane = nodes.filter((n) => n.controlPlane);
  const b = new PlanBuilder(cluster);
  b.phase("preflight", "Preflight checks", [
    ...onEach(nodes, () =>
      step({ kind: "check-agent" }, t.agentCallMs, "the agent answers over mTLS and lets this certificate operate"),
    ),
    step({ kind: "check-api" }, t.agentCallMs, "the API answers and lists exactly the inventory's nodes", null),
    step(
      { kind: "check-etcd-healthy", excluding: [], wait: false },
      t.etcdHealthyMs,
      "every etcd member is healthy, with one leader",
      null,
    ),
    ...onEach(nodes, () =>
      step(
        { kind: "check-certificates", windowMs: opts.certWindowMs },
        t.agentCallMs,
        "no certificate the cluster needs to come back (etcd, apiserver, kubelet, agent) expires within the window",
      ),
    ),
    ...onEach(nodes, () =>
      step(
        { kind: "check-addresses" },
        t.agentCallMs,
        "the node still has the addresses its etcd peer URLs and its InternalIP name",
      ),
    ),
  ]);
  b.phase("record", "Record the inventory for the start", [
    step(
      {
        kind: "record-inventory",
        bootHold: opts.bootHold,
        poweroff: opts.poweroff,
        ...(opts.startOnBoot ? { startOnBoot: true } : {}),
      },
      t.agentCallMs * 2,
      "nodes, addresses, roles, runtimes, etcd members, administrators' cordons and unit enablement are on disk" +
        (opts.startOnBoot ? "; the start on boot is armed for kubecycle serve" : ""),
      null,
    ),
  ]);
  b.phase("lock", "Take the cluster operation lock", [
    step(
      { kind: "acquire-lock", breakLock: opts.breakLock, api: true },
      t.lockMs,
      "the Lease and the local lock are ours",
      null,
    ),
  ]);
  b.phase("backup", "Back up etcd", [
    step(
      { kind: "etcd-snapshot", keep: opts.backupKeep },
      t.backupMs,
      "a snapshot streamed from a member's agent is written, fsynced, its sha256 matches, and it is renamed into place",
      null,
    ),
  ]);
  b.phase("cordon", "Cordon every node", [
    ...onEach(nodes, () =>
      step({ kind: "cordon" }, t.cordonMs, "spec.unschedulable is true; an administrator's earlier cordon is recorded"),
    ),
  ]);
  if (opts.bootHold) {
    b.phase("boot-hold", "Disable start at boot", [
      ...onEach(nodes, (n) =>
        step(
          { kind: "set-auto-start", units: bootHoldUnits(n), enabled: false },
          t.unitSettleMs,
          "kubelet, etcd and the runtime will not start when the node boots",
        ),
      ),
    ]);
  }
  b.phase("stop-kubelet", "Stop kubelet on every node", [
    ...onEach(nodes, (n) => step(stopUnits([n.kubeletUnit]), t.unitSettleMs, "kubelet is inactive")),
  ]);
  b.phase("stop-workload", "Stop the workload's pod sandboxes", [
    ...onEach(nodes, () =>
      step(
        { kind: "stop-pod-sandboxes", scope: "workload" },
        t.podSandboxesMs,
        "every workload pod stopped within its grace period; no workload sandbox is ready",
      ),
    ),
  ]);
  b.phase("park-lease", "Park the Lease before the API goes", [
    step(
      { kind: "park-lease" },
      t.lockMs,
      "the Lease says this stop holds the cluster for its start; the local lock goes on",
      null,
    ),
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
  // A leader that stops while its peers do tries to hand its leadership to one of them first and waits etcd's request
  // timeout for it (5 s + 2 election timeouts: 7 s by default) when that peer is stopping too. Stopped last, alone, it
  // finds no peer to hand it to and stops at once. Nothing writes any more (the API servers are stopped).
  const leader = members.length > 1 ? members.find((n) => n.name === opts.etcdLeader) : undefined;
  if (leader) {
    b.phase("stop-etcd", "Stop the etcd followers together", [
      ...onEach(
        members.filter((n) => n !== leader),
        (n) => stopEtcdMember(n, t),
      ),
    ]);
    b.phase("stop-etcd-leader", "Stop the etcd leader last", [...onEach([leader], (n) => stopEtcdMember(n, t))]);
  } else {
    b.phase("stop-etcd", "Stop every etcd member together", [...onEach(members, (n) => stopEtcdMember(n, t))]);
  }
  b.phase("stop-runtime", "Stop the container runtime on every node", [
    ...onEach(nodes, (n) => {
      const units = runtimeStopOrder(n.runtime);
      return step(stopUnits(units), t.unitSettleMs, `${units.join(", ")} inactive`);
    }),
  ]);
  if (opts.poweroff) {
    b.phase("power-off", "Power the nodes off", [
      ...onEach(nodes, () =>
        step({ kind: "power-off", delayMs: 1000 }, t.powerOffMs, "the agent answered and then went away with its node"),
      ),
    ]);
  }
  return b.build("cluster stop");
}

/**
 * `kubecycle cluster start`: the runbook's section 3.4, SPEC.md "Cluster start", from the recorded inventory, with
 * the API down. Every recorded node's agent answers as the node it was; the runtime everywhere; every etcd member at
 * once (a Type=notify member started alone waits for a quorum that never comes); each member healthy, then the
 * cluster; kubelet on the control plane and its health; the Lease taken back; kubelet on the workers; every node
 * Ready; what --boot-hold disabled enabled again; kubecycle's cordons lifted; the settle report.
 */
export function planClusterStart(cluster: string, nodes: readonly InventoryNode[], opts: ClusterStartOptions): Plan {
  const t = opts.timeouts;
  const members = nodes.filter(isEtcdMember);
  const staticPodMembers = members.filter((n) => n.etcd.mode === "static-pod");
  const kubeletFirst = new Set(staticPodMembers.map((n) => n.name));
  const controlPlane = nodes.filter((n) => n.controlPlane);
  const b = new PlanBuilder(cluster);
  b.phase("agents", "Wait for every node's agent", [
    ...onEach(nodes, () =>
      step(
        { kind: "wait-agent" },
        opts.waitAgentsMs,
        "the agent answers as the recorded node: its name, addresses and etcd member are the recorded ones",
      ),
    ),
  ]);
  b.phase("lock", "Take the cluster operation lock", [
    step(
      { kind: "acquire-lock", breakLock: opts.breakLock, api: false },
      t.lockMs,
      "the local lock is ours (taken over from the cluster stop that parked it); the Lease follows once the API is back",
      null,
    ),
  ]);
  b.phase("start-runtime", "Start the container runtime on every node", [
    ...onEach(nodes, (n) => {
      const units = runtimeStartOrder(n.runtime);
      return step(startUnits(units), t.unitSettleMs, `${units.join(", ")} active`);
    }),
  ]);
  b.phase("start-etcd", "Start every etcd member at once", [...onEach(members, (n) => startEtcdMember(n, t))]);
  b.phase("wait-etcd", "Wait for each etcd member", [
    ...onEach(members, () =>
      step({ kind: "wait-etcd-member" }, t.etcdHealthyMs, "the node's member answers a linearizable read"),
    ),
  ]);
  b.phase("etcd-healthy", "Wait for etcd's health", [
    step(
      { kind: "check-etcd-healthy", excluding: [], wait: true },
      t.etcdHealthyMs,
      "every member healthy, exactly one leader, the recorded member list, every member caught up with the leader",
      null,
    ),
  ]);
  startControlPlane(b, controlPlane, kubeletFirst, t);
  b.phase("attach-lease", "Take the Lease back", [
    step({ kind: "attach-lease" }, t.lockMs, "the Lease is ours again (taken over from the parked cluster stop)", null),
  ]);
  b.phase("start-workers", "Start kubelet on the workers", [
    ...onEach(
      nodes.filter((n) => !n.controlPlane && !kubeletFirst.has(n.name)),
      (n) => step(startUnits([n.kubeletUnit]), t.unitSettleMs, "kubelet is active"),
    ),
  ]);
  // After a long outage kubelets ask for new certificates as they start: listed always, approved when asked, before
  // the wait for Ready (a kubelet whose client certificate waits for approval never gets Ready).
  b.phase("kubelet-csrs", "Kubelet certificate requests", [
    opts.approveKubeletCsrs
      ? step(
          { kind: "kubelet-csrs", approve: true },
          t.nodeReadyMs,
          "the pending kubelet CSRs that match a recorded node (requester, usages, names and addresses) are approved, the others listed with why not, until every node is Ready",
          null,
        )
      : step(
          { kind: "kubelet-csrs", approve: false },
          t.agentCallMs,
          "the pending kubelet CSRs are listed with what --approve-kubelet-csrs would do",
          null,
        ),
  ]);
  b.phase("wait-ready", "Wait for every node to be Ready", [
    ...onEach(nodes, () =>
      step({ kind: "wait-node-ready", ready: true }, t.nodeReadyMs, "the Node is Ready in the API"),
    ),
  ]);
  b.phase("re-enable", "Enable start at boot again", [
    ...onEach(
      nodes.filter((n) => (opts.reenable[n.name] ?? []).length > 0),
      (n) =>
        step(
          { kind: "set-auto-start", units: [...(opts.reenable[n.name] ?? [])], enabled: true },
          t.unitSettleMs,
          "what --boot-hold disabled (and only what was enabled before) starts at boot again",
        ),
    ),
  ]);
  b.phase("uncordon", "Allow scheduling again", [
    ...onEach(nodes, () =>
      step(
        { kind: "uncordon" },
        t.cordonMs,
        "uncordoned only if kubecycle cordoned it; an administrator's cordon stays",
      ),
    ),
  ]);
  b.phase("settle", "Settle report", [
    step(
      { kind: "settle-report", settleMs: opts.settleMs },
      opts.settleMs + t.agentCallMs,
      "the pods run; those that do not, or restart in a loop, are listed with their restarts and last reasons",
      null,
    ),
  ]);
  b.phase("unlock", "Release the cluster operation lock", [
    step({ kind: "release-lock" }, t.lockMs, "the Lease and the local lock are released", null),
  ]);
  return b.build("cluster start");
}
