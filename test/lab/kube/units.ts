// What a lab node needs on disk to run the Kubernetes stand-ins the way a KubeKey/kubeadm node runs the real ones:
// containerd.service and kubelet.service, and on masters the control plane as static pods
// (/etc/kubernetes/manifests/kube-{apiserver,controller-manager,scheduler}.yaml) that the kubelet starts through the
// runtime. So, as on a real node, stopping kubelet or containerd leaves the control plane running, stopping the
// pod sandboxes (crictl stopp) ends it, and after a boot it only comes back once kubelet runs again.
import { stringify } from "yaml";
import { KUBELET_STORE_FILES, PKI_FILES } from "./pki.js";
import { RUNTIMES, type RuntimeKind } from "./runtimes.js";

/** One lab node, as the lab infrastructure describes it. All paths are as seen inside the node. */
export interface KubeNodeSpec {
  name: string;
  role: "master" | "worker";
  ip: string;
  masters: Array<{ name: string; ip: string }>;
  /** etcd client access (the KubeKey layout: /etc/ssl/etcd/ssl/...). */
  etcd: { endpoints: string[]; caFile: string; certFile: string; keyFile: string };
  /** Directory holding the files createKubePki made (see PKI_FILES), e.g. /etc/kubernetes/pki. */
  kubePkiDir: string;
  /** Directory holding bundleKube()'s output. */
  binDir: string;
  /** NotReady after this long without heartbeat. Default 6. */
  nodeGraceSeconds?: number;
  /** Node capacity (= allocatable). Default cpu "2", memory "4Gi". */
  capacity?: { cpu: string; memory: string };
  /** The container runtime (see runtimes.ts). Default containerd. */
  runtime?: RuntimeKind;
  /**
   * RBAC objects (YAML) the API servers authorize by (written to /etc/kubernetes/authorization-policy.yaml), and
   * the in-node path of their audit log (see apiserver/authz.ts). Without it every user may do anything.
   */
  authorization?: { policy: string; auditLog: string };
}

const AUTHORIZATION_POLICY = "/etc/kubernetes/authorization-policy.yaml";

const NODE = "/usr/bin/node";

/**
 * Unit name -> unit file. Every unit returned is to be enabled ([Install] WantedBy=).
 * kubelet.service is ordered after the runtime's services but does not Require/BindTo them: like the real units,
 * stopping the runtime leaves kubelet running (it then reports the node NotReady: "container runtime is down").
 */
export function kubeUnitFiles(spec: KubeNodeSpec): Record<string, string> {
  const runtime = RUNTIMES[spec.runtime ?? "containerd"];
  const apiServers = spec.masters.map((m) => `https://${m.ip}:6443`).join(",");
  const labels =
    spec.role === "master"
      ? "node-role.kubernetes.io/control-plane=,node-role.kubernetes.io/master="
      : "node-role.kubernetes.io/worker=";
  const kubeletArgs = [
    "--kubeconfig=/etc/kubernetes/kubelet.conf",
    // The kubelet's certificate store (kubeadm's is /var/lib/kubelet/pki, not per node in the lab); both of its
    // certificates are rotated through CSRs, as kubeadm's kubelets do (serverTLSBootstrap for the serving one).
    `--cert-dir=${spec.kubePkiDir}`,
    "--rotate-certificates=true",
    "--rotate-server-certificates=true",
    // As kubeadm's kubelet drop-in passes it; kubeadm deletes the file once the node joined, and so does the lab.
    "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf",
    `--hostname-override=${spec.name}`,
    `--node-ip=${spec.ip}`,
    `--node-labels=${labels}`,
    ...(spec.role === "master" ? ["--register-with-taints=node-role.kubernetes.io/control-plane:NoSchedule"] : []),
    "--pod-manifest-path=/etc/kubernetes/manifests",
    `--container-runtime-endpoint=${runtime.criEndpoint}`,
    `--lab-api-servers=${apiServers}`,
    `--lab-cpu=${spec.capacity?.cpu ?? "2"}`,
    `--lab-memory=${spec.capacity?.memory ?? "4Gi"}`,
  ];
  return {
    ...runtime.unitFiles(NODE, spec.binDir),
    "kubelet.service": `# kubelet stand-in (kubecycle lab), shaped like kubeadm's kubelet.service.
[Unit]
Description=kubelet: The Kubernetes Node Agent (kubecycle lab stand-in)
After=network-online.target ${runtime.services.join(" ")}

[Service]
ExecStart=${NODE} ${spec.binDir}/kubelet.mjs ${kubeletArgs.join(" ")}
Restart=always
StartLimitInterval=0
RestartSec=2

[Install]
WantedBy=multi-user.target
`,
  };
}

/** A file to create in the node before it boots. */
export interface NodeFile {
  path: string;
  content: string;
  mode: number;
}

function kubeconfigWithFiles(server: string, caFile: string, certFile: string, keyFile: string, user: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "lab", cluster: { server, "certificate-authority": caFile } }],
    users: [{ name: user, user: { "client-certificate": certFile, "client-key": keyFile } }],
    contexts: [{ name: `${user}@lab`, context: { cluster: "lab", user } }],
    "current-context": `${user}@lab`,
  });
}

function staticPod(
  name: string,
  component: string,
  image: string,
  command: string[],
  port: number | undefined,
): string {
  return stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "kube-system", labels: { component, tier: "control-plane" } },
    spec: {
      hostNetwork: true,
      priorityClassName: "system-node-critical",
      containers: [
        {
          name,
          image,
          command,
          resources: { requests: { cpu: name === "kube-apiserver" ? "250m" : "100m" } },
          ...(port
            ? { livenessProbe: { httpGet: { host: "127.0.0.1", path: "/healthz", port, scheme: "HTTPS" } } }
            : {}),
        },
      ],
      tolerations: [{ operator: "Exists", effect: "NoExecute" }],
    },
  });
}

/**
 * Files to create in the node before boot: the kubelet's kubeconfig, the crictl launcher on PATH, and on masters
 * admin.conf and the control plane's static pod manifests.
 */
export function kubeNodeFiles(spec: KubeNodeSpec): NodeFile[] {
  const pki = (f: keyof typeof PKI_FILES): string => `${spec.kubePkiDir}/${PKI_FILES[f]}`;
  const ownServer =
    spec.role === "master" ? `https://${spec.ip}:6443` : `https://${spec.masters[0]?.ip ?? spec.ip}:6443`;
  const files: NodeFile[] = [
    {
      // This node's runtime endpoint, as /etc/crictl.yaml gives it on a real node (a docker node's crictl talks to
      // cri-dockerd); $CONTAINER_RUNTIME_ENDPOINT and --runtime-endpoint still win, as with the real crictl.
      path: "/usr/local/bin/crictl",
      content: `#!/bin/sh\nexport CONTAINER_RUNTIME_ENDPOINT="\${CONTAINER_RUNTIME_ENDPOINT:-${RUNTIMES[spec.runtime ?? "containerd"].criEndpoint}}"\nexec ${NODE} ${spec.binDir}/crictl.mjs "$@"\n`,
      mode: 0o755,
    },
    {
      path: "/etc/kubernetes/kubelet.conf",
      // As kubeadm leaves it after TLS bootstrap: the certificate store's current client certificate, key included.
      content: kubeconfigWithFiles(
        ownServer,
        pki("caCert"),
        `${spec.kubePkiDir}/${KUBELET_STORE_FILES.client}`,
        `${spec.kubePkiDir}/${KUBELET_STORE_FILES.client}`,
        `system:node:${spec.name}`,
      ),
      mode: 0o600,
    },
  ];
  if (spec.role !== "master") return files;
  const etcdFlags = [
    `--etcd-servers=${spec.etcd.endpoints.join(",")}`,
    `--etcd-cafile=${spec.etcd.caFile}`,
    `--etcd-certfile=${spec.etcd.certFile}`,
    `--etcd-keyfile=${spec.etcd.keyFile}`,
  ];
  const tls = [`--tls-cert-file=${pki("apiserverCert")}`, `--tls-private-key-file=${pki("apiserverKey")}`];
  const grace = spec.nodeGraceSeconds ?? 6;
  files.push(
    ...(spec.authorization ? [{ path: AUTHORIZATION_POLICY, content: spec.authorization.policy, mode: 0o644 }] : []),
    {
      path: "/etc/kubernetes/admin.conf",
      content: kubeconfigWithFiles(ownServer, pki("caCert"), pki("adminCert"), pki("adminKey"), "kubernetes-admin"),
      mode: 0o600,
    },
    {
      path: "/etc/kubernetes/manifests/kube-apiserver.yaml",
      content: staticPod(
        "kube-apiserver",
        "kube-apiserver",
        "registry.k8s.io/kube-apiserver:v1.28.15",
        [
          NODE,
          `${spec.binDir}/kube-apiserver.mjs`,
          `--advertise-address=${spec.ip}`,
          "--bind-address=0.0.0.0",
          "--secure-port=6443",
          ...tls,
          `--client-ca-file=${pki("caCert")}`,
          ...etcdFlags,
          ...(spec.authorization
            ? [`--authorization-policy-file=${AUTHORIZATION_POLICY}`, `--audit-log-path=${spec.authorization.auditLog}`]
            : []),
        ],
        6443,
      ),
      mode: 0o600,
    },
    {
      path: "/etc/kubernetes/manifests/kube-controller-manager.yaml",
      content: staticPod(
        "kube-controller-manager",
        "kube-controller-manager",
        "registry.k8s.io/kube-controller-manager:v1.28.15",
        [
          NODE,
          `${spec.binDir}/kube-controller-manager.mjs`,
          // As kubeadm (and the CIS benchmark) have it: the health port answers on the node only.
          "--bind-address=127.0.0.1",
          "--secure-port=10257",
          ...tls,
          ...etcdFlags,
          `--node-monitor-grace-period=${grace}s`,
          // The csrsigning controller signs approved kubelet CSRs with the cluster CA, as kubeadm configures it.
          `--cluster-signing-cert-file=${pki("caCert")}`,
          `--cluster-signing-key-file=${pki("caKey")}`,
          `--identity=${spec.name}`,
        ],
        10257,
      ),
      mode: 0o600,
    },
    {
      path: "/etc/kubernetes/manifests/kube-scheduler.yaml",
      content: staticPod(
        "kube-scheduler",
        "kube-scheduler",
        "registry.k8s.io/kube-scheduler:v1.28.15",
        [
          NODE,
          `${spec.binDir}/kube-scheduler.mjs`,
          "--bind-address=127.0.0.1",
          "--secure-port=10259",
          ...tls,
          ...etcdFlags,
          `--identity=${spec.name}`,
        ],
        10259,
      ),
      mode: 0o600,
    },
  );
  return files;
}
