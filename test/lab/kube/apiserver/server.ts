// The REST front of the API simulator: routing of /api and /apis paths to the generic verbs (get, list, watch,
// create, update, patch, delete) of every served resource, the pods/eviction and pods/binding subresources,
// discovery, /version and the health endpoints. Authentication is the real apiserver's x509 client-certificate
// mode: a request's TLS client certificate must chain to --client-ca-file; only /healthz, /livez, /readyz and
// /version answer anonymous requests (as the system:public-info-viewer role allows).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Log } from "../lib/log.js";
import { forbidden, type AuditLog, type RbacPolicy, type RequestAttributes, type UserInfo } from "./authz.js";
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  type FieldSelector,
  type Selector,
} from "../lib/selectors.js";
import type { KObject } from "../lib/types.js";
import { badRequest, methodNotAllowed, StatusError, unauthorized, type StatusBody } from "./errors.js";
import { applyPatch } from "./patch.js";
import {
  bind,
  deleteObject,
  deletePod,
  evict,
  prepareForCreate,
  prepareForUpdate,
  type DeleteOptions,
} from "./registry.js";
import { apiVersionOf, findResource, RESOURCES, type ResourceInfo } from "./resources.js";
import { storageError, type Store, type StoreEvent } from "./store.js";

/** What the handler needs. */
export interface ApiServerContext {
  store: Store;
  log: Log;
  /** host:port clients are told to use (discovery's serverAddressByClientCIDRs). */
  advertise: string;
  /** True once SIGTERM was received: /readyz fails, as during the real apiserver's shutdown delay. */
  shuttingDown: () => boolean;
  /** RBAC for users outside system:masters and system:nodes; without it, every authenticated user may do anything. */
  policy?: RbacPolicy;
  /** Where the requests RBAC decided for are recorded. */
  audit?: AuditLog;
}

/** The user of a verified client certificate: CN is the name, each O a group (x509 authentication). */
function userOf(sock: TLSSocket): UserInfo {
  const subject = sock.getPeerCertificate().subject as unknown as Record<string, string | string[] | undefined>;
  const o = subject.O;
  const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
  return { user: String(subject.CN ?? ""), groups: [...groups, "system:authenticated"] };
}

/**
 * The CertificateApproval admission plugin: approving (or denying) a CSR needs `approve` on the `signers` resource
 * named by its signer, or by its domain's wildcard (`kubernetes.io/*`), besides the update of `approval`.
 */
function approveSignerAllowed(ctx: ApiServerContext, who: UserInfo, body: KObject): void {
  const named = (body.spec as { signerName?: unknown } | undefined)?.signerName;
  const signer = typeof named === "string" ? named : "";
  const names = [signer, `${signer.split("/")[0] ?? ""}/*`];
  const attrs = (n: string): RequestAttributes => ({
    verb: "approve",
    apiGroup: "certificates.k8s.io",
    resource: "signers",
    name: n,
  });
  const ok = names.some((n) => ctx.policy?.allows(who, attrs(n)));
  ctx.audit?.record(who, attrs(signer), ok);
  if (!ok) {
    throw new StatusError(
      403,
      "Forbidden",
      `certificatesigningrequests.certificates.k8s.io "${body.metadata?.name ?? ""}" is forbidden: user not permitted to approve requests with signerName "${signer}"`,
      {
        ...(body.metadata?.name ? { name: body.metadata.name } : {}),
        group: "certificates.k8s.io",
        kind: "certificatesigningrequests",
      },
    );
  }
}

/** The authorizer's verb for a request (k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory). */
function verbOf(method: string, t: Target, q: URLSearchParams): string {
  switch (method) {
    case "GET":
      return q.get("watch") === "true" ? "watch" : t.name ? "get" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return t.name ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

const VERSION = {
  major: "1",
  minor: "28",
  gitVersion: "v1.28.15-lab",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2024-01-01T00:00:00Z",
  goVersion: "go1.22.0",
  compiler: "gc",
  platform: "linux/amd64",
};

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(code, {
    "content-type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-cache, private",
  });
  res.end(text);
}

function sendError(res: ServerResponse, err: StatusError): void {
  send(res, err.code, err.body());
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 3 * 1024 * 1024)
      throw new StatusError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728");
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw badRequest(`${what}: couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

/** A request's target after routing. */
interface Target {
  res: ResourceInfo;
  ns?: string;
  name?: string;
  sub?: string;
}

function route(parts: string[]): Target | "discovery" | undefined {
  // parts after /api/v1 or /apis/<group>/<version>, plus the group
  const [group, ...rest] = parts as [string, ...string[]];
  let ns: string | undefined;
  let segs = rest;
  if (segs[0] === "namespaces" && segs.length >= 3 && segs[2] !== "status" && segs[2] !== "finalize") {
    ns = segs[1];
    segs = segs.slice(2);
  }
  if (segs.length === 0) return "discovery";
  const res = findResource(group, segs[0] ?? "");
  if (!res || segs.length > 3) return undefined;
  if (ns !== undefined && !res.namespaced) return undefined;
  return {
    res,
    ...(ns !== undefined ? { ns } : {}),
    ...(segs[1] ? { name: segs[1] } : {}),
    ...(segs[2] ? { sub: segs[2] } : {}),
  };
}

function resourceList(groupVersion: string, group: string): unknown {
  const resources: unknown[] = [];
  for (const r of RESOURCES.filter((x) => x.group === group)) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
      ...(r.shortNames ? { shortNames: r.shortNames } : {}),
    });
    if (r.hasStatus)
      resources.push({
        name: `${r.plural}/status`,
        singularName: "",
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ["get", "patch", "update"],
      });
    if (r.kind === "Pod") {
      resources.push({
        name: "pods/eviction",
        singularName: "",
        namespaced: true,
        group: "policy",
        version: "v1",
        kind: "Eviction",
        verbs: ["create"],
      });
      resources.push({ name: "pods/binding", singularName: "", namespaced: true, kind: "Binding", verbs: ["create"] });
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion, resources };
}

function groupList(): unknown {
  const groups = [...new Set(RESOURCES.map((r) => r.group).filter((g) => g !== ""))];
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: groups.map((name) => ({
      name,
      versions: [{ groupVersion: `${name}/v1`, version: "v1" }],
      preferredVersion: { groupVersion: `${name}/v1`, version: "v1" },
    })),
  };
}

/** Strips what list items do not carry on the wire. */
function asItem(obj: KObject): KObject {
  const rest: KObject = { ...obj };
  delete rest.apiVersion;
  delete rest.kind;
  return rest;
}

/** Creates the request handler. */
export function createApiHandler(ctx: ApiServerContext): (req: IncomingMessage, res: ServerResponse) => void {
  const { store, log } = ctx;

  async function health(res: ServerResponse, kind: "readyz" | "livez" | "healthz", verbose: boolean): Promise<void> {
    const checks: Array<[string, string | null]> = [
      ["ping", null],
      ["log", null],
    ];
    let etcdErr: string | null = null;
    try {
      await store.check();
    } catch (err) {
      etcdErr = storageError(err).message;
    }
    checks.push(["etcd", etcdErr]);
    if (kind === "readyz") {
      checks.push(["etcd-readiness", etcdErr]);
      checks.push(["informer-sync", null]);
      checks.push(["shutdown", ctx.shuttingDown() ? "process is shutting down" : null]);
    }
    checks.push(["poststarthook/start-kube-apiserver-admission-initializer", null]);
    const failed = checks.some(([, e]) => e !== null);
    if (!failed && !verbose) return send(res, 200, "ok");
    const lines = checks.map(([n, e]) => (e === null ? `[+]${n} ok` : `[-]${n} failed: reason withheld`));
    lines.push(failed ? `${kind} check failed` : `${kind} check passed`);
    if (failed) log.warn(`${kind} failed`, { etcd: etcdErr });
    send(res, failed ? 500 : 200, `${lines.join("\n")}\n`);
  }

  async function list(req: IncomingMessage, res: ServerResponse, t: Target, q: URLSearchParams): Promise<void> {
    const labels = parseLabelSelector(q.get("labelSelector"));
    const fields = parseFieldSelector(q.get("fieldSelector"), t.res.plural);
    if (q.get("watch") === "true" || q.get("watch") === "1") return watch(req, res, t, q, labels, fields);
    const limit = Number(q.get("limit") ?? "0") || 0;
    let page: { limit?: number; start?: string; revision?: number } = limit > 0 ? { limit } : {};
    const cont = q.get("continue");
    if (cont) {
      try {
        const c = JSON.parse(Buffer.from(cont, "base64").toString("utf8")) as { rv: number; start: string };
        page = { ...page, start: c.start, revision: c.rv };
      } catch {
        throw badRequest("continue key is not valid");
      }
    }
    const r = await store.list(t.res, t.ns, page);
    const revision = page.revision ?? r.revision;
    const items = r.items
      .filter((o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o))
      .map(asItem);
    send(res, 200, {
      kind: `${t.res.kind}List`,
      apiVersion: apiVersionOf(t.res),
      metadata: {
        resourceVersion: String(revision),
        ...(r.next
          ? {
              continue: Buffer.from(JSON.stringify({ rv: revision, start: r.next })).toString("base64"),
              remainingItemCount: r.remaining,
            }
          : {}),
      },
      items,
    });
  }

  async function watch(
    req: IncomingMessage,
    res: ServerResponse,
    t: Target,
    q: URLSearchParams,
    labels: Selector,
    fields: FieldSelector,
  ): Promise<void> {
    const matches = (o: KObject | undefined): boolean =>
      !!o &&
      (t.name === undefined || o.metadata.name === t.name) &&
      matchesLabels(labels, o.metadata.labels) &&
      matchesFields(fields, o);
    const rvParam = q.get("resourceVersion");
    let from: number;
    const initial: KObject[] = [];
    if (!rvParam || rvParam === "0") {
      // No resourceVersion: the current state first, as synthetic ADDED events, then changes.
      const r = await store.list(t.res, t.ns);
      from = r.revision;
      initial.push(...r.items.filter(matches));
    } else {
      from = Number(rvParam);
      if (!Number.isInteger(from) || from < 0) throw badRequest(`invalid resource version: ${rvParam}`);
    }
    res.writeHead(200, {
      "content-type": "application/json",
      "cache-control": "no-cache, private",
      "transfer-encoding": "chunked",
    });
    // As the real apiserver does (WriteHeader, then Flush): Node holds headers back until the first event, and a
    // client waiting on them (@kubernetes/client-node's Watch.watch) could not cancel a watch that stays quiet.
    res.flushHeaders();
    const write = (type: string, object: unknown): void => {
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    for (const o of initial) write("ADDED", o);
    let done = false;
    const timeout = Number(q.get("timeoutSeconds") ?? "0") || 1800;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cancel();
      res.end();
    };
    const timer = setTimeout(finish, timeout * 1000);
    const cancel = store.watch(
      t.res,
      t.ns,
      from,
      (ev: StoreEvent) => {
        if (done) return;
        const now = matches(ev.object);
        if (ev.type === "DELETED") {
          if (now) write("DELETED", ev.object);
        } else if (ev.type === "ADDED") {
          if (now) write("ADDED", ev.object);
        } else {
          const before = matches(ev.prev);
          if (now && before) write("MODIFIED", ev.object);
          else if (now) write("ADDED", ev.object);
          else if (before) write("DELETED", ev.object);
        }
      },
      (err: StatusError) => {
        if (err.code === 410) write("ERROR", err.body());
        else log.warn("watch ended", { resource: t.res.plural, err: err.message });
        finish();
      },
    );
    req.on("close", finish);
    res.on("close", finish);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://apiserver");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const q = url.searchParams;
    const method = req.method ?? "GET";
    const verbose = q.has("verbose");

    if (path === "/readyz" || path === "/livez" || path === "/healthz")
      return health(res, path.slice(1) as "readyz", verbose);
    if (path === "/version") return send(res, 200, VERSION);

    const sock = req.socket as TLSSocket;
    if (!sock.authorized) throw unauthorized();

    if (path === "/api") {
      return send(res, 200, {
        kind: "APIVersions",
        versions: ["v1"],
        serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: ctx.advertise }],
      });
    }
    if (path === "/apis") return send(res, 200, groupList());
    const parts = path.split("/").slice(1).map(decodeURIComponent);
    let target: ReturnType<typeof route>;
    if (parts[0] === "api" && parts[1] === "v1") {
      target = route(["", ...parts.slice(2)]);
      if (target === "discovery") return send(res, 200, resourceList("v1", ""));
    } else if (parts[0] === "apis" && parts.length >= 3 && parts[2] === "v1") {
      target = route([parts[1] ?? "", ...parts.slice(3)]);
      if (target === "discovery") return send(res, 200, resourceList(`${parts[1]}/v1`, parts[1] ?? ""));
    } else if (parts[0] === "apis" && parts.length === 2) {
      const g = (groupList() as { groups: Array<{ name: string }> }).groups.find((x) => x.name === parts[1]);
      if (g) return send(res, 200, { kind: "APIGroup", apiVersion: "v1", ...g });
    }
    if (!target || target === "discovery") {
      return send(
        res,
        404,
        new StatusError(404, "NotFound", "the server could not find the requested resource", {}).body(),
      );
    }
    const t = target;
    const { res: r, ns, name, sub } = t;
    if (ctx.policy) {
      const who = userOf(sock);
      const attrs: RequestAttributes = {
        verb: verbOf(method, t, q),
        apiGroup: r.group,
        resource: r.plural,
        ...(sub ? { subresource: sub } : {}),
        ...(ns !== undefined ? { namespace: ns } : {}),
        ...(name ? { name } : {}),
      };
      const allowed = ctx.policy.allows(who, attrs);
      ctx.audit?.record(who, attrs, allowed);
      if (!allowed) throw forbidden(who, attrs);
    }
    if (
      sub &&
      !(
        (sub === "status" && r.hasStatus) ||
        (r.kind === "Pod" && (sub === "eviction" || sub === "binding")) ||
        (r.kind === "CertificateSigningRequest" && sub === "approval")
      )
    ) {
      throw new StatusError(404, "NotFound", "the server could not find the requested resource", {});
    }

    switch (method) {
      case "GET":
        if (!name) return list(req, res, t, q);
        if (q.get("watch") === "true") return list(req, res, t, q);
        return send(res, 200, await store.get(r, ns, name));
      case "POST": {
        const body = parseJson<KObject>(await readBody(req), "Object");
        if (name && sub === "eviction" && ns) return send(res, 201, await evict(store, ns, name, body));
        if (name && sub === "binding" && ns) return send(res, 201, await bind(store, ns, name, body));
        if (name) throw methodNotAllowed();
        if (r.namespaced && !ns) throw methodNotAllowed();
        // A CSR's requester is whoever created it, never what the body says (the real registry's PrepareForCreate):
        // approvers judge a request by it.
        if (r.kind === "CertificateSigningRequest" && body && typeof body === "object") {
          const who = userOf(sock);
          body.spec = { ...(body.spec as object | undefined), username: who.user, groups: who.groups };
          delete body.status;
        }
        return send(res, 201, await store.create(r, await prepareForCreate(store, r, body, ns)));
      }
      case "PUT": {
        if (!name) throw methodNotAllowed();
        const body = parseJson<KObject>(await readBody(req), "Object");
        if (body?.metadata?.name && body.metadata.name !== name) {
          throw badRequest(
            `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
          );
        }
        if (ctx.policy && r.kind === "CertificateSigningRequest" && sub === "approval") {
          approveSignerAllowed(ctx, userOf(sock), body);
        }
        const rv = body?.metadata?.resourceVersion;
        if (rv) {
          const cur = await store.get(r, ns, name);
          const next = prepareForUpdate(r, cur, body, sub);
          return send(res, 200, await store.update(r, next, Number(rv)));
        }
        return send(res, 200, await store.guaranteedUpdate(r, ns, name, (cur) => prepareForUpdate(r, cur, body, sub)));
      }
      case "PATCH": {
        if (!name) throw methodNotAllowed();
        const text = await readBody(req);
        const ct = req.headers["content-type"] ?? "";
        const out = await store.guaranteedUpdate(r, ns, name, (cur) => {
          const patched = applyPatch(cur, text, ct) as KObject;
          if (patched?.metadata?.resourceVersion !== cur.metadata.resourceVersion) throw storageConflict(r, name);
          const next = prepareForUpdate(r, cur, patched, sub);
          return JSON.stringify(next) === JSON.stringify(cur) ? null : next;
        });
        return send(res, 200, out);
      }
      case "DELETE": {
        if (!name || sub) throw methodNotAllowed();
        const text = await readBody(req);
        const opts: DeleteOptions = text.trim() ? parseJson<DeleteOptions>(text, "DeleteOptions") : {};
        const gp = q.get("gracePeriodSeconds");
        if (gp !== null) opts.gracePeriodSeconds = Number(gp);
        if (r.kind === "Pod" && ns) return send(res, 200, (await deletePod(store, ns, name, opts)).obj);
        const gone = await deleteObject(store, r, ns, name, opts);
        const ok: StatusBody = {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Success",
          details: {
            name,
            ...(r.group ? { group: r.group } : {}),
            kind: r.plural,
            ...(gone.metadata.uid ? { uid: gone.metadata.uid } : {}),
          },
          code: 200,
        };
        return send(res, 200, ok);
      }
      default:
        throw methodNotAllowed();
    }
  }

  function storageConflict(r: ResourceInfo, name: string): StatusError {
    return new StatusError(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${r.group ? `${r.plural}.${r.group}` : r.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, ...(r.group ? { group: r.group } : {}), kind: r.plural },
    );
  }

  return (req, res) => {
    const started = Date.now();
    handle(req, res)
      .catch((err: unknown) => {
        const e = err instanceof SelectorError ? badRequest(err.message) : storageError(err);
        if (e.code >= 500)
          log.warn("request failed", { method: req.method, url: req.url, code: e.code, err: e.message });
        if (res.headersSent) res.end();
        else sendError(res, e);
      })
      .finally(() => {
        const ms = Date.now() - started;
        if (ms > 3000 && !(req.url ?? "").includes("watch"))
          log.info("slow request", { method: req.method, url: req.url, ms });
      });
  };
}
