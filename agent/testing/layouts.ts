// Node layouts on disk for agent tests, shaped exactly as the tools write them: kubeadm v1.30's static pod manifests
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) and kubelet.conf, and KubeKey's /etc/etcd.env.
// Paths are rooted in a temp directory. Test support only; never shipped.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** kubeadm's etcd.yaml for a member at `ip`, certificates under `pki` (kubeadm's certificatesDir). */
export function kubeadmEtcdYaml(o: { name: string; ip: string; pki: string; dataDir?: string }): string {
  const dataDir = o.dataDir ?? "/var/lib/etcd";
  return `apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/etcd.advertise-client-urls: https://${o.ip}:2379
  creationTimestamp: null
  labels:
    component: etcd
    tier: control-plane
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://${o.ip}:2379
    - --cert-file=${o.pki}/etcd/server.crt
    - --client-cert-auth=true
    - --data-dir=${dataDir}
    - --experimental-initial-corrupt-check=true
    - --experimental-watch-progress-notify-interval=5s
    - --initial-advertise-peer-urls=https://${o.ip}:2380
    - --initial-cluster=${o.name}=https://${o.ip}:2380
    - --key-file=${o.pki}/etcd/server.key
    - --listen-client-urls=https://127.0.0.1:2379,https://${o.ip}:2379
    - --listen-metrics-urls=http://127.0.0.1:2381
    - --listen-peer-urls=https://${o.ip}:2380
    - --name=${o.name}
    - --peer-cert-file=${o.pki}/etcd/peer.crt
    - --peer-client-cert-auth=true
    - --peer-key-file=${o.pki}/etcd/peer.key
    - --peer-trusted-ca-file=${o.pki}/etcd/ca.crt
    - --snapshot-count=10000
    - --trusted-ca-file=${o.pki}/etcd/ca.crt
    image: registry.k8s.io/etcd:3.5.12-0
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: 127.0.0.1
        path: /health?exclude=NOSPACE&serializable=true
        port: 2381
        scheme: HTTP
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: etcd
    resources:
      requests:
        cpu: 100m
        memory: 100Mi
    startupProbe:
      failureThreshold: 24
      httpGet:
        host: 127.0.0.1
        path: /health?serializable=false
        port: 2381
        scheme: HTTP
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    volumeMounts:
    - mountPath: ${dataDir}
      name: etcd-data
    - mountPath: ${o.pki}/etcd
      name: etcd-certs
  hostNetwork: true
  priority: 2000001000
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: ${o.pki}/etcd
      type: DirectoryOrCreate
    name: etcd-certs
  - hostPath:
      path: ${dataDir}
      type: DirectoryOrCreate
    name: etcd-data
status: {}
`;
}

/** kubeadm's kube-apiserver.yaml. */
export function kubeadmApiserverYaml(o: {
  ip: string;
  pki: string;
  securePort?: number;
  bindAddress?: string;
}): string {
  const port = o.securePort ?? 6443;
  return `apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: ${o.ip}:${port}
  creationTimestamp: null
  labels:
    component: kube-apiserver
    tier: control-plane
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address=${o.ip}
    - --allow-privileged=true
    - --authorization-mode=Node,RBAC
${o.bindAddress ? `    - --bind-address=${o.bindAddress}\n` : ""}    - --client-ca-file=${o.pki}/ca.crt
    - --enable-admission-plugins=NodeRestriction
    - --enable-bootstrap-token-auth=true
    - --etcd-cafile=${o.pki}/etcd/ca.crt
    - --etcd-certfile=${o.pki}/apiserver-etcd-client.crt
    - --etcd-keyfile=${o.pki}/apiserver-etcd-client.key
    - --etcd-servers=https://127.0.0.1:2379
    - --kubelet-client-certificate=${o.pki}/apiserver-kubelet-client.crt
    - --kubelet-client-key=${o.pki}/apiserver-kubelet-client.key
    - --kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname
    - --proxy-client-cert-file=${o.pki}/front-proxy-client.crt
    - --proxy-client-key-file=${o.pki}/front-proxy-client.key
    - --requestheader-allowed-names=front-proxy-client
    - --requestheader-client-ca-file=${o.pki}/front-proxy-ca.crt
    - --requestheader-extra-headers-prefix=X-Remote-Extra-
    - --requestheader-group-headers=X-Remote-Group
    - --requestheader-username-headers=X-Remote-User
    - --secure-port=${port}
    - --service-account-issuer=https://kubernetes.default.svc.cluster.local
    - --service-account-key-file=${o.pki}/sa.pub
    - --service-account-signing-key-file=${o.pki}/sa.key
    - --service-cluster-ip-range=10.96.0.0/12
    - --tls-cert-file=${o.pki}/apiserver.crt
    - --tls-private-key-file=${o.pki}/apiserver.key
    image: registry.k8s.io/kube-apiserver:v1.30.2
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: ${o.ip}
        path: /livez
        port: ${port}
        scheme: HTTPS
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: kube-apiserver
    readinessProbe:
      failureThreshold: 3
      httpGet:
        host: ${o.ip}
        path: /readyz
        port: ${port}
        scheme: HTTPS
      periodSeconds: 1
      timeoutSeconds: 15
    resources:
      requests:
        cpu: 250m
    volumeMounts:
    - mountPath: /etc/ssl/certs
      name: ca-certs
      readOnly: true
    - mountPath: ${o.pki}
      name: k8s-certs
      readOnly: true
  hostNetwork: true
  priority: 2000001000
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/ssl/certs
      type: DirectoryOrCreate
    name: ca-certs
  - hostPath:
      path: ${o.pki}
      type: DirectoryOrCreate
    name: k8s-certs
status: {}
`;
}

/** kubeadm's kube-scheduler.yaml or kube-controller-manager.yaml: bound to 127.0.0.1, as kubeadm does. */
export function kubeadmComponentYaml(
  component: "kube-scheduler" | "kube-controller-manager",
  o: { securePort?: number; bindAddress?: string },
): string {
  const flags =
    component === "kube-scheduler"
      ? ["--authentication-kubeconfig=/etc/kubernetes/scheduler.conf", "--kubeconfig=/etc/kubernetes/scheduler.conf"]
      : [
          "--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf",
          "--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt",
          "--kubeconfig=/etc/kubernetes/controller-manager.conf",
          "--use-service-account-credentials=true",
        ];
  const port = o.securePort ?? (component === "kube-scheduler" ? 10259 : 10257);
  return `apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: null
  labels:
    component: ${component}
    tier: control-plane
  name: ${component}
  namespace: kube-system
spec:
  containers:
  - command:
    - ${component}
${flags.map((f) => `    - ${f}\n`).join("")}    - --bind-address=${o.bindAddress ?? "127.0.0.1"}
    - --leader-elect=true
${o.securePort ? `    - --secure-port=${o.securePort}\n` : ""}    image: registry.k8s.io/${component}:v1.30.2
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: 127.0.0.1
        path: /healthz
        port: ${port}
        scheme: HTTPS
    name: ${component}
  hostNetwork: true
  priorityClassName: system-node-critical
status: {}
`;
}

/** kubeadm's kubelet.conf after TLS bootstrap: the rotating client certificate by path. */
export function kubeletConf(o: { server: string; clientCert: string; caData?: string }): string {
  return `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${o.caData ?? "LS0tLS1CRUdJTi0tLS0t"}
    server: ${o.server}
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: system:node:master-1
  name: system:node:master-1@kubernetes
current-context: system:node:master-1@kubernetes
kind: Config
preferences: {}
users:
- name: system:node:master-1
  user:
    client-certificate: ${o.clientCert}
    client-key: ${o.clientCert}
`;
}

/** KubeKey's /etc/etcd.env for a member at `ip`, certificates in `ssl` (its /etc/ssl/etcd/ssl). */
export function kubekeyEtcdEnv(o: { name: string; ip: string; ssl: string; node: string }): string {
  return `# Environment file for etcd v3.5.6
ETCD_DATA_DIR=/var/lib/etcd
ETCD_ADVERTISE_CLIENT_URLS=https://${o.ip}:2379
ETCD_INITIAL_ADVERTISE_PEER_URLS=https://${o.ip}:2380
ETCD_INITIAL_CLUSTER_STATE=existing
ETCD_METRICS=basic
ETCD_LISTEN_CLIENT_URLS=https://${o.ip}:2379,https://127.0.0.1:2379
ETCD_ELECTION_TIMEOUT=5000
ETCD_HEARTBEAT_INTERVAL=250
ETCD_INITIAL_CLUSTER_TOKEN=k8s_etcd
ETCD_LISTEN_PEER_URLS=https://${o.ip}:2380
ETCD_NAME=${o.name}
ETCD_PROXY=off
ETCD_ENABLE_V2=true
ETCD_INITIAL_CLUSTER=${o.name}=https://${o.ip}:2380
ETCD_AUTO_COMPACTION_RETENTION=8
ETCD_SNAPSHOT_COUNT=10000

# TLS settings
ETCD_TRUSTED_CA_FILE=${o.ssl}/ca.pem
ETCD_CERT_FILE=${o.ssl}/member-${o.node}.pem
ETCD_KEY_FILE=${o.ssl}/member-${o.node}-key.pem
ETCD_CLIENT_CERT_AUTH=true

ETCD_PEER_TRUSTED_CA_FILE=${o.ssl}/ca.pem
ETCD_PEER_CERT_FILE=${o.ssl}/member-${o.node}.pem
ETCD_PEER_KEY_FILE=${o.ssl}/member-${o.node}-key.pem
ETCD_PEER_CLIENT_CERT_AUTH=True

# CLI settings
ETCDCTL_ENDPOINTS=https://127.0.0.1:2379
ETCDCTL_CACERT=${o.ssl}/ca.pem
ETCDCTL_KEY=${o.ssl}/admin-${o.node}-key.pem
ETCDCTL_CERT=${o.ssl}/admin-${o.node}.pem
`;
}

/** Writes `files` (path relative to `root` -> content), creating directories. */
export async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel);
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, content);
  }
}
