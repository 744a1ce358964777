// Types for eslint.config.mjs, which test/integration/lint-boundaries.test.ts imports.
import type { Linter } from "eslint";

declare const config: Linter.Config[];
export default config;
