// The masters' etcd, laid out as KubeKey lays it out: Debian's /usr/bin/etcd as etcd.service (Type=notify,
// EnvironmentFile=/etc/etcd.env, Restart=always), client and peer TLS with certificates in /etc/ssl/etcd/ssl under
// KubeKey's names, and the ETCDCTL_* settings in /etc/etcd.env so etcdctl v3 works on the node after sourcing it.
import { chmod, copyFile, lstat, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { issueLeaf, makeCa } from "./certs.js";
import { clientUrl, peerUrl, type EtcdLayout } from "./etcd.js";
import { ETCD_CLIENT_PORT, type NodePlan } from "./layout.js";
import { stateName, type LabNode } from "./nodes.js";

/** Where the certificates are inside a node. */
export const ETCD_SSL_DIR = "/etc/ssl/etcd/ssl";
export const ETCD_ENV_FILE = "/etc/etcd.env";
export const ETCD_DATA_DIR = "/var/lib/etcd";

/** KubeKey's etcd.service, with Debian's binary. */
export const ETCD_UNIT = `# etcd as KubeKey installs it (kubecycle lab)
[Unit]
Description=etcd
After=network.target

[Service]
User=root
# Ready only once the member has joined a quorum: starting members one at a time deadlocks.
Type=notify
EnvironmentFile=${ETCD_ENV_FILE}
ExecStart=/usr/bin/etcd
NotifyAccess=all
RestartSec=10s
LimitNOFILE=40000
Restart=always

[Install]
WantedBy=multi-user.target
`;

/** KubeKey's certificate file names. */
export const etcdCertNames = {
  ca: "ca.pem",
  caKey: "ca-key.pem",
  member: (node: string) => ({ cert: `member-${node}.pem`, key: `member-${node}-key.pem` }),
  admin: (node: string) => ({ cert: `admin-${node}.pem`, key: `admin-${node}-key.pem` }),
  node: (node: string) => ({ cert: `node-${node}.pem`, key: `node-${node}-key.pem` }),
};

/**
 * Creates the etcd CA and every certificate in dir: member-, admin- and node- for each master, node- for each
 * worker. Each names its node and its lab address (etcd checks a peer's certificate against its address).
 */
export async function makeEtcdPki(dir: string, nodes: readonly NodePlan[]): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await makeCa(join(dir, etcdCertNames.ca), join(dir, etcdCertNames.caKey), "etcd-ca");
  const leaf = (files: { cert: string; key: string }, cn: string, n: NodePlan) =>
    issueLeaf(ca, join(dir, files.cert), join(dir, files.key), {
      commonName: cn,
      dnsNames: [...new Set([n.kubeName, n.hostname, "localhost"])],
      ips: [n.ip, "127.0.0.1"],
      usage: "both",
    });
  // One at a time: issueLeaf keeps the CA's serial in ca.srl (-CAcreateserial), which concurrent runs corrupt.
  for (const n of nodes) {
    await leaf(etcdCertNames.node(n.kubeName), `etcd-node-${n.kubeName}`, n);
    if (n.role === "master") {
      await leaf(etcdCertNames.member(n.kubeName), `etcd-member-${n.kubeName}`, n);
      await leaf(etcdCertNames.admin(n.kubeName), `etcd-admin-${n.kubeName}`, n);
    }
  }
}

/** Copies what a node gets into its /etc/ssl/etcd (host side): all of its own certificates and the CA. */
export async function installEtcdCerts(pkiDir: string, node: NodePlan, hostEtcSslEtcd: string): Promise<void> {
  const ssl = join(hostEtcSslEtcd, "ssl");
  await mkdir(ssl, { recursive: true, mode: 0o700 });
  const names = [etcdCertNames.ca, ...Object.values(etcdCertNames.node(node.kubeName))];
  if (node.role === "master") {
    names.push(
      etcdCertNames.caKey,
      ...Object.values(etcdCertNames.member(node.kubeName)),
      ...Object.values(etcdCertNames.admin(node.kubeName)),
    );
  }
  for (const f of names) {
    await copyFile(join(pkiDir, f), join(ssl, f));
    await chmod(join(ssl, f), f.endsWith("-key.pem") ? 0o600 : 0o644);
  }
}

/** /etc/etcd.env of a master, as KubeKey writes it (member settings, TLS, then etcdctl's settings). */
export function etcdEnvFile(node: NodePlan, masters: readonly NodePlan[]): string {
  if (node.etcdMember === undefined) throw new Error(`${node.name} is not an etcd member`);
  const member = etcdCertNames.member(node.kubeName);
  const admin = etcdCertNames.admin(node.kubeName);
  const ssl = (f: string) => `${ETCD_SSL_DIR}/${f}`;
  const cluster = masters.map((m) => `${m.etcdMember}=${peerUrl(m.ip)}`).join(",");
  return `# Environment file for etcd (kubecycle lab, KubeKey layout)
ETCD_DATA_DIR=${ETCD_DATA_DIR}
ETCD_ADVERTISE_CLIENT_URLS=${clientUrl(node.ip)}
ETCD_INITIAL_ADVERTISE_PEER_URLS=${peerUrl(node.ip)}
ETCD_INITIAL_CLUSTER_STATE=new
ETCD_METRICS=basic
ETCD_LISTEN_CLIENT_URLS=${clientUrl(node.ip)},https://127.0.0.1:${ETCD_CLIENT_PORT}
ETCD_INITIAL_CLUSTER_TOKEN=k8s_etcd
ETCD_LISTEN_PEER_URLS=${peerUrl(node.ip)}
ETCD_NAME=${node.etcdMember}
ETCD_PROXY=off
ETCD_ENABLE_V2=true
ETCD_INITIAL_CLUSTER=${cluster}
# KubeKey uses 5000/250; every member is on one machine here, so elections can be quick.
ETCD_ELECTION_TIMEOUT=1000
ETCD_HEARTBEAT_INTERVAL=100
ETCD_AUTO_COMPACTION_RETENTION=8
ETCD_SNAPSHOT_COUNT=10000

# TLS settings
ETCD_TRUSTED_CA_FILE=${ssl(etcdCertNames.ca)}
ETCD_CERT_FILE=${ssl(member.cert)}
ETCD_KEY_FILE=${ssl(member.key)}
ETCD_CLIENT_CERT_AUTH=true

ETCD_PEER_TRUSTED_CA_FILE=${ssl(etcdCertNames.ca)}
ETCD_PEER_CERT_FILE=${ssl(member.cert)}
ETCD_PEER_KEY_FILE=${ssl(member.key)}
ETCD_PEER_CLIENT_CERT_AUTH=True

# CLI settings
ETCDCTL_API=3
ETCDCTL_ENDPOINTS=https://127.0.0.1:${ETCD_CLIENT_PORT}
ETCDCTL_CACERT=${ssl(etcdCertNames.ca)}
ETCDCTL_KEY=${ssl(admin.key)}
ETCDCTL_CERT=${ssl(admin.cert)}
`;
}

/** argv that runs `etcdctl ARGS...` inside a node with the settings of its own /etc/etcd.env, as an operator would. */
export function etcdctlArgv(args: readonly string[]): string[] {
  return ["/bin/sh", "-c", `set -a; . ${ETCD_ENV_FILE}; set +a; exec etcdctl "$@"`, "etcdctl", ...args];
}

// /etc/etcd.env must exist on masters only: the agent takes a readable /etc/etcd.env to mean "this node is an etcd
// member". A bind needs its target on the shared root, which workers would then see; a symlink on the host into a
// per-node directory resolves on masters and dangles on workers.
const ETCD_ENV_REAL = "/etc/kubecycle-lab/etcd.env";

/** KubeKey's layout: etcd.service on the masters, certificates in /etc/ssl/etcd/ssl on every node. */
export const kubekeyLayout: EtcdLayout = {
  name: "kubekey",
  describe: "etcd.service (Type=notify) with /etc/etcd.env and /etc/ssl/etcd/ssl, as KubeKey lays it out",
  memberName: (kubeName) => `etcd-${kubeName}`,
  needsKube: false,
  stateDirs: [{ target: "/etc/ssl/etcd", kind: "dir", mode: 0o700 }],
  hostLinks: [{ path: ETCD_ENV_FILE, target: "kubecycle-lab/etcd.env" }],
  bootWaitsForQuorum: true,
  makePki: (paths, plan) => makeEtcdPki(paths.etcdPki, plan),
  async nodeParts({ node, masters, paths }) {
    await installEtcdCerts(paths.etcdPki, node, join(paths.node(node.name), stateName("/etc/ssl/etcd")));
    if (node.role !== "master") return {};
    return {
      files: [{ path: ETCD_ENV_REAL, content: etcdEnvFile(node, masters), mode: 0o600 }],
      unitFiles: { "etcd.service": ETCD_UNIT },
      enable: ["etcd.service"],
    };
  },
  apiserverClient(node, masters) {
    const cert = etcdCertNames.node(node.kubeName);
    return {
      endpoints: masters.map((m) => clientUrl(m.ip)),
      caFile: `${ETCD_SSL_DIR}/${etcdCertNames.ca}`,
      certFile: `${ETCD_SSL_DIR}/${cert.cert}`,
      keyFile: `${ETCD_SSL_DIR}/${cert.key}`,
    };
  },
  hostClient(paths, plan) {
    const first = plan[0];
    if (!first) throw new Error("no nodes");
    const admin = etcdCertNames.admin(first.kubeName);
    return {
      caFile: join(paths.etcdPki, etcdCertNames.ca),
      certFile: join(paths.etcdPki, admin.cert),
      keyFile: join(paths.etcdPki, admin.key),
    };
  },
  etcdctlArgv,
  etcdState: (node) => node.unitState("etcd.service"),
  // The link points into the node's /etc (dangling on the host): lstat, not access.
  enabledAtBoot: (node: LabNode) =>
    lstat(join(node.stateDir, "etc/systemd/system/multi-user.target.wants/etcd.service")).then(
      () => true,
      () => false,
    ),
};
