export { AgentConnection, type AgentEndpoint, type CallOptions } from "./agents/client.js";
export * from "./pki/index.js";
export { ServeConnection } from "./serve/client.js";
