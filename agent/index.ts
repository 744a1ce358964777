export { startAgent, AGENT_VERSION, type RunningAgent } from "./agent.js";
export { compileAgentConfig, loadAgentConfig, type CompiledAgentConfig } from "./config.js";
export type { UnitManager, UnitState } from "./systemd/unit-manager.js";
export { SystemctlUnitManager } from "./systemd/systemctl.js";
