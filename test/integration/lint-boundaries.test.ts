// The folder boundaries of CONVENTIONS.md, as the lint config enforces them: each case is linted as if it were a
// file in that folder, using the boundary rules taken from eslint.config.mjs itself.
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";
import config from "../../eslint.config.mjs";

const boundaryConfigs = config
  .filter((c) => c.rules && "no-restricted-imports" in c.rules)
  .map((c) => ({ files: c.files, rules: { "no-restricted-imports": c.rules?.["no-restricted-imports"] } }));

const eslint = new ESLint({
  cwd: new URL("../..", import.meta.url).pathname,
  overrideConfigFile: true,
  overrideConfig: [{ files: ["**/*.ts"], languageOptions: { parser: tseslint.parser } }, ...boundaryConfigs],
});

async function violations(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: file });
  return (result?.messages ?? []).map((m) => m.message);
}

describe("folder boundaries", () => {
  it.each([
    ["shared/x.ts", 'import { startAgent } from "../agent/index.js";', "must not depend on agent/"],
    ["shared/x.ts", 'import { main } from "../coordinator/index.js";', "must not depend on coordinator/"],
    ["agent/x.ts", 'import { main } from "../coordinator/index.js";', "must not depend on coordinator/"],
    ["coordinator/x.ts", 'import { startAgent } from "../agent/index.js";', "must not depend on agent/"],
    ["agent/systemd/x.ts", 'import { toGrpcStatus } from "../../shared/errors.js";', "through shared/index.js"],
    ["test/lab/x.ts", 'import { OpRecords } from "../../agent/op-records.js";', "through agent/index.js"],
    [
      "test/lab/x.ts",
      'import { FakeUnitManager } from "../../agent/testing/fake-manager.js";',
      "through agent/index.js",
    ],
    ["coordinator/x.ts", 'import { AgentConnection } from "../test/lab/agent.js";', "must not depend on test/"],
  ])("%s: %s is refused", async (file, source, why) => {
    const found = await violations(file, source);
    expect(found.join("\n")).toContain(why);
  });

  it.each([
    ["agent/x.ts", 'import { KubecycleError } from "../shared/index.js";'],
    ["coordinator/agents/x.ts", 'import { KubecycleError } from "../../shared/index.js";'],
    ["test/lab/x.ts", 'import { startAgent } from "../../agent/index.js";'],
    ["test/integration/x.ts", 'import { startTestAgent } from "../../agent/testing/index.js";'],
    ["agent/x.ts", 'import { UnitController } from "./units.js";'],
  ])("%s: %s is allowed", async (file, source) => {
    expect(await violations(file, source)).toEqual([]);
  });
});
