// What a simulated cluster is made of and how fast it moves. A test fixture for the fast test tier and the scale
// benchmark (never shipped): every delay is what the real thing takes in the lab, scaled down, and configurable.

/** A range of milliseconds; each transition takes a uniformly random time in it. */
export type Delay = readonly [min: number, max: number];

/** How long the simulated world takes to do things. */
export interface SimTiming {
  /** A simple unit (kubelet, containerd, docker, a socket) from start to active. */
  unitStart: Delay;
  /** Any unit from stop to inactive. */
  unitStop: Delay;
  /** etcd's process from start to running (it then waits for quorum: Type=notify). */
  etcdExec: Delay;
  /** From quorum (a majority of the members' processes running) to a leader, and the members ready. */
  etcdElection: Delay;
  /** A member that starts while there is a leader: until it has caught up and is ready. */
  etcdJoin: Delay;
  /** systemd's TimeoutStartSec for etcd: a member still waiting for quorum then fails (Result=timeout). */
  etcdStartTimeoutMs: number;
  /** One etcdctl call that gets an answer (health, status, member list). */
  etcdctl: Delay;
  /** One pod's containers and sandbox stopped, its grace period honoured (the agent stops them one by one). */
  podStop: Delay;
  /** From kubelet and the runtime both running to the node's pods' sandboxes ready again. */
  podStart: Delay;
  /** From the control plane's sandboxes ready to their health endpoints answering ok. */
  componentStart: Delay;
  /** From kubelet running to its Node Ready in the API (its first status update). */
  nodeReady: Delay;
  /** From kubelet stopped (or its node gone) to its Node no longer Ready (the node-lifecycle controller's grace). */
  notReadyGraceMs: number;
  /** Each Kubernetes API request. */
  apiRequest: Delay;
  /** Reads the agent answers from its own cache or files (Health, GetStatus, layout, certificates, probes). */
  agentRead: Delay;
  /** Taking an etcd snapshot before it streams. */
  snapshot: Delay;
}

/** Realistic for the lab's stand-ins (issue 11's scale benchmark: 50-300 ms per unit transition). */
export const BENCH_TIMING: SimTiming = {
  unitStart: [50, 300],
  unitStop: [50, 300],
  etcdExec: [50, 150],
  etcdElection: [300, 600],
  etcdJoin: [100, 300],
  etcdStartTimeoutMs: 90_000,
  etcdctl: [10, 30],
  podStop: [50, 300],
  podStart: [300, 800],
  componentStart: [200, 500],
  nodeReady: [200, 500],
  notReadyGraceMs: 5_000,
  apiRequest: [1, 3],
  agentRead: [1, 5],
  snapshot: [100, 200],
};

/** Short enough for tests that run in seconds, long enough that order and overlap are real. */
export const TEST_TIMING: SimTiming = {
  unitStart: [20, 60],
  unitStop: [20, 60],
  etcdExec: [10, 30],
  etcdElection: [60, 120],
  etcdJoin: [30, 60],
  etcdStartTimeoutMs: 2_500,
  etcdctl: [2, 8],
  podStop: [10, 30],
  podStart: [50, 100],
  componentStart: [30, 60],
  nodeReady: [30, 60],
  notReadyGraceMs: 300,
  apiRequest: [0, 1],
  agentRead: [0, 2],
  snapshot: [10, 30],
};

/** One simulated node. */
export interface SimNodeSpec {
  name: string;
  /** Its loopback address: where its agent listens, its InternalIP, its etcd URLs' host. */
  address: string;
  controlPlane: boolean;
  /** How it runs etcd: a systemd unit (KubeKey), a static pod (kubeadm), or none. */
  etcd: "systemd" | "static-pod" | "none";
  runtime: "containerd" | "docker";
  /** Workload pods (a ReplicaSet's) on the node, besides kube-proxy (a DaemonSet's). */
  workloadPods: number;
}

/** A simulated cluster. */
export interface SimClusterSpec {
  /** etcd's cluster name, and the name the lock and the record carry. */
  name: string;
  nodes: SimNodeSpec[];
  timing: SimTiming;
  /** Seeds the delays, so a run can be repeated. */
  seed: number;
}

/** The address of the i-th node (0-based) in 127.<net>.x.y: up to 62,500 nodes, never 127.0.0.1. */
export function simAddress(net: number, i: number): string {
  return `127.${net}.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`;
}

/**
 * A cluster of `masters` control-plane nodes (each an etcd member unless `etcd` says otherwise) and `workers`
 * workers, every `dockerEvery`-th worker on docker with cri-dockerd (0: none), the rest on containerd.
 */
export function simClusterSpec(opts: {
  masters: number;
  workers: number;
  net?: number;
  etcd?: "systemd" | "static-pod";
  dockerEvery?: number;
  workloadPods?: number;
  timing?: SimTiming;
  seed?: number;
  name?: string;
}): SimClusterSpec {
  const net = opts.net ?? 77;
  const width = String(Math.max(opts.workers, 1)).length;
  const nodes: SimNodeSpec[] = [];
  for (let m = 1; m <= opts.masters; m++) {
    nodes.push({
      name: `sim-master-${m}`,
      address: simAddress(net, nodes.length),
      controlPlane: true,
      etcd: opts.etcd ?? "systemd",
      runtime: "containerd",
      workloadPods: 0,
    });
  }
  for (let w = 1; w <= opts.workers; w++) {
    const docker = (opts.dockerEvery ?? 0) > 0 && w % (opts.dockerEvery ?? 1) === 0;
    nodes.push({
      name: `sim-worker-${String(w).padStart(width, "0")}`,
      address: simAddress(net, nodes.length),
      controlPlane: false,
      etcd: "none",
      runtime: docker ? "docker" : "containerd",
      workloadPods: opts.workloadPods ?? 2,
    });
  }
  return {
    name: opts.name ?? "sim",
    nodes,
    timing: opts.timing ?? TEST_TIMING,
    seed: opts.seed ?? 1,
  };
}
