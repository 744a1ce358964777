export * from "./errors.js";
export * from "./tls.js";
export * from "./units.js";
export * from "./operation-id.js";
export * from "./limits.js";
export * from "./config.js";
export * from "./log.js";
export * from "./proto/index.js";
