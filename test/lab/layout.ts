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
/**
 * `kubecycle serve` on the admin side, the host, on the bridge's address: every node's agent reports there (the lab
 * writes it in their configs and in kubecycle.yaml); whoever runs `kubecycle serve` with the lab's config gets them.
 */
export const SERVE_PORT = 9444;
export const SERVE_ENDPOINT = `${BRIDGE_ADDRESS}:${SERVE_PORT}`;
/** serve's Prometheus metrics, on the host's loopback. */
export const SERVE_METRICS_PORT = 9445;
/** serve's status page over HTTPS, on the bridge's address beside the reports: open it from the host. */
export const SERVE_PAGE_PORT = 9446;
export const SERVE_PAGE_URL = `https://${BRIDGE_ADDRESS}:${SERVE_PAGE_PORT}`;
/** serve's certificate, in `<state>/pki/serve/`. */
export const SERVE_CERT_NAME = "kclab-serve";
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
/** The lab's operator and viewer client certificates, in `<state>/pki/clients/`. */
export const OPERATOR_CLIENT = "lab-operator";
export const VIEWER_CLIENT = "lab-viewer";
/** Up to 9 masters (.11-.19) and 12 workers (.21-.32). */
export const MAX_MASTERS = 9;
export const MAX_WORKERS = 12;
/** The longest UTS host name Linux takes (HOST_NAME_MAX). */
const HOST_NAME_MAX = 64;

export type NodeRole = "master" | "worker";

/**
 * How the nodes are named in Kubernetes: "short" (the lab's own names, kclab-worker-1) or "cloud" (EC2's private DNS
 * names, ip-198-18-7-21.eu-west-1.compute.internal: kubelet's --hostname-override, the agent's nodeName and
 * certificate, the kubecycle config's nodes). The lab's host objects keep their short names either way.
 */
export type NodeNames = "short" | "cloud";

/** One node of the lab. */
export interface NodePlan {
  /**
   * The lab's name of the node: its cgroup, network namespace, state directory, and what the lab CLI and tests call
   * it. Never a prefix of another node's (cgroup cleanup matches by prefix).
   */
  name: string;
  /** The node's name in Kubernetes (and to kubecycle: its agent's nodeName). The lab's name unless cloud names. */
  kubeName: string;
  /** The node's UTS host name: its Kubernetes name, or that name's first label when it is too long for Linux. */
  hostname: string;
  role: NodeRole;
  /** Address on the lab bridge (its eth0). */
  ip: string;
  /** Network namespace in /var/run/netns. */
  netns: string;
  /** Host side of the node's veth pair, enslaved to {@link BRIDGE}. */
  hostVeth: string;
  /** The node's etcd member name (its layout's: KubeKey's `etcd-<node>`, kubeadm's `<node>`), for masters. */
  etcdMember?: string;
}

/** What else decides the nodes' names. */
export interface PlanOptions {
  /** Default "short". */
  nodeNames?: NodeNames;
  /** The etcd member name of a master, from its Kubernetes name; default KubeKey's `etcd-<node>`. */
  memberName?: (kubeName: string) => string;
}

/** EC2's private DNS name of an address in eu-west-1 (41 or 42 characters in the lab). */
export function cloudName(ip: string): string {
  return `ip-${ip.replaceAll(".", "-")}.eu-west-1.compute.internal`;
}

/**
 * The nodes of a lab with this many masters and workers: masters .11-.19, workers .21-.32. Numbers are padded to
 * the widest one (kclab-worker-01 .. -12), so that no name is a prefix of another.
 */
export function planNodes(masters: number, workers: number, o: PlanOptions = {}): NodePlan[] {
  if (!Number.isInteger(masters) || masters < 1 || masters > MAX_MASTERS) {
    throw new Error(`masters must be 1..${MAX_MASTERS}, not ${masters}`);
  }
  if (!Number.isInteger(workers) || workers < 0 || workers > MAX_WORKERS) {
    throw new Error(`workers must be 0..${MAX_WORKERS}, not ${workers}`);
  }
  const memberName = o.memberName ?? ((n: string) => `etcd-${n}`);
  const node = (role: NodeRole, i: number, count: number): NodePlan => {
    const num = String(i).padStart(String(count).length, "0");
    const name = `${LAB_PREFIX}-${role}-${num}`;
    const ip = `${LAB_NET}.${role === "master" ? 10 + i : 20 + i}`;
    const kubeName = o.nodeNames === "cloud" ? cloudName(ip) : name;
    return {
      name,
      kubeName,
      hostname: kubeName.length <= HOST_NAME_MAX ? kubeName : (kubeName.split(".")[0] ?? name),
      role,
      ip,
      netns: name,
      hostVeth: `${LAB_PREFIX}-h-${role[0]}${num}`,
      ...(role === "master" ? { etcdMember: memberName(kubeName) } : {}),
    };
  };
  return [
    ...Array.from({ length: masters }, (_, i) => node("master", i + 1, masters)),
    ...Array.from({ length: workers }, (_, i) => node("worker", i + 1, workers)),
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
    /** The cluster admin's kubeconfig (system:masters): the tests' own view of the API. */
    kubeconfig: join(root, "kubeconfig"),
    /** The kubecycle operator's kubeconfig (group kubecycle:operators, deploy/rbac.yaml's grants): kubecycle's. */
    operatorKubeconfig: join(root, "kubecycle-operator.kubeconfig"),
    /** kubecycle's own PKI (`kubecycle pki`): ca, agents/, clients/. */
    pki: join(root, "pki"),
    /** The etcd CA and certificates, KubeKey names; copied to each node's /etc/ssl/etcd/ssl. */
    etcdPki: join(root, "etcd-pki"),
    /** What the kube stand-ins' createKubePki made; copied to each node's /etc/kubernetes/pki. */
    kubePki: join(root, "kube-pki"),
    /** bundleKube() output, bound read-only into every node. */
    kubeBin: join(root, "kube-bin"),
    /** The ssh client's key, known_hosts and config for the nodes' sshd (`up --sshd`). */
    ssh: join(root, "ssh"),
    /** Coordinator state dir named in kubecycle.yaml. */
    coordinatorState: join(root, "coordinator"),
    nodes: join(root, "nodes"),
    node: (name: string) => join(root, "nodes", name),
  };
}

export type LabPaths = ReturnType<typeof labPaths>;
