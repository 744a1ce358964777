// Runs a TypeScript entry point of the lab (a test fixture, never shipped) without a TypeScript runtime: bundles it
// with esbuild, as scripts/bundle.mjs bundles the shipped programs, and calls its exported main(argv).
//
// usage: node test/lab/run.mjs ENTRY.ts [ARGS...]     (npm run lab / npm run demo)
//
// node_modules stay external (resolved from the repo's node_modules at run time). Each source file's
// import.meta.url is pinned to its own location, so paths the lab finds next to its sources (systemd-node-init.sh,
// the repo root, proto/) resolve as they do under vitest, wherever the bundle is written.
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

process.setSourceMapsEnabled(true);
const [entryArg, ...args] = process.argv.slice(2);
if (entryArg === undefined) {
  process.stderr.write("usage: node test/lab/run.mjs ENTRY.ts [ARGS...]\n");
  process.exit(2);
}
const entry = resolve(entryArg);
const cacheDir = fileURLToPath(new URL("../../node_modules/.cache/kubecycle-lab/", import.meta.url));
// One file per run: two lab commands at once must not import each other's half-written bundle.
const outfile = join(cacheDir, `${basename(entry, ".ts")}.${process.pid}.mjs`);

/** @type {import("esbuild").Plugin} */
const pinImportMetaUrl = {
  name: "pin-import-meta-url",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
      const source = await readFile(path, "utf8");
      return { contents: source.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(path).href)), loader: "ts" };
    });
    // The kube stand-ins are optional until they land (test/lab/kube-plug.ts checks for them before importing).
    b.onResolve({ filter: /^\.\/kube\/index\.js$/ }, ({ path, resolveDir }) =>
      existsSync(join(resolveDir, "kube", "index.ts")) ? undefined : { path, external: true },
    );
  },
};

let build;
try {
  ({ build } = await import("esbuild"));
} catch {
  process.stderr.write("error: the dev dependencies are not installed: run `npm ci` first\n");
  process.exit(1);
}
await mkdir(cacheDir, { recursive: true });
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: "inline",
  logLevel: "warning",
  plugins: [pinImportMetaUrl],
});
let main;
try {
  ({ main } = await import(pathToFileURL(outfile).href));
} finally {
  await rm(outfile, { force: true });
}
if (typeof main !== "function") {
  process.stderr.write(`${entryArg} does not export main(argv)\n`);
  process.exit(2);
}
process.exitCode = await main(args);
