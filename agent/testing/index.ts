// The in-process test tier's support, for tests outside agent/ too: a real agent on a free port with real mTLS
// certificates and a fake unit manager. Never shipped.
export { createTestPki, startTestAgent, type TestAgent, type TestAgentOptions, type TestPki } from "./harness.js";
export { FakeUnitManager } from "./fake-manager.js";
