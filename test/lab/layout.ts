// The lab's fixed shape: names, addresses and where its state lives. One lab per machine; everything it creates on
// the host carries the prefix, so teardown can find it from the machine alone.
import { join, resolve } from "node:path";
import { REPO_ROOT } from "./agent.js";

/** Every host object of the lab (network namespaces, links, cgroups) is named with this prefix. */
export const LAB_PREFIX = "kclab";
/** The lab's cluster name (kubecycle config, kubeconfig context). */
export const CLUSTER_NAME = "kclab";
/** The lab bridge on the host; it holds {@link BRIDGE_ADDRESS}. */
export const BRIDGE = `${LAB_PREFIX}-br0`;
/** From 198.18.0.0/15 (RFC 2544, benchmarking): never routed anywhere, so the lab cannot reach a real network. */
export const LAB_NET = "198.18.7";
export const LAB_CIDR = `${LAB_NET}.0/24`;
export const BRIDGE_ADDRESS = `${LAB_NET}.1`;
/** Port of every node's kubecycle agent (on the node's lab address). */
export const AGENT_PORT = 9443;
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
/** The lab's operator and viewer client certificates, in `<state>/pki/clients/`. */
export const OPERATOR_CLIENT = "lab-operator";
export const VIEWER_CLIENT = "lab-viewer";
/** Up to 9 of each: a node name must never be a prefix of another (cgroup cleanup matches by prefix). */
export const MAX_MASTERS = 9;
export const MAX_WORKERS = 9;

export type NodeRole = "master" | "worker";

/** One node of the lab. */
export interface NodePlan {
  /** Host name, Kubernetes node name, cgroup and network namespace name. */
  name: string;
  role: NodeRole;
  /** Address on the lab bridge (its eth0). */
  ip: string;
  /** Network namespace in /var/run/netns. */
  netns: string;
  /** Host side of the node's veth pair, enslaved to {@link BRIDGE}. */
  hostVeth: string;
  /** The node's etcd member name (KubeKey's `etcd-<host>`), for masters. */
  etcdMember?: string;
}

/** The nodes of a lab with this many masters and workers: masters .11-.19, workers .21-.29. */
export function planNodes(masters: number, workers: number): NodePlan[] {
  if (!Number.isInteger(masters) || masters < 1 || masters > MAX_MASTERS) {
    throw new Error(`masters must be 1..${MAX_MASTERS}, not ${masters}`);
  }
  if (!Number.isInteger(workers) || workers < 0 || workers > MAX_WORKERS) {
    throw new Error(`workers must be 0..${MAX_WORKERS}, not ${workers}`);
  }
  const node = (role: NodeRole, i: number): NodePlan => {
    const name = `${LAB_PREFIX}-${role}-${i}`;
    return {
      name,
      role,
      ip: `${LAB_NET}.${role === "master" ? 10 + i : 20 + i}`,
      netns: name,
      hostVeth: `${LAB_PREFIX}-h-${role[0]}${i}`,
      ...(role === "master" ? { etcdMember: `etcd-${name}` } : {}),
    };
  };
  return [
    ...Array.from({ length: masters }, (_, i) => node("master", i + 1)),
    ...Array.from({ length: workers }, (_, i) => node("worker", i + 1)),
  ];
}

/** Default state directory: `.lab/` at the repo root (gitignored). */
export const DEFAULT_STATE_DIR = join(REPO_ROOT, ".lab");

/** Where everything of a lab lives under its state directory. */
export function labPaths(stateDir: string = DEFAULT_STATE_DIR) {
  const root = resolve(stateDir);
  return {
    root,
    /** The lab's own record: shape, progress, nodes (lab.json). */
    state: join(root, "lab.json"),
    /** What tests and the coordinator read: nodes, addresses, roles, etcd members, file locations. */
    inventory: join(root, "inventory.json"),
    /** The coordinator's config for this lab. */
    kubecycleConfig: join(root, "kubecycle.yaml"),
    kubeconfig: join(root, "kubeconfig"),
    /** kubecycle's own PKI (`kubecycle pki`): ca, agents/, clients/. */
    pki: join(root, "pki"),
    /** The etcd CA and certificates, KubeKey names; copied to each node's /etc/ssl/etcd/ssl. */
    etcdPki: join(root, "etcd-pki"),
    /** What the kube stand-ins' createKubePki made; copied to each node's /etc/kubernetes/pki. */
    kubePki: join(root, "kube-pki"),
    /** bundleKube() output, bound read-only into every node. */
    kubeBin: join(root, "kube-bin"),
    /** Coordinator state dir named in kubecycle.yaml. */
    coordinatorState: join(root, "coordinator"),
    nodes: join(root, "nodes"),
    node: (name: string) => join(root, "nodes", name),
  };
}

export type LabPaths = ReturnType<typeof labPaths>;
