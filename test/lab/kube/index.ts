// The lab's Kubernetes side, as the lab infrastructure uses it. Stable API:
//   createKubePki(hostDir, masters)  -> CA, apiserver serving cert, admin + kubelet client certs; admin kubeconfig
//   bundleKube(outDir)               -> outDir/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,
//                                       containerd,crictl}.mjs, run with plain `node`
//   kubeUnitFiles(spec)              -> containerd.service, kubelet.service (enable both, on every node)
//   kubeNodeFiles(spec)              -> kubelet.conf, /usr/local/bin/crictl; on masters admin.conf and the static
//                                       pods of the control plane in /etc/kubernetes/manifests
//   seedWorkload(kubeconfigText)     -> Deployments/ReplicaSets, PDBs and a DaemonSet (see workload.ts)
// A node needs, per node and writable: /etc/kubernetes (with the PKI copied to spec.kubePkiDir, e.g.
// /etc/kubernetes/pki), /var/lib/containerd-lab (container logs), /usr/local/bin; /run (tmpfs) holds the runtime
// socket and state. See README.md in this directory for ports, auth and what differs from real Kubernetes.
export { bundleKube, KUBE_BUNDLES } from "./bundle.js";
export { createKubePki, PKI_FILES, type KubePki } from "./pki.js";
export { kubeNodeFiles, kubeUnitFiles, type KubeNodeSpec, type NodeFile } from "./units.js";
export { seedWorkload, SEEDED_APPS, SEEDED_DAEMONSET, SEEDED_NAMESPACE } from "./workload.js";
