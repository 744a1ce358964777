// What the lab records about itself in its state directory: lab.json (what was asked for and how far `up` got),
// inventory.json (what tests and benchmarks read to find the lab) and kubecycle.yaml (the coordinator's config). The
// host paths it creates are recorded machine-wide instead (host-paths.ts): they must be found without this directory.
import { mkdir, readdir, readFile, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { clientUrl, type EtcdLayout } from "./etcd.js";
import { exists, writeFileAtomic } from "./host.js";
import type { LabVariants } from "./variants.js";
import {
  AGENT_PORT,
  BRIDGE,
  BRIDGE_ADDRESS,
  CLUSTER_NAME,
  LAB_CIDR,
  OPERATOR_CLIENT,
  SERVE_CERT_NAME,
  SERVE_PAGE_PORT,
  SERVE_METRICS_PORT,
  SERVE_PORT,
  VIEWER_CLIENT,
  labPaths,
  type LabPaths,
  type NodePlan,
} from "./layout.js";

/** lab.json: what was asked for and how far `up` got. */
export interface LabState extends LabVariants {
  version: 1;
  masters: number;
  workers: number;
  /** LabOptions.agentConfig, as given. */
  agentConfig?: Record<string, unknown>;
  /** Set once every node is up, every agent serves and etcd is healthy. */
  complete: boolean;
  startedUnixMs: number;
  nodes: NodePlan[];
}

/** inventory.json: everything tests and the coordinator need to find the lab. Host paths unless said otherwise. */
export interface Inventory {
  version: 1;
  cluster: string;
  stateDir: string;
  bridge: { name: string; address: string; cidr: string };
  agentPort: number;
  pki: {
    ca: string;
    operator: { cert: string; key: string };
    viewer: { cert: string; key: string };
  };
  /** The lab's variants (layout, runtime, node names, sshd). */
  variants: LabVariants;
  /** Host-side etcd client settings. */
  etcd: { endpoints: string[]; caFile: string; certFile: string; keyFile: string };
  kube: { enabled: boolean; kubeconfig?: string; server?: string };
  kubecycleConfig: string;
  /** Each node: its lab name (`name`, host objects) and its Kubernetes name (`kubeName`), address, role... */
  nodes: Array<NodePlan & { agentAddress: string; stateDir: string }>;
}

export async function readLabState(paths: LabPaths): Promise<LabState | undefined> {
  const text = await readFile(paths.state, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const s = JSON.parse(text) as LabState;
    return s.version === 1 ? s : undefined;
  } catch {
    return undefined;
  }
}

export async function writeLabState(paths: LabPaths, state: LabState): Promise<void> {
  await writeFileAtomic(paths.state, `${JSON.stringify(state, null, 2)}\n`);
}

/** Writes inventory.json and the coordinator's kubecycle.yaml. */
export async function writeInventory(
  paths: LabPaths,
  plan: readonly NodePlan[],
  etcd: EtcdLayout,
  variants: LabVariants,
  server?: string,
): Promise<void> {
  const { kube } = variants;
  const inventory: Inventory = {
    version: 1,
    variants,
    cluster: CLUSTER_NAME,
    stateDir: paths.root,
    bridge: { name: BRIDGE, address: BRIDGE_ADDRESS, cidr: LAB_CIDR },
    agentPort: AGENT_PORT,
    pki: {
      ca: join(paths.pki, "ca.crt"),
      operator: {
        cert: join(paths.pki, "clients", `${OPERATOR_CLIENT}.crt`),
        key: join(paths.pki, "clients", `${OPERATOR_CLIENT}.key`),
      },
      viewer: {
        cert: join(paths.pki, "clients", `${VIEWER_CLIENT}.crt`),
        key: join(paths.pki, "clients", `${VIEWER_CLIENT}.key`),
      },
    },
    etcd: {
      endpoints: plan.filter((n) => n.role === "master").map((n) => clientUrl(n.ip)),
      ...etcd.hostClient(paths, plan),
    },
    kube: { enabled: kube, ...(kube ? { kubeconfig: paths.kubeconfig } : {}), ...(server ? { server } : {}) },
    kubecycleConfig: paths.kubecycleConfig,
    nodes: plan.map((n) => ({ ...n, agentAddress: `${n.ip}:${AGENT_PORT}`, stateDir: paths.node(n.name) })),
  };
  await writeFileAtomic(paths.inventory, `${JSON.stringify(inventory, null, 2)}\n`);
  // coordinator/config.ts's format (strict: no field of the lab's own here; those are in inventory.json).
  const config = {
    cluster: CLUSTER_NAME,
    kubeconfig: paths.operatorKubeconfig,
    stateDir: paths.coordinatorState,
    agents: {
      port: AGENT_PORT,
      tls: { ca: inventory.pki.ca, cert: inventory.pki.operator.cert, key: inventory.pki.operator.key },
    },
    nodes: Object.fromEntries(plan.map((n) => [n.kubeName, { address: n.ip }])),
    // `kubecycle serve` on the host, where the agents report (see SERVE_ENDPOINT).
    serve: {
      listen: { address: BRIDGE_ADDRESS, port: SERVE_PORT },
      tls: {
        cert: join(paths.pki, "serve", `${SERVE_CERT_NAME}.crt`),
        key: join(paths.pki, "serve", `${SERVE_CERT_NAME}.key`),
      },
      metrics: { address: "127.0.0.1", port: SERVE_METRICS_PORT },
      page: { port: SERVE_PAGE_PORT },
      waitAgentsMs: 300_000,
      settleMs: 120_000,
    },
  };
  await mkdir(paths.coordinatorState, { recursive: true, mode: 0o700 });
  await writeFileAtomic(
    paths.kubecycleConfig,
    `# kubecycle coordinator config for the lab (written by \`npm run lab -- up\`)\n${stringify(config)}`,
  );
}

/** Reads the lab's inventory.json. */
export async function readInventory(stateDir?: string): Promise<Inventory> {
  return JSON.parse(await readFile(labPaths(stateDir).inventory, "utf8")) as Inventory;
}

/** Whether `up` finished writing what the coordinator reads. */
export async function recordsPresent(paths: LabPaths): Promise<boolean> {
  return (await exists(paths.inventory)) && (await exists(paths.kubecycleConfig));
}

/** Removes what the lab keeps in its state directory, and the directory itself if nothing else is in it. */
export async function removeStateDir(paths: LabPaths): Promise<void> {
  const owned = [
    paths.nodes,
    paths.pki,
    paths.etcdPki,
    paths.kubePki,
    paths.kubeBin,
    paths.ssh,
    paths.coordinatorState,
    paths.inventory,
    paths.kubecycleConfig,
    paths.kubeconfig,
    join(paths.root, "serve.log"),
    join(paths.root, "release"),
    paths.operatorKubeconfig,
    paths.state,
  ];
  for (const p of owned) await rm(p, { recursive: true, force: true });
  if ((await readdir(paths.root).catch(() => ["?"])).length === 0) await rmdir(paths.root);
}
