export * from "./cluster.js";
export * from "./nodes.js";
export * from "./drain.js";
export * from "./lock.js";
export * from "./quantity.js";
export * from "./watch.js";
export * from "./csr.js";
