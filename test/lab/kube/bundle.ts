// Bundles the stand-ins into single ESM files that plain `node` runs inside the lab nodes (no tsx, no node_modules
// there): esbuild compiles and bundles each entry, like scripts/bundle.mjs does for the shipped programs.
import { chmod } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** Output file (without .mjs) -> entry, relative to this directory. */
export const KUBE_BUNDLES = {
  "kube-apiserver": "apiserver/main.ts",
  "kube-controller-manager": "controller-manager/main.ts",
  "kube-scheduler": "scheduler/main.ts",
  kubelet: "kubelet/main.ts",
  containerd: "runtime/main.ts",
  // The same runtime as docker.service (the lab's docker is the containerd stand-in under docker's units).
  dockerd: "runtime/main.ts",
  "cri-dockerd": "cri-dockerd/main.ts",
  crictl: "crictl/main.ts",
} as const;

/** Writes outDir/<name>.mjs for every entry of {@link KUBE_BUNDLES}, executable, with a node shebang. */
export async function bundleKube(outDir: string): Promise<void> {
  const here = fileURLToPath(new URL(".", import.meta.url));
  await build({
    entryPoints: Object.fromEntries(Object.entries(KUBE_BUNDLES).map(([out, src]) => [out, `${here}${src}`])),
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    banner: {
      js: [
        "#!/usr/bin/env node",
        // Bundled CommonJS dependencies (yaml) still call require().
        'import { createRequire as __kcRequire } from "node:module"; const require = __kcRequire(import.meta.url);',
      ].join("\n"),
    },
  });
  await Promise.all(Object.keys(KUBE_BUNDLES).map((n) => chmod(`${outDir}/${n}.mjs`, 0o755)));
}
