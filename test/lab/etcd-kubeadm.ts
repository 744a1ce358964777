// The masters' etcd laid out as kubeadm lays it out (stacked etcd): a static pod, /etc/kubernetes/manifests/etcd.yaml,
// that the kubelet runs through the container runtime, with kubeadm's flags and kubeadm's certificate names under
// /etc/kubernetes/pki/etcd/ (cmd/kubeadm/app/phases/etcd/local.go, cmd/kubeadm/app/constants/constants.go), and the
// API server's client certificate /etc/kubernetes/pki/apiserver-etcd-client.{crt,key}. No /etc/etcd.env and no
// etcd.service: etcd runs while a runtime keeps its container, and is started again only by the kubelet.
// Lab differences, each on purpose: command[0] is the node's /usr/bin/etcd (the lab's image is the node's own root
// file system) where kubeadm writes `etcd` from the image's PATH; every manifest lists all three members in
// --initial-cluster (the members bootstrap together, where kubeadm joins the second and third to the first); etcd
// 3.4's spelling of two flags kubeadm passes (--experimental-*); quick elections, as in the KubeKey layout.
import { lstat, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { issueLeaf, makeCa } from "./certs.js";
import { clientUrl, peerUrl, type EtcdLayout } from "./etcd.js";
import { ETCD_CLIENT_PORT, type NodePlan } from "./layout.js";
import type { LabNode, NodeFile } from "./nodes.js";

/** kubeadm's certificates directory inside a node (ClusterConfiguration.certificatesDir). */
export const KUBEADM_PKI = "/etc/kubernetes/pki";
/** The static pod's manifest. */
export const ETCD_MANIFEST = "/etc/kubernetes/manifests/etcd.yaml";

/** kubeadm's file names, relative to {@link KUBEADM_PKI} (constants.go). */
export const kubeadmEtcdFiles = {
  caCert: "etcd/ca.crt",
  caKey: "etcd/ca.key",
  serverCert: "etcd/server.crt",
  serverKey: "etcd/server.key",
  peerCert: "etcd/peer.crt",
  peerKey: "etcd/peer.key",
  healthcheckClientCert: "etcd/healthcheck-client.crt",
  healthcheckClientKey: "etcd/healthcheck-client.key",
  apiserverEtcdClientCert: "apiserver-etcd-client.crt",
  apiserverEtcdClientKey: "apiserver-etcd-client.key",
} as const;

type KubeadmFile = keyof typeof kubeadmEtcdFiles;
const inNode = (f: KubeadmFile): string => `${KUBEADM_PKI}/${kubeadmEtcdFiles[f]}`;
/** Where the host keeps a member's files: the CA at the top, each member's leaves in a directory of its own. */
const onHost = (dir: string, f: KubeadmFile, node?: string): string =>
  f === "caCert" || f === "caKey" ? join(dir, kubeadmEtcdFiles[f]) : join(dir, node ?? "", kubeadmEtcdFiles[f]);

/** Every control-plane node's etcd certificates, as `kubeadm init phase certs` makes them on that node. */
async function makePki(dir: string, plan: readonly NodePlan[]): Promise<void> {
  await mkdir(join(dir, "etcd"), { recursive: true, mode: 0o700 });
  const ca = await makeCa(onHost(dir, "caCert"), onHost(dir, "caKey"), "etcd-ca");
  for (const n of plan.filter((m) => m.role === "master")) {
    await mkdir(join(dir, n.name, "etcd"), { recursive: true, mode: 0o700 });
    const leaf = (cert: KubeadmFile, key: KubeadmFile, o: Parameters<typeof issueLeaf>[3]) =>
      issueLeaf(ca, onHost(dir, cert, n.name), onHost(dir, key, n.name), o);
    // Server and peer: CN the node name, SANs the node name, localhost, its address and loopback; both usages.
    const serving = {
      commonName: n.kubeName,
      dnsNames: [...new Set([n.kubeName, n.hostname, "localhost"])],
      ips: [n.ip, "127.0.0.1"],
      usage: "both" as const,
    };
    await leaf("serverCert", "serverKey", serving);
    await leaf("peerCert", "peerKey", serving);
    await leaf("healthcheckClientCert", "healthcheckClientKey", {
      commonName: "kube-etcd-healthcheck-client",
      usage: "client",
    });
    await leaf("apiserverEtcdClientCert", "apiserverEtcdClientKey", {
      commonName: "kube-apiserver-etcd-client",
      usage: "client",
    });
  }
}

/** The static pod manifest kubeadm writes for a stacked etcd member (arguments sorted, as kubeadm sorts them). */
export function etcdManifest(node: NodePlan, masters: readonly NodePlan[]): string {
  const member = node.etcdMember ?? node.kubeName;
  const args: Record<string, string> = {
    "advertise-client-urls": clientUrl(node.ip),
    "cert-file": inNode("serverCert"),
    "client-cert-auth": "true",
    "data-dir": "/var/lib/etcd",
    "experimental-initial-corrupt-check": "true",
    "experimental-watch-progress-notify-interval": "5s",
    "initial-advertise-peer-urls": peerUrl(node.ip),
    "initial-cluster": masters.map((m) => `${m.etcdMember ?? m.kubeName}=${peerUrl(m.ip)}`).join(","),
    "key-file": inNode("serverKey"),
    "listen-client-urls": `https://127.0.0.1:${ETCD_CLIENT_PORT},${clientUrl(node.ip)}`,
    "listen-metrics-urls": "http://127.0.0.1:2381",
    "listen-peer-urls": peerUrl(node.ip),
    name: member,
    "peer-cert-file": inNode("peerCert"),
    "peer-client-cert-auth": "true",
    "peer-key-file": inNode("peerKey"),
    "peer-trusted-ca-file": inNode("caCert"),
    "snapshot-count": "10000",
    "trusted-ca-file": inNode("caCert"),
    // Lab only: every member is on one machine, so elections can be quick (etcd's defaults are 1000/100 too, but
    // spelled out, as in the KubeKey layout's /etc/etcd.env).
    "election-timeout": "1000",
    "heartbeat-interval": "100",
  };
  const command = [
    "/usr/bin/etcd",
    ...Object.keys(args)
      .sort()
      .map((k) => `--${k}=${args[k] ?? ""}`),
  ];
  const probe = (path: string) => ({
    failureThreshold: 8,
    httpGet: { host: "127.0.0.1", path, port: 2381, scheme: "HTTP" },
    initialDelaySeconds: 10,
    periodSeconds: 10,
    timeoutSeconds: 15,
  });
  return stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      annotations: { "kubeadm.kubernetes.io/etcd.advertise-client-urls": clientUrl(node.ip) },
      labels: { component: "etcd", tier: "control-plane" },
      name: "etcd",
      namespace: "kube-system",
    },
    spec: {
      containers: [
        {
          command,
          image: "registry.k8s.io/etcd:3.5.15-0",
          imagePullPolicy: "IfNotPresent",
          livenessProbe: probe("/health?exclude=NOSPACE&serializable=true"),
          name: "etcd",
          resources: { requests: { cpu: "100m", memory: "100Mi" } },
          startupProbe: probe("/health?serializable=false"),
          volumeMounts: [
            { mountPath: "/var/lib/etcd", name: "etcd-data" },
            { mountPath: `${KUBEADM_PKI}/etcd`, name: "etcd-certs" },
          ],
        },
      ],
      hostNetwork: true,
      priority: 2000001000,
      priorityClassName: "system-node-critical",
      securityContext: { seccompProfile: { type: "RuntimeDefault" } },
      volumes: [
        { hostPath: { path: `${KUBEADM_PKI}/etcd`, type: "DirectoryOrCreate" }, name: "etcd-certs" },
        { hostPath: { path: "/var/lib/etcd", type: "DirectoryOrCreate" }, name: "etcd-data" },
      ],
    },
    status: {},
  });
}

/** The etcd container's state on a node, as the runtime reports it; or the process's, while the runtime is down. */
async function staticPodState(node: LabNode): Promise<string> {
  if (node.role !== "master") return "-";
  const r = await node.exec(["crictl", "ps", "-a", "-o", "json"]);
  if (r.code === 0) {
    const { containers } = JSON.parse(r.stdout) as { containers: Array<{ metadata: { name: string }; state: string }> };
    const etcd = containers.filter((c) => c.metadata.name === "etcd");
    if (etcd.some((c) => c.state === "CONTAINER_RUNNING")) return "pod running";
    return etcd.length > 0 ? "pod exited" : "no pod";
  }
  // The container outlives its runtime: say whether the process runs.
  const p = await node.exec(["pgrep", "-x", "etcd"]);
  return p.code === 0 ? "running (runtime down)" : "stopped (runtime down)";
}

/** kubeadm's layout: etcd as a static pod of the kubelet on every control-plane node. */
export const kubeadmLayout: EtcdLayout = {
  name: "kubeadm",
  describe:
    "etcd as a static pod (/etc/kubernetes/manifests/etcd.yaml, /etc/kubernetes/pki/etcd), as kubeadm lays it out",
  // kubeadm names a member after its node.
  memberName: (kubeName) => kubeName,
  stateDirs: [],
  hostLinks: [],
  // The kubelet starts etcd's container at boot; nothing in the boot waits for it.
  bootWaitsForQuorum: false,
  needsKube: true,
  makePki: (paths, plan) => makePki(paths.etcdPki, plan),
  nodeParts({ node, masters, paths }) {
    if (node.role !== "master") return Promise.resolve({});
    const file = (f: KubeadmFile): NodeFile => ({
      path: inNode(f),
      copyFrom: onHost(paths.etcdPki, f, node.name),
      mode: kubeadmEtcdFiles[f].endsWith(".key") ? 0o600 : 0o644,
    });
    return Promise.resolve({
      files: [
        ...(Object.keys(kubeadmEtcdFiles) as KubeadmFile[]).map(file),
        { path: ETCD_MANIFEST, content: etcdManifest(node, masters), mode: 0o600 },
      ],
    });
  },
  // kubeadm points each API server at its own member only (stacked etcd).
  apiserverClient: () => ({
    endpoints: [`https://127.0.0.1:${ETCD_CLIENT_PORT}`],
    caFile: inNode("caCert"),
    certFile: inNode("apiserverEtcdClientCert"),
    keyFile: inNode("apiserverEtcdClientKey"),
  }),
  hostClient(paths, plan) {
    const first = plan.find((n) => n.role === "master");
    if (!first) throw new Error("no master");
    return {
      caFile: onHost(paths.etcdPki, "caCert"),
      certFile: onHost(paths.etcdPki, "apiserverEtcdClientCert", first.name),
      keyFile: onHost(paths.etcdPki, "apiserverEtcdClientKey", first.name),
    };
  },
  // As kubeadm's own etcd client does it (etcdutil.NewFromCluster): the healthcheck client's certificate.
  etcdctlArgv: (args) => [
    "/usr/bin/etcdctl",
    `--endpoints=https://127.0.0.1:${ETCD_CLIENT_PORT}`,
    `--cacert=${inNode("caCert")}`,
    `--cert=${inNode("healthcheckClientCert")}`,
    `--key=${inNode("healthcheckClientKey")}`,
    ...args,
  ],
  etcdState: staticPodState,
  // The kubelet starts it: it does at boot when enabled (the link dangles on the host: lstat, not access).
  enabledAtBoot: (node) =>
    lstat(join(node.stateDir, "etc/systemd/system/multi-user.target.wants/kubelet.service")).then(
      () => true,
      () => false,
    ),
};
