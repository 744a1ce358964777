// Lint keeps the architecture visible: shared/ depends on nothing of ours, agent/ and coordinator/ never import
// each other, and other folders are only entered through their index.ts.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

const deepShared = { regex: "^(\\.\\./)+shared/(?!index\\.js$)", message: "import shared/ through shared/index.js" };
// agent/testing/ is the in-process tier's support (a real agent on a free port, a fake unit manager): tests elsewhere
// may start one through its own index.
const deepAgent = {
  regex: "^(\\.\\./)+agent/(?!index\\.js$|testing/index\\.js$)",
  message: "import agent/ through agent/index.js (or agent/testing/index.js, in tests)",
};
const deepCoordinator = {
  regex: "^(\\.\\./)+coordinator/(?!index\\.js$)",
  message: "import coordinator/ through coordinator/index.js",
};
const into = (folder) => ({
  regex: `^(\\.\\./)+${folder}(/|$)`,
  message: `this folder must not depend on ${folder}/ (see CONVENTIONS.md)`,
});

export default tseslint.config(
  {
    ignores: [
      "dist/",
      "node_modules/",
      ".lab/",
      "release/",
      ".kc-it-install-*/",
      "shared/proto/generated/",
      "coverage/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "import-x": importX },
    settings: { "import-x/resolver-next": [createTypeScriptImportResolver()] },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "import-x/no-cycle": "error",
      "no-console": "error",
    },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
  {
    // The status page's own files run in the browser, as served (no build step).
    files: ["coordinator/serve/page/client/**/*.js"],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ["shared/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [into("agent"), into("coordinator"), into("test")] }] },
  },
  {
    files: ["agent/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [into("coordinator"), into("test"), deepShared] }] },
  },
  {
    files: ["coordinator/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [into("agent"), into("test"), deepShared] }] },
  },
  {
    files: ["test/**/*.ts", "bench/**/*"],
    rules: { "no-restricted-imports": ["error", { patterns: [deepShared, deepAgent, deepCoordinator] }] },
  },
  {
    // Tests and benchmarks report to the terminal; the CLI's entry writes its own output streams.
    files: ["test/**/*.ts", "bench/**/*", "scripts/**/*", "**/*.test.ts"],
    rules: { "no-console": "off" },
  },
  {
    // vitest's asymmetric matchers (expect.any, expect.stringMatching) are typed any.
    files: ["**/*.test.ts"],
    rules: { "@typescript-eslint/no-unsafe-assignment": "off" },
  },
);
