// The lab cluster's Kubernetes PKI, laid out like kubeadm's /etc/kubernetes/pki: a cluster CA, the apiserver's
// serving certificate (also served by the controller-manager and scheduler health endpoints), and two client
// certificates: admin (O=system:masters) and one shared kubelet client (O=system:nodes; real clusters give every
// node its own, CN=system:node:<name>).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { ensureDir, issueLeaf, makeCa } from "../certs.js";

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

/** Creates the PKI under `hostDir` for a control plane on `masters`. */
export async function createKubePki(hostDir: string, masters: Array<{ name: string; ip: string }>): Promise<KubePki> {
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
