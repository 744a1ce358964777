// The status page's files: its own (client/) and the view library, vendored from node_modules (preact, its hooks,
// htm). serve serves every one itself: the page must work in a machine room with no route to a CDN. A release
// bundle carries them as a constant (scripts/bundle.mjs); from source or dist/ they are read from the checkout.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

declare const KUBECYCLE_PAGE_ASSETS: string | undefined;

/** URL path under /assets/ → where it comes from: the page's own folder, or a package's file. */
const SOURCES: Readonly<Record<string, { client: string } | { pkg: string; file: string }>> = {
  "app.js": { client: "app.js" },
  "style.css": { client: "style.css" },
  "preact.js": { pkg: "preact", file: "dist/preact.mjs" },
  "preact-hooks.js": { pkg: "preact", file: "hooks/dist/hooks.mjs" },
  "htm.js": { pkg: "htm", file: "dist/htm.mjs" },
};

/** The page itself, at /. */
export const INDEX = "index.html";

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  html: "text/html; charset=utf-8",
};

/** One file as served: its bytes, gzipped bytes, type and an ETag. */
export interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

function clientDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const d = join(dir, "coordinator", "serve", "page", "client");
    if (existsSync(join(d, INDEX))) return d;
  }
  throw new Error("the status page's files (coordinator/serve/page/client) are not in this checkout");
}

/** A package's folder: up from its entry point to its package.json (htm's exports do not list package.json). */
function packageDir(req: NodeJS.Require, pkg: string): string {
  for (let dir = dirname(req.resolve(pkg)); dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && dir.endsWith(`node_modules/${pkg}`)) return dir;
  }
  throw new Error(`cannot find the ${pkg} package`);
}

/** Every file's text by name, read from the checkout: what the release bundle embeds. */
export async function pageAssetSources(): Promise<Record<string, string>> {
  const dir = clientDir();
  const req = createRequire(import.meta.url);
  const out: Record<string, string> = { [INDEX]: await readFile(join(dir, INDEX), "utf8") };
  for (const [name, src] of Object.entries(SOURCES)) {
    const path = "client" in src ? join(dir, src.client) : join(packageDir(req, src.pkg), src.file);
    // Browsers resolve only relative or absolute module specifiers (an import map would need an inline script,
    // which the page's CSP forbids): the hooks' `from "preact"` becomes the file serve serves.
    out[name] = (await readFile(path, "utf8")).replace(/\bfrom\s*(["'])preact\1/g, 'from"./preact.js"');
  }
  return out;
}

/** The files ready to serve: embedded in a release bundle, else read from the checkout. */
export async function loadPageAssets(): Promise<ReadonlyMap<string, Asset>> {
  const sources =
    typeof KUBECYCLE_PAGE_ASSETS === "string"
      ? (JSON.parse(KUBECYCLE_PAGE_ASSETS) as Record<string, string>)
      : await pageAssetSources();
  const out = new Map<string, Asset>();
  for (const [name, text] of Object.entries(sources)) {
    const body = Buffer.from(text);
    out.set(name, {
      type: TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream",
      body,
      gzip: gzipSync(body, { level: 9 }),
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
    });
  }
  return out;
}
