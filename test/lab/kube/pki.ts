// The lab cluster's Kubernetes PKI, laid out like kubeadm's /etc/kubernetes/pki: a cluster CA, the apiserver's
// serving certificate (also served by the controller-manager and scheduler health endpoints), and client
// certificates: admin (O=system:masters), one shared kubelet client (O=system:nodes, for the fast tier's harness),
// and per node, as after kubeadm's TLS bootstrap, the kubelet's own client certificate (CN=system:node:<name>) and
// its serving certificate (SANs: the node's name and address), each one PEM with its key, as the kubelet's
// certificate store keeps them (kubelet-client-current.pem, kubelet-server-current.pem).
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { promisify } from "node:util";
import { ensureDir, issueLeaf, makeCa } from "../certs.js";

const run = promisify(execFile);

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
  await ensureDir(dir, 0o700);
  // One openssl process per certificate (the key from node:crypto, `req -CA` signs): every lab up makes two per node.
  const pem = async (file: string, usage: "clientAuth" | "serverAuth", sans: string[]): Promise<void> => {
    const tmp = await mkdtemp(join(dir, `.${file}-`));
    try {
      const key = generateKeyPairSync("ec", { namedCurve: "prime256v1" })
        .privateKey.export({ type: "sec1", format: "pem" })
        .toString();
      await writeFile(join(tmp, "key.pem"), key, { mode: 0o600 });
      await writeFile(
        join(tmp, "openssl.cnf"),
        [
          "[req]",
          "distinguished_name=dn",
          "[dn]",
          "[ext]",
          "basicConstraints=critical,CA:FALSE",
          "keyUsage=critical,digitalSignature",
          `extendedKeyUsage=${usage}`,
          ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
          "",
        ].join("\n"),
      );
      // prettier-ignore
      await run("openssl", ["req", "-new", "-config", join(tmp, "openssl.cnf"), "-extensions", "ext", "-key", join(tmp, "key.pem"), "-subj", `/O=system:nodes/CN=system:node:${node.name}`, "-CA", join(pkiDir, PKI_FILES.caCert), "-CAkey", join(pkiDir, PKI_FILES.caKey), "-days", "365", "-sha256", "-out", join(tmp, "cert.pem")]);
      const cert = await readFile(join(tmp, "cert.pem"), "utf8");
      await writeFile(join(dir, file), `${cert.trimEnd()}\n${key.trimEnd()}\n`, { mode: 0o600 });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  };
  await Promise.all([
    pem(KUBELET_STORE_FILES.client, "clientAuth", []),
    pem(KUBELET_STORE_FILES.server, "serverAuth", [`DNS:${node.name}`, `IP:${node.ip}`]),
  ]);
}
