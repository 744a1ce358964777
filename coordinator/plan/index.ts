export * from "./types.js";
export * from "./node.js";
export * from "./cluster.js";
export * from "./etcd.js";
export { renderPlan } from "./render.js";
export { runtimeStartOrder, runtimeStopOrder } from "./runtime.js";
