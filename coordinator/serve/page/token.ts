// The status page's short-lived tokens, for a browser without a client certificate (a phone, a shared screen):
// `kubecycle serve token` signs one with a key kept in serve's state directory, and serve checks it with the same
// key. Whoever may read that directory may already read everything the page shows (the journals, the reports), so
// the key grants nothing new; rotating it (`serve token --revoke`) voids every token at once.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { link, mkdir, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { KubecycleError, writeFileDurably } from "../../../shared/index.js";

/** The key's file under the state directory. */
export function tokenKeyPath(stateDir: string): string {
  return join(stateDir, "serve", "page-token.key");
}

/** The longest a token may live: it is a bearer credential on a screen others see. */
export const MAX_TOKEN_TTL_MS = 24 * 3600_000;
/** Default lifetime of `kubecycle serve token`. */
export const DEFAULT_TOKEN_TTL_MS = 3600_000;

const PREFIX = "kct1";
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** What a valid token says. */
export interface TokenClaims {
  /** Who it was made for (shown on the page and in serve's log). */
  name: string;
  expiresUnixMs: number;
}

/** Reads the key, making one (32 random bytes, mode 0600) when there is none. Two makers at once agree on one. */
export async function tokenKey(stateDir: string): Promise<Buffer> {
  const path = tokenKeyPath(stateDir);
  try {
    return await readKey(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Written whole beside it, then hard-linked in (which fails if a key is there): another process making one at
  // the same moment wins or loses whole, and both read the same key.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await writeFileDurably(tmp, `${randomBytes(32).toString("hex")}\n`);
  try {
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    await rm(tmp, { force: true });
  }
  return readKey(path);
}

/** Replaces the key: every token made before no longer opens the page. */
export async function rotateTokenKey(stateDir: string): Promise<void> {
  const path = tokenKeyPath(stateDir);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileDurably(`${path}.new`, `${randomBytes(32).toString("hex")}\n`);
  await rename(`${path}.new`, path);
}

async function readKey(path: string): Promise<Buffer> {
  const hex = (await readFile(path, "utf8")).trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new KubecycleError("CONFIG_INVALID", `${path} is not a page token key (64 hex digits)`, {
      path,
      hint: "rotate it with `kubecycle serve token --revoke`",
    });
  }
  return Buffer.from(hex, "hex");
}

function mac(key: Buffer, body: string): string {
  return createHmac("sha256", key).update(body).digest("base64url");
}

/** A token for `name`, valid for `ttlMs` from `now`: `kct1.<name>.<expiry>.<mac>`. */
export function signToken(key: Buffer, name: string, ttlMs: number, now = Date.now()): string {
  if (!NAME.test(name)) {
    throw new KubecycleError("INVALID_REQUEST", `token name "${name}" must be 1-64 letters, digits or ._@-`, {
      field: "name",
    });
  }
  if (!(ttlMs > 0 && ttlMs <= MAX_TOKEN_TTL_MS)) {
    throw new KubecycleError("INVALID_REQUEST", `a page token lives more than 0 and at most 24h, not ${ttlMs} ms`, {
      field: "ttl",
    });
  }
  const body = `${PREFIX}.${name}.${Math.floor((now + ttlMs) / 1000)}`;
  return `${body}.${mac(key, body)}`;
}

/** The claims of `token` when `key` signed it and it has not expired; undefined otherwise (never says why). */
export function verifyToken(key: Buffer, token: string, now = Date.now()): TokenClaims | undefined {
  if (token.length > 256) return undefined;
  const parts = token.split(".");
  if (parts.length !== 4) return undefined;
  const [prefix, name = "", expiry = "", sig = ""] = parts;
  if (prefix !== PREFIX || !NAME.test(name) || !/^[0-9]{1,12}$/.test(expiry)) return undefined;
  const want = Buffer.from(mac(key, `${prefix}.${name}.${expiry}`));
  const got = Buffer.from(sig);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  const expiresUnixMs = Number(expiry) * 1000;
  // A token that outlives the longest lifetime was not made by `serve token`: refuse it even if signed.
  if (expiresUnixMs <= now || expiresUnixMs > now + MAX_TOKEN_TTL_MS + 1000) return undefined;
  return { name, expiresUnixMs };
}
