// Inventory nodes of the layouts kubecycle meets, for the plan and decision tests (never shipped: see tsconfig.build).
import type { InventoryNode, NodeTimeouts } from "./index.js";

export const TIMEOUTS: NodeTimeouts = {
  agentCallMs: 10_000,
  lockMs: 10_000,
  backupMs: 120_000,
  cordonMs: 10_000,
  drainMs: 300_000,
  replacementMs: 120_000,
  unitSettleMs: 90_000,
  podSandboxesMs: 60_000,
  nodeNotReadyMs: 120_000,
  nodeReadyMs: 300_000,
  etcdHealthyMs: 60_000,
  controlPlaneMs: 120_000,
};

const containerd = { kind: "containerd", units: [{ service: "containerd.service" }] };
/** docker with cri-dockerd, each activated by its socket, on docker's own containerd. */
const docker = {
  kind: "docker",
  units: [
    { service: "containerd.service" },
    { service: "docker.service", socket: "docker.socket" },
    { service: "cri-docker.service", socket: "cri-docker.socket" },
  ],
};

/** A KubeKey master: etcd.service with /etc/etcd.env, containerd. */
export function kubekeyMaster(name: string, i = 1): InventoryNode {
  return {
    name,
    address: `10.0.0.1${i}`,
    addresses: [`10.0.0.1${i}`],
    controlPlane: true,
    agent: "ok",
    kubeletUnit: "kubelet.service",
    etcd: { role: "voter", mode: "systemd", unit: "etcd.service", memberId: `100${i}`, memberName: `etcd-${name}` },
    runtime: containerd,
  };
}

/** A kubeadm master: etcd as a static pod run by the kubelet. */
export function kubeadmMaster(name: string, i = 1): InventoryNode {
  const m = kubekeyMaster(name, i);
  return { ...m, etcd: { role: "voter", mode: "static-pod", memberId: `100${i}`, memberName: name } };
}

export function worker(name: string, i = 1): InventoryNode {
  return {
    name,
    address: `10.0.0.2${i}`,
    addresses: [`10.0.0.2${i}`],
    controlPlane: false,
    agent: "ok",
    kubeletUnit: "kubelet.service",
    etcd: { role: "none", mode: "none" },
    runtime: containerd,
  };
}

export function dockerWorker(name: string, i = 1): InventoryNode {
  return { ...worker(name, i), runtime: docker };
}

/** A control-plane node that runs no etcd (external etcd, or more control planes than members). */
export function controlPlaneOnly(name: string, i = 4): InventoryNode {
  return { ...kubekeyMaster(name, i), etcd: { role: "none", mode: "none" } };
}
