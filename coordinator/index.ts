export { AgentConnection, type AgentEndpoint, type CallOptions } from "./agents/client.js";
export * from "./pki/index.js";
export type { ClusterApi, DrainOptions, EvictionResult, PodEvent, PodList, PodScope } from "./kube/index.js";
export { drainNode, KubeCluster } from "./kube/index.js";
// The CLI's entry, for tests and benchmarks that run it in-process (with a simulated API: CliIo.clusterApi).
export { main } from "./main.js";
