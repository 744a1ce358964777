// The lab cluster's Kubernetes PKI, laid out like kubeadm's /etc/kubernetes/pki: a cluster CA, the apiserver's
// serving certificate (also served by the controller-manager and scheduler health endpoints), and client
// certificates: admin (O=system:masters), one shared kubelet client (O=system:nodes, for the fast tier's harness),
// and per node, as after kubeadm's TLS bootstrap, the kubelet's own client certificate (CN=system:node:<name>) and
// its serving certificate (SANs: the node's name and address), each one PEM with its key, as the kubelet's
// certificate store keeps them (kubelet-client-current.pem, kubelet-server-current.pem).
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { ensureDir, issueLeaf, makeCa, type CaFiles, type LeafOptions } from "../certs.js";

/** File names inside the PKI directory. */
export const PKI_FILES = {
  caCert: "ca.crt",
  caKey: "ca.key",
  apiserverCert: "apiserver.crt",
  apiserverKey: "apiserver.key",
  adminCert: "admin.crt",
  adminKey: "admin.key",
  kubeletCert: "kubelet-client.crt",
  kubeletKey: "kubelet-client.key",
  operatorCert: "kubecycle-operator.crt",
  operatorKey: "kubecycle-operator.key",
} as const;

/** Per node, under `nodes/<name>/` of the PKI directory: the kubelet's certificate store as TLS bootstrap left it. */
export const KUBELET_STORE_FILES = {
  client: "kubelet-client-current.pem",
  server: "kubelet-server-current.pem",
} as const;

/** The directory of a node's kubelet certificates inside the PKI directory. */
export function kubeletStoreDir(pkiDir: string, node: string): string {
  return join(pkiDir, "nodes", node);
}

/** Who a kubeconfig is for: the cluster admin (system:masters), or an operator of kubecycle (RBAC decides). */
export type KubeUser = "admin" | "kubecycle-operator";

/** The kubecycle operator's groups: deploy/rbac.yaml binds kubecycle:operators. */
export const OPERATOR_GROUP = "kubecycle:operators";

/** What createKubePki returns. */
export interface KubePki {
  /** The host directory holding the files of {@link PKI_FILES}. */
  dir: string;
  /** A kubeconfig (YAML, certificates embedded, current-context set) for `server`, e.g. https://10.0.0.1:6443. */
  kubeconfig(server: string, user?: KubeUser): string;
}

/** Creates the PKI under `hostDir` for a control plane on `masters`, with the kubelet certificates of `nodes`. */
export async function createKubePki(
  hostDir: string,
  masters: Array<{ name: string; ip: string }>,
  nodes: Array<{ name: string; ip: string }> = [],
): Promise<KubePki> {
  await ensureDir(hostDir, 0o700);
  const f = (n: keyof typeof PKI_FILES): string => join(hostDir, PKI_FILES[n]);
  const ca = await makeCa(f("caCert"), f("caKey"), "kubernetes");
  await issueLeaf(ca, f("apiserverCert"), f("apiserverKey"), {
    commonName: "kube-apiserver",
    usage: "server",
    dnsNames: [
      "kubernetes",
      "kubernetes.default",
      "kubernetes.default.svc",
      "kubernetes.default.svc.cluster.local",
      "localhost",
      "lb.kubesphere.local",
      ...masters.map((m) => m.name),
    ],
    ips: ["127.0.0.1", "10.233.0.1", ...masters.map((m) => m.ip)],
  });
  await issueLeaf(ca, f("adminCert"), f("adminKey"), {
    commonName: "kubernetes-admin",
    organization: "system:masters",
    usage: "client",
  });
  await issueLeaf(ca, f("kubeletCert"), f("kubeletKey"), {
    commonName: "system:node:lab",
    organization: "system:nodes",
    usage: "client",
  });
  await issueLeaf(ca, f("operatorCert"), f("operatorKey"), {
    commonName: "kubecycle-operator",
    organization: OPERATOR_GROUP,
    usage: "client",
  });
  await Promise.all(nodes.map((n) => issueKubeletCertificates(hostDir, kubeletStoreDir(hostDir, n.name), n)));
  const caPem = await readFile(f("caCert"));
  const creds = {
    admin: await Promise.all([readFile(f("adminCert")), readFile(f("adminKey"))]),
    "kubecycle-operator": await Promise.all([readFile(f("operatorCert")), readFile(f("operatorKey"))]),
  };
  return {
    dir: hostDir,
    kubeconfig: (server, who = "admin") => {
      const [cert, key] = creds[who];
      const user = who === "admin" ? "kubernetes-admin" : who;
      return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "lab", cluster: { server, "certificate-authority-data": caPem.toString("base64") } }],
        users: [
          {
            name: user,
            user: { "client-certificate-data": cert.toString("base64"), "client-key-data": key.toString("base64") },
          },
        ],
        contexts: [{ name: `${user}@lab`, context: { cluster: "lab", user } }],
        "current-context": `${user}@lab`,
        preferences: {},
      });
    },
  };
}

/**
 * A node's kubelet client and serving certificates from the CA of the PKI in `pkiDir`, each with its key in one PEM
 * file in `dir` ({@link KUBELET_STORE_FILES}), as the kubelet's certificate store keeps them.
 */
export async function issueKubeletCertificates(
  pkiDir: string,
  dir: string,
  node: { name: string; ip: string },
): Promise<void> {
  const ca: CaFiles = { cert: join(pkiDir, PKI_FILES.caCert), key: join(pkiDir, PKI_FILES.caKey) };
  await ensureDir(dir, 0o700);
  const pem = async (file: string, opts: LeafOptions): Promise<void> => {
    const cert = join(dir, `${file}.crt`);
    const key = join(dir, `${file}.key`);
    await issueLeaf(ca, cert, key, opts);
    await writeFile(join(dir, file), Buffer.concat([await readFile(cert), await readFile(key)]), { mode: 0o600 });
    await Promise.all([rm(cert), rm(key)]);
  };
  const subject = { commonName: `system:node:${node.name}`, organization: "system:nodes" };
  await Promise.all([
    pem(KUBELET_STORE_FILES.client, { ...subject, usage: "client" }),
    pem(KUBELET_STORE_FILES.server, { ...subject, usage: "server", dnsNames: [node.name], ips: [node.ip] }),
  ]);
}
