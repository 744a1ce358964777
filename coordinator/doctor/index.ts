export * from "./evidence.js";
export { gatherEvidence, podEvidence, type GatherDeps } from "./gather.js";
export * from "./findings.js";
export { renderFindings } from "./render.js";
