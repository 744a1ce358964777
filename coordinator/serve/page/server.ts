import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import {
  TLS_SETTINGS,
  identityFromSubject,
  roleFromSubject,
  type CertSubject,
  type Logger,
  type TlsMaterial,
} from "../../../shared/index.js";
import { INDEX, type Asset } from "./assets.js";
import type { StatusFeed } from "./feed.js";
import { tokenKey, tokenKeyPath, verifyToken } from "./token.js";

/** The cookie a token link leaves in the browser. */
export const TOKEN_COOKIE = "kubecycle_page";
/** More open pages than this at once are refused (each holds a connection and a subscription). */
const MAX_STREAMS = 200;
/** A comment line this often keeps idle proxies and NATs from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

/** Who is looking at the page: a certificate with a role, or a token's holder. */
export type Viewer =
  | { via: "certificate"; name: string; role: "operator" | "viewer" }
  | { via: "token"; name: string; expiresUnixMs: number };

/** Why a request gets only the login hint. */
type Refusal = { why: string };

/** Options of {@link startPageServer}. */
export interface PageServerOptions {
  /** serve's certificate and key, and the cluster's CA: client certificates are checked against it. */
  tls: TlsMaterial;
  address: string;
  port: number;
  stateDir: string;
  feed: StatusFeed;
  /** Someone watches (a stream opened): the probes run while anyone does. Returns the release. */
  watch: () => () => void;
  log: Logger;
}

export interface PageServer {
  readonly port: number;
  /** Serves a reloaded identity from the next handshake on; connections made keep theirs. */
  updateTls(tls: TlsMaterial): void;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  // Every script and style is a file serve serves: nothing inline, nothing from elsewhere.
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** The page for a request without a certificate or token: how to get in, nothing of the cluster. */
export function loginHint(why: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>kubecycle: sign in</title></head>
<body>
<main id="login">
<h1>kubecycle status page: sign in</h1>
<p><strong>Not signed in:</strong> ${esc(why)}</p>
<p>This page shows a cluster's state only to its operators and viewers. Open it either</p>
<ul>
<li>with a client certificate of the cluster's kubecycle CA, role viewer or operator
(<code>kubecycle pki client NAME --role viewer</code>; import the <code>.crt</code> and <code>.key</code> into the browser), or</li>
<li>with the link that <code>kubecycle serve token</code> prints on the admin host (it expires).</li>
</ul>
</main>
</body></html>
`;
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The token key, read again when its file changes (`serve token --revoke` rotates it while serve runs). */
class KeyCache {
  readonly #stateDir: string;
  #print = "";
  #key: Buffer | undefined;

  constructor(stateDir: string) {
    this.#stateDir = stateDir;
  }

  async get(): Promise<Buffer> {
    const st = await stat(tokenKeyPath(this.#stateDir)).catch(() => undefined);
    const print = st ? `${st.ino}:${st.size}:${st.mtimeMs}` : "";
    if (!this.#key || print !== this.#print) {
      this.#key = await tokenKey(this.#stateDir);
      this.#print = print;
    }
    return this.#key;
  }
}

/** Who the request comes from, by its TLS client certificate or its token; or why it is nobody. */
export async function viewerOf(req: IncomingMessage, key: () => Promise<Buffer>): Promise<Viewer | Refusal> {
  const sock = req.socket as TLSSocket;
  const cert = sock.getPeerCertificate?.();
  const presented = cert !== undefined && cert !== null && Object.keys(cert).length > 0;
  if (presented && sock.authorized) {
    const subject = cert.subject as CertSubject | undefined;
    const role = roleFromSubject(subject);
    if (role) return { via: "certificate", name: identityFromSubject(subject), role };
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
  const token = bearer ?? cookie(req, TOKEN_COOKIE);
  if (token) {
    const claims = verifyToken(await key(), token);
    if (claims) return { via: "token", name: claims.name, expiresUnixMs: claims.expiresUnixMs };
    return { why: "the token is not valid, or it expired; ask for a new one (kubecycle serve token)" };
  }
  if (presented && !sock.authorized) {
    return { why: "the client certificate presented is not from this cluster's kubecycle CA" };
  }
  if (presented) {
    return { why: "the client certificate presented grants no role (it must be a viewer's or an operator's)" };
  }
  return { why: "no client certificate and no token" };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra = {}): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...SECURITY_HEADERS, ...extra });
  res.end(body);
}

/**
 * The status page's HTTPS server: `/` the page, `/assets/*` its files, `/events` the live frames as server-sent
 * events, `/api/state` one frame as JSON, `/login?token=` a token link. Every one of them needs a viewer's or
 * operator's certificate or a valid token; anything else gets the login hint and nothing of the cluster.
 */
export async function startPageServer(o: PageServerOptions, assets: ReadonlyMap<string, Asset>): Promise<PageServer> {
  const keys = new KeyCache(o.stateDir);
  await keys.get();
  const streams = new Set<ServerResponse>();
  const server: Server = createServer(
    {
      key: o.tls.key,
      cert: o.tls.cert,
      ca: o.tls.ca,
      // Asked for, not required: a browser without one gets the login hint, or comes in with a token.
      requestCert: true,
      rejectUnauthorized: false,
      ...TLS_SETTINGS,
    },
    (req, res) => {
      void handle(req, res).catch((err: unknown) => {
        o.log.error({ err, url: req.url }, "status page request failed");
        if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "internal error\n");
        else res.end();
      });
    },
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://page.invalid");
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "text/plain; charset=utf-8", "the status page is read-only\n", { allow: "GET, HEAD" });
      return;
    }
    if (url.pathname === "/login") {
      const token = url.searchParams.get("token") ?? "";
      const claims = verifyToken(await keys.get(), token);
      if (!claims) {
        send(res, 401, "text/html; charset=utf-8", loginHint("the link's token is not valid, or it expired"));
        return;
      }
      const maxAge = Math.max(1, Math.floor((claims.expiresUnixMs - Date.now()) / 1000));
      o.log.info({ token: claims.name, expires: new Date(claims.expiresUnixMs).toISOString() }, "page token used");
      // The token leaves the address bar (and the history) at once; the cookie goes back to this server only.
      send(res, 303, "text/plain; charset=utf-8", "", {
        location: "/",
        "set-cookie": `${TOKEN_COOKIE}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Strict`,
      });
      return;
    }
    const viewer = await viewerOf(req, () => keys.get());
    if ("why" in viewer) {
      send(res, 401, "text/html; charset=utf-8", loginHint(viewer.why));
      return;
    }
    if (url.pathname === "/" || url.pathname === `/${INDEX}`) return sendAsset(req, res, assets.get(INDEX));
    if (url.pathname.startsWith("/assets/")) return sendAsset(req, res, assets.get(url.pathname.slice(8)));
    if (url.pathname === "/api/state") {
      const { json } = await o.feed.current();
      send(res, 200, "application/json", `{"viewer":${JSON.stringify(viewer)},"state":${json}}\n`);
      return;
    }
    if (url.pathname === "/events") return stream(req, res, viewer);
    send(res, 404, "text/plain; charset=utf-8", "not found\n");
  }

  function sendAsset(req: IncomingMessage, res: ServerResponse, a: Asset | undefined): void {
    if (!a) {
      send(res, 404, "text/plain; charset=utf-8", "not found\n");
      return;
    }
    const headers = { "content-type": a.type, "cache-control": "no-cache", etag: a.etag, ...SECURITY_HEADERS };
    if (req.headers["if-none-match"] === a.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    res.writeHead(200, { ...headers, vary: "accept-encoding", ...(gzip ? { "content-encoding": "gzip" } : {}) });
    res.end(req.method === "HEAD" ? undefined : gzip ? a.gzip : a.body);
  }

  async function stream(req: IncomingMessage, res: ServerResponse, viewer: Viewer): Promise<void> {
    if (streams.size >= MAX_STREAMS) {
      send(res, 503, "text/plain; charset=utf-8", "too many open pages\n", { "retry-after": "10" });
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
      ...SECURITY_HEADERS,
    });
    streams.add(res);
    req.socket.setNoDelay(true);
    const release = o.watch();
    const write = (event: string, data: string) => res.write(`event: ${event}\ndata: ${data}\n\n`);
    res.write("retry: 3000\n\n");
    write("viewer", JSON.stringify(viewer));
    const unsubscribe = o.feed.subscribe((_frame, json) => write("state", json));
    const keepalive = setInterval(() => res.write(": keep-alive\n\n"), KEEPALIVE_MS);
    // A token's page goes dark when the token expires, as a new request with it would.
    const expiry =
      viewer.via === "token"
        ? setTimeout(
            () => {
              write("expired", "{}");
              res.end();
            },
            Math.max(0, viewer.expiresUnixMs - Date.now()),
          )
        : undefined;
    const done = () => {
      streams.delete(res);
      unsubscribe();
      release();
      clearInterval(keepalive);
      if (expiry) clearTimeout(expiry);
    };
    res.on("close", done);
    write("state", (await o.feed.current()).json);
    void o.feed.refresh();
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.address, () => {
      server.off("error", reject);
      const a = server.address();
      resolve(typeof a === "object" && a ? a.port : o.port);
    });
  });
  return {
    port,
    updateTls(tls) {
      server.setSecureContext({ key: tls.key, cert: tls.cert, ca: tls.ca, ...TLS_SETTINGS });
    },
    async close() {
      for (const r of streams) r.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
