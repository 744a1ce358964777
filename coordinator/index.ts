export { AgentConnection, type AgentEndpoint, type CallOptions } from "./agents/client.js";
export * from "./pki/index.js";
export { ServeConnection } from "./serve/client.js";
export type { ClusterApi, DrainOptions, EvictionResult, PodEvent, PodList, PodScope } from "./kube/index.js";
// The Kubernetes client, the drain (and the pod cache it waits on) and the lock as a procedure uses them, and the
// kubelet CSR decision, for tests of what they ask of a real API server (the lab's API simulator) or of the
// simulated one.
export { ClusterLock, connectCluster, drainNode, KubeCluster, PodCache, pendingKubeletCsrs } from "./kube/index.js";
// The CLI's entry, for tests and benchmarks that run it in-process (with a simulated API: CliIo.clusterApi).
export { main } from "./main.js";
// What `kubecycle doctor -o json` prints, for scripts and tests that read it.
export type { Evidence, Finding, Layer } from "./doctor/index.js";
// kubecycle serve in-process, for the fast tier's tests of its status page against a simulated cluster.
export { startServe, type RunningServe } from "./serve/daemon.js";
export { loadCoordinatorConfig, type CompiledCoordinatorConfig } from "./config.js";
