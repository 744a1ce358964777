// Where the kube stand-ins (API simulator, kubelet, containerd, crictl, the seeded workload; test/lab/kube/) plug into
// the lab. They are optional until they land: the lab runs without them when test/lab/kube/index.ts is missing, or
// when switched off.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { EtcdLayout } from "./etcd.js";
import { REPO_ROOT } from "./agent.js";
import { exists } from "./host.js";
import type { KubeNodeSpec } from "./kube/index.js";
import type { RuntimeKind, RuntimeSpec } from "./kube/runtimes.js";
import type { LabPaths, NodePlan } from "./layout.js";
import { KUBE_BIN_DIR, type NodeFile, type NodeParts, type StateDir } from "./nodes.js";

/** What the kube stand-ins need to know about one node (their own type). */
export type { KubeNodeSpec } from "./kube/index.js";
/** One request in an API server's audit log. */
export type { AuditRecord as ApiAuditRecord } from "./kube/apiserver/authz.js";

/** The API of test/lab/kube/index.ts. */
export interface KubeModule {
  /** kubelet.service, containerd.service, kube-apiserver.service (masters)...; those with [Install] are enabled. */
  kubeUnitFiles(spec: KubeNodeSpec): Record<string, string>;
  /** In-node paths to create before boot; they must lie under one of the node's writable binds. */
  kubeNodeFiles(spec: KubeNodeSpec): Array<{ path: string; content: string; mode: number }>;
  createKubePki(
    hostDir: string,
    masters: Array<{ name: string; ip: string }>,
    nodes?: Array<{ name: string; ip: string }>,
  ): Promise<{ kubeconfig(server: string, user?: "admin" | "kubecycle-operator"): string }>;
  bundleKube(outDir: string): Promise<void>;
  seedWorkload(kubeconfigText: string): Promise<void>;
}

const KUBE_INDEX = fileURLToPath(new URL("./kube/index.ts", import.meta.url));

/** Whether the kube stand-ins are there. */
export function kubeAvailable(): Promise<boolean> {
  return exists(KUBE_INDEX);
}

/** Loads the kube stand-ins; fails naming the file when they are not there. */
export async function loadKube(): Promise<KubeModule> {
  if (!(await kubeAvailable())) {
    throw new Error(`the kube stand-ins are not there yet (${KUBE_INDEX}); run the lab without them (--no-kube)`);
  }
  // Typed against the interface above, so a drift between the two fails the type check. The check above keeps this
  // import from running when the stand-ins are not there.
  const kube: KubeModule = await import("./kube/index.js");
  return kube;
}

/**
 * The RBAC the API servers authorize the kubecycle operator by: the manifest the README tells users to apply, so
 * that the end-to-end suite fails when kubecycle needs a grant it does not name.
 */
export const RBAC_MANIFEST = join(REPO_ROOT, "deploy", "rbac.yaml");

/** The opt-in grants `cluster start --approve-kubelet-csrs` needs, beside RBAC_MANIFEST. */
export const RBAC_APPROVE_KUBELET_CSRS = join(REPO_ROOT, "deploy", "rbac-approve-kubelet-csrs.yaml");

/** Where a master's API server writes its audit log of the requests RBAC decided (inside the node; /var/log is the node's own). */
export const API_AUDIT_LOG = "/var/log/kubernetes/audit.jsonl";

/** Where the kube PKI is inside a node. */
const KUBE_PKI_DIR = "/etc/kubernetes/pki";

export { RUNTIMES, type RuntimeKind, type RuntimeSpec } from "./kube/runtimes.js";

/** Per-node writable directories the stand-ins need besides the common ones (the runtime's container logs). */
export function kubeStateDirs(runtime: RuntimeSpec): StateDir[] {
  return [{ target: runtime.rootDir, kind: "dir" }];
}

/** What the kube stand-ins add to a node: the kube PKI, their files (kubeconfigs, static pods, crictl) and units. */
export async function kubeParts(
  kube: KubeModule,
  o: {
    node: NodePlan;
    masters: readonly NodePlan[];
    paths: LabPaths;
    etcd: EtcdLayout;
    runtime: RuntimeKind;
    nodeGraceSeconds?: number;
    /** Manifests applied beside RBAC_MANIFEST (e.g. RBAC_APPROVE_KUBELET_CSRS). */
    rbacOptIns?: readonly string[];
  },
): Promise<NodeParts> {
  const { node } = o;
  const spec: KubeNodeSpec = {
    name: node.kubeName,
    role: node.role,
    ip: node.ip,
    runtime: o.runtime,
    masters: o.masters.map((m) => ({ name: m.kubeName, ip: m.ip })),
    etcd: o.etcd.apiserverClient(node, o.masters),
    kubePkiDir: KUBE_PKI_DIR,
    binDir: KUBE_BIN_DIR,
    authorization: {
      policy: (await Promise.all([RBAC_MANIFEST, ...(o.rbacOptIns ?? [])].map((f) => readFile(f, "utf8")))).join(
        "\n---\n",
      ),
      auditLog: API_AUDIT_LOG,
    },
    ...(o.nodeGraceSeconds !== undefined ? { nodeGraceSeconds: o.nodeGraceSeconds } : {}),
  };
  // The cluster's files, and of the per-node ones (nodes/<name>/: the kubelet's certificate store) only this node's.
  const store = join(o.paths.kubePki, "nodes", node.kubeName);
  const pki: NodeFile[] = [
    ...(await readdir(o.paths.kubePki, { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => ({
        path: `${KUBE_PKI_DIR}/${e.name}`,
        copyFrom: join(o.paths.kubePki, e.name),
        mode: e.name.endsWith(".key") ? 0o600 : 0o644,
      })),
    ...(await readdir(store).catch(() => [])).map((f) => ({
      path: `${KUBE_PKI_DIR}/${f}`,
      copyFrom: join(store, f),
      mode: 0o600,
    })),
  ];
  const unitFiles = kube.kubeUnitFiles(spec);
  return {
    files: [...pki, ...kube.kubeNodeFiles(spec)],
    unitFiles,
    enable: Object.entries(unitFiles)
      .filter(([, content]) => /^\[Install\]/m.test(content))
      .map(([unit]) => unit),
  };
}
