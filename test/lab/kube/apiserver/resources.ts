// The resources the simulator serves, with the facts the generic REST handlers need: group/version, scope, the
// etcd key prefix the real apiserver uses (/registry/<name>, "minions" for nodes), and whether the resource has a
// status subresource (then the main resource ignores status changes and /status ignores everything else).

export interface ResourceInfo {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  etcdPrefix: string;
  hasStatus: boolean;
  shortNames?: string[];
}

const r = (
  group: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  etcd: string,
  hasStatus: boolean,
  shortNames?: string[],
): ResourceInfo => ({
  group,
  version: "v1",
  plural,
  singular: kind.toLowerCase(),
  kind,
  namespaced,
  etcdPrefix: `/registry/${etcd}/`,
  hasStatus,
  ...(shortNames ? { shortNames } : {}),
});

export const RESOURCES: ResourceInfo[] = [
  r("", "namespaces", "Namespace", false, "namespaces", true, ["ns"]),
  r("", "nodes", "Node", false, "minions", true, ["no"]),
  r("", "pods", "Pod", true, "pods", true, ["po"]),
  r("apps", "deployments", "Deployment", true, "deployments", true, ["deploy"]),
  r("apps", "replicasets", "ReplicaSet", true, "replicasets", true, ["rs"]),
  r("apps", "daemonsets", "DaemonSet", true, "daemonsets", true, ["ds"]),
  r("policy", "poddisruptionbudgets", "PodDisruptionBudget", true, "poddisruptionbudgets", true, ["pdb"]),
  r("coordination.k8s.io", "leases", "Lease", true, "leases", false),
  // Kubelets' certificate requests; approval is its own subresource (a condition in status), as on the real one.
  r(
    "certificates.k8s.io",
    "certificatesigningrequests",
    "CertificateSigningRequest",
    false,
    "certificatesigningrequests",
    true,
    ["csr"],
  ),
];

/** The resource of `group` (""=core) and `plural`, if served. */
export function findResource(group: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((x) => x.group === group && x.plural === plural);
}

/** The resource of a kind. Throws for a kind that is not served (a bug in the caller). */
export function resourceOf(kind: string): ResourceInfo {
  const res = RESOURCES.find((x) => x.kind === kind);
  if (!res) throw new Error(`no resource for kind ${kind}`);
  return res;
}

/** `v1` or `apps/v1`. */
export function apiVersionOf(res: ResourceInfo): string {
  return res.group ? `${res.group}/${res.version}` : res.version;
}
