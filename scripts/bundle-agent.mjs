// Bundles the built agent (dist/agent/main.js) into one minified file, dist/bin/kubecycle-agent.mjs, the agent's
// shipped entry point. One file instead of hundreds of modules, run with V8's lite mode (the agent waits on
// systemd, it never needs the optimizing compiler), keeps the idle agent well under 60 MB resident
// (bench/agent-footprint.mjs measures it).
import { chmod } from "node:fs/promises";
import { build } from "esbuild";

const outfile = new URL("../dist/bin/kubecycle-agent.mjs", import.meta.url).pathname;
await build({
  entryPoints: [new URL("../dist/agent/main.js", import.meta.url).pathname],
  outfile,
  bundle: true,
  minify: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  banner: {
    js: [
      "#!/usr/bin/env -S node --lite-mode --no-expose-wasm --max-semi-space-size=1",
      // Bundled CommonJS dependencies still call require().
      'import { createRequire as __kcRequire } from "node:module"; const require = __kcRequire(import.meta.url);',
    ].join("\n"),
  },
});
await chmod(outfile, 0o755);
