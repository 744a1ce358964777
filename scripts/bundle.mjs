// Bundles the built programs into one file each in dist/bin/, their shipped entry points, self-contained: every
// dependency, the gRPC contract (proto/, as protobuf.js JSON), the agent's unit file, the status page's files and the
// version are inside, so an installed bundle needs nothing of the checkout (no node_modules, no proto/).
// - kubecycle-agent.mjs (from dist/agent/main.js), minified and run with V8's lite mode: the agent waits on systemd
//   and never needs the optimizing compiler; one file instead of hundreds of modules keeps the idle agent well under
//   60 MB resident (bench/agent-footprint.mjs measures it).
// - kubecycle.mjs (from dist/coordinator/main.js): one file loads in about a third of the time hundreds of modules
//   take (mostly @kubernetes/client-node's), so every command answers sooner. Names are kept for readable stack traces.
import { chmod, readFile } from "node:fs/promises";
import { build } from "esbuild";
import { protoJson } from "../dist/shared/index.js";
import { pageAssetSources } from "../dist/coordinator/serve/page/assets.js";

// Bundled CommonJS dependencies still call require().
const REQUIRE =
  'import { createRequire as __kcRequire } from "node:module"; const require = __kcRequire(import.meta.url);';
const path = (rel) => new URL(rel, import.meta.url).pathname;

const pkg = JSON.parse(await readFile(path("../package.json"), "utf8"));
// What shared/proto, shared/version and agent/install read from disk when run from source, put in as constants.
const define = {
  KUBECYCLE_PROTO_JSON: JSON.stringify(JSON.stringify(protoJson())),
  KUBECYCLE_VERSION_DEFINE: JSON.stringify(pkg.version),
  KUBECYCLE_AGENT_UNIT: JSON.stringify(await readFile(path("../systemd/kubecycle-agent.service"), "utf8")),
  // The status page's files and its view library (preact, htm), which `kubecycle serve` serves itself.
  KUBECYCLE_PAGE_ASSETS: JSON.stringify(JSON.stringify(await pageAssetSources())),
};

/**
 * node-fetch 2 (under @kubernetes/client-node) imports whatwg-url but takes Node's own URL whenever there is one
 * (`Url.URL || whatwgUrl.URL`), which Node 20 always has. Left in, it is 290 KB of the CLI, tr46's Unicode table
 * among them, parsed and evaluated on every start for nothing; it is bundled as Node's URL instead.
 */
const nodeUrlForWhatwgUrl = {
  name: "node-url-for-whatwg-url",
  setup(b) {
    b.onResolve({ filter: /^whatwg-url$/ }, () => ({ path: "whatwg-url", namespace: "node-url" }));
    b.onLoad({ filter: /.*/, namespace: "node-url" }, () => ({
      contents: 'import { URL, URLSearchParams } from "node:url"; export default { URL, URLSearchParams };',
      loader: "js",
    }));
  },
};

const programs = [
  {
    name: "kubecycle-agent",
    entry: "../dist/agent/main.js",
    outfile: "../dist/bin/kubecycle-agent.mjs",
    shebang: "#!/usr/bin/env -S node --lite-mode --no-expose-wasm --max-semi-space-size=1",
    minify: { minify: true },
  },
  {
    name: "kubecycle",
    entry: "../dist/coordinator/main.js",
    outfile: "../dist/bin/kubecycle.mjs",
    // coordinator/main.ts starts with its own #!/usr/bin/env node, which esbuild keeps.
    shebang: null,
    minify: { minifyWhitespace: true, minifySyntax: true },
    plugins: [nodeUrlForWhatwgUrl],
  },
];

await Promise.all(
  programs.map(async (p) => {
    await build({
      entryPoints: [path(p.entry)],
      outfile: path(p.outfile),
      bundle: true,
      ...p.minify,
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "warning",
      define,
      plugins: p.plugins ?? [],
      banner: { js: [p.shebang, REQUIRE].filter(Boolean).join("\n") },
    });
    await chmod(path(p.outfile), 0o755);
  }),
);
