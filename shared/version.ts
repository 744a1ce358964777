import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Replaced by scripts/bundle.mjs (esbuild's define) with package.json's version; absent in source and dist/.
declare const KUBECYCLE_VERSION_DEFINE: string | undefined;

/** kubecycle's version (package.json's), the same for the CLI and the agent: a release ships them together. */
export const VERSION: string =
  typeof KUBECYCLE_VERSION_DEFINE === "string" ? KUBECYCLE_VERSION_DEFINE : packageVersion();

/** From source or dist/: the version in the nearest package.json above this module, which is the repo's. */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  }
  return "0.0.0-unknown";
}
