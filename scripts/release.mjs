// `npm run release` (after `npm run build`): the release artifact in release/, the npm package of the bundles:
//   release/kubecycle-<version>.tgz   dist/bin/kubecycle.mjs, dist/bin/kubecycle-agent.mjs (self-contained: every
//                                     dependency and the gRPC contract inside), systemd/kubecycle-agent.service,
//                                     README.md, package.json; no dependencies to install
//   release/SHA256SUMS
// It refuses to write a package that holds anything else (tests, lab fixtures, sources, proto/) or misses a part.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = join(root, "release");

/** Exactly what the package holds: what runs, the unit it runs under, and the README that says how. */
const PACKAGE_FILES = [
  "README.md",
  "dist/bin/kubecycle-agent.mjs",
  "dist/bin/kubecycle.mjs",
  "package.json",
  "systemd/kubecycle-agent.service",
];

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
// --ignore-scripts: prepack would build again; `npm run release` has just built.
const [packed] = JSON.parse(
  execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", out], {
    cwd: root,
    encoding: "utf8",
  }),
);
const files = packed.files.map((f) => f.path).sort();
if (JSON.stringify(files) !== JSON.stringify(PACKAGE_FILES)) {
  throw new Error(`the package holds ${files.join(", ")}; expected exactly ${PACKAGE_FILES.join(", ")}`);
}
const tgz = join(out, packed.filename);
const sum = createHash("sha256")
  .update(await readFile(tgz))
  .digest("hex");
await writeFile(join(out, "SHA256SUMS"), `${sum}  ${basename(tgz)}\n`);
console.log(
  `${tgz}\n  ${(packed.size / 1024).toFixed(0)} kB packed, ${(packed.unpackedSize / 1024).toFixed(0)} kB unpacked`,
);
console.log(`  sha256 ${sum}`);
