export * from "./client.js";
export * from "./pool.js";
