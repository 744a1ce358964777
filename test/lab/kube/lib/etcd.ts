// A small etcd v3 client over etcd's JSON gateway (/v3/kv/range, /v3/kv/txn, /v3/watch, /v3/lease/*), which every
// etcd 3.4 member serves on its client URL next to gRPC. It behaves like clientv3 where the apiserver depends on it:
// requests fail over between endpoints on connection errors, reads are linearizable (a quorum read, so a member
// without quorum cannot answer), every call has a deadline, and watches require a leader (the `hasleader` metadata
// the real apiserver sets), so a watch on a member that loses quorum is cancelled instead of going silent.
import { readFileSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/** Where and how to reach etcd. */
export interface EtcdOptions {
  /** Client URLs, e.g. https://10.0.0.1:2379. */
  endpoints: string[];
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Deadline of one call over all endpoints tried. Default 4000 ms. */
  requestTimeoutMs?: number;
}

/** One key-value pair, decoded. */
export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
}

/** An event of a watch. */
export interface WatchEvent {
  type: "PUT" | "DELETE";
  kv: KeyValue;
  prevKv?: KeyValue;
}

/** Why a call failed: no endpoint reachable, deadline passed, or etcd refused (e.g. bad request). */
export class EtcdError extends Error {
  constructor(
    message: string,
    readonly kind: "unavailable" | "timeout" | "failed" | "compacted",
  ) {
    super(message);
  }
}

/** A comparison of a txn. */
export interface Compare {
  key: string;
  target: "MOD" | "CREATE" | "VERSION" | "VALUE";
  result?: "EQUAL" | "NOT_EQUAL" | "GREATER" | "LESS";
  modRevision?: number;
  createRevision?: number;
  version?: number;
  value?: string;
}

/** An operation of a txn. */
export type TxnOp =
  | { put: { key: string; value: string; lease?: string } }
  | { range: { key: string; rangeEnd?: string } }
  | { del: { key: string; rangeEnd?: string } };

/** The result of a txn. */
export interface TxnResult {
  succeeded: boolean;
  revision: number;
  /** For each op of the branch taken: the kvs of a range, the previous kvs of a delete. */
  responses: KeyValue[][];
}

interface RawKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}
interface RawHeader {
  revision?: string;
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string | undefined): string => Buffer.from(s ?? "", "base64").toString("utf8");
const num = (s: string | undefined): number => Number(s ?? "0");

function decodeKv(raw: RawKv): KeyValue {
  return {
    key: unb64(raw.key),
    value: unb64(raw.value),
    createRevision: num(raw.create_revision),
    modRevision: num(raw.mod_revision),
    version: num(raw.version),
    lease: raw.lease ?? "0",
  };
}

/** The end of the key range holding every key that starts with `prefix` (keys here are ASCII). */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** Connection-level failures after which another endpoint is tried. */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  return (
    ["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ETIMEDOUT", "ENOTFOUND"].includes(code) ||
    /socket hang up/.test(String(err))
  );
}

/** The etcd client. */
export class Etcd {
  private readonly endpoints: URL[];
  private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  private readonly httpsAgent: HttpsAgent;
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly timeoutMs: number;
  private preferred = 0;

  constructor(opts: EtcdOptions) {
    if (opts.endpoints.length === 0) throw new Error("etcd: no endpoints");
    this.endpoints = opts.endpoints.map((e) => new URL(e));
    this.tls = {
      ...(opts.caFile ? { ca: readFileSync(opts.caFile) } : {}),
      ...(opts.certFile ? { cert: readFileSync(opts.certFile) } : {}),
      ...(opts.keyFile ? { key: readFileSync(opts.keyFile) } : {}),
    };
    this.httpsAgent = new HttpsAgent({ keepAlive: true, ...this.tls });
    this.timeoutMs = opts.requestTimeoutMs ?? 4000;
  }

  /** Closes idle connections. */
  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }

  private open(ep: URL, path: string, headers: Record<string, string>): ReturnType<typeof httpRequest> {
    const opts = { method: "POST", host: ep.hostname, port: ep.port, path, headers };
    return ep.protocol === "https:"
      ? httpsRequest({ ...opts, agent: this.httpsAgent })
      : httpRequest({ ...opts, agent: this.httpAgent });
  }

  /** One unary gateway call with endpoint fail-over inside the deadline. */
  async call<T>(path: string, body: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    const payload = JSON.stringify(body);
    let lastErr: unknown;
    for (let attempt = 0; attempt < this.endpoints.length * 2; attempt++) {
      const idx = (this.preferred + attempt) % this.endpoints.length;
      const ep = this.endpoints[idx];
      const left = deadline - Date.now();
      if (!ep || left <= 0) break;
      try {
        const res = await this.once(ep, path, payload, left);
        if (res.status === 200) {
          this.preferred = idx;
          return JSON.parse(res.body) as T;
        }
        const e = JSON.parse(res.body || "{}") as { message?: string; error?: string; code?: number };
        const msg = e.message ?? e.error ?? `HTTP ${res.status}`;
        // gRPC Unavailable (14): this member cannot serve (stopped, no leader); another one might.
        if (e.code === 14 || res.status === 503) {
          lastErr = new EtcdError(msg, "unavailable");
          continue;
        }
        if (e.code === 4 || res.status === 504) throw new EtcdError(msg, "timeout");
        throw new EtcdError(msg, "failed");
      } catch (err) {
        if (err instanceof EtcdError) {
          if (err.kind === "unavailable") continue;
          throw err;
        }
        if (isConnectionError(err)) {
          lastErr = err;
          await new Promise((r) => setTimeout(r, Math.min(50, Math.max(0, deadline - Date.now()))));
          continue;
        }
        throw new EtcdError(String((err as Error).message ?? err), "failed");
      }
    }
    if (Date.now() >= deadline) throw new EtcdError("context deadline exceeded", "timeout");
    throw new EtcdError(
      `etcd unavailable: ${String((lastErr as Error | undefined)?.message ?? lastErr)}`,
      "unavailable",
    );
  }

  private once(ep: URL, path: string, payload: string, timeoutMs: number): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = this.open(ep, path, { "content-type": "application/json" });
      const timer = setTimeout(() => {
        req.destroy();
        reject(new EtcdError("context deadline exceeded", "timeout"));
      }, timeoutMs);
      req.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.on("response", (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => {
          clearTimeout(timer);
          reject(err);
        });
        res.on("end", () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        });
      });
      req.end(payload);
    });
  }

  /** Linearizable range read of [key, rangeEnd), at `revision` if given. */
  async range(
    key: string,
    opts: { rangeEnd?: string; revision?: number; limit?: number; serializable?: boolean; timeoutMs?: number } = {},
  ): Promise<{ kvs: KeyValue[]; revision: number; more: boolean; count: number }> {
    const r = await this.call<{ header?: RawHeader; kvs?: RawKv[]; more?: boolean; count?: string }>(
      "/v3/kv/range",
      {
        key: b64(key),
        ...(opts.rangeEnd !== undefined ? { range_end: b64(opts.rangeEnd) } : {}),
        ...(opts.revision ? { revision: String(opts.revision) } : {}),
        ...(opts.limit ? { limit: String(opts.limit) } : {}),
        ...(opts.serializable ? { serializable: true } : {}),
      },
      opts.timeoutMs,
    ).catch((err: unknown) => {
      if (err instanceof EtcdError && /compacted/.test(err.message)) throw new EtcdError(err.message, "compacted");
      throw err;
    });
    return {
      kvs: (r.kvs ?? []).map(decodeKv),
      revision: num(r.header?.revision),
      more: r.more ?? false,
      count: num(r.count),
    };
  }

  /** A transaction: if every compare holds, the success ops run, otherwise the failure ops. */
  async txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    const enc = (op: TxnOp): unknown => {
      if ("put" in op) {
        return {
          request_put: {
            key: b64(op.put.key),
            value: b64(op.put.value),
            ...(op.put.lease ? { lease: op.put.lease } : {}),
          },
        };
      }
      if ("range" in op) {
        return {
          request_range: {
            key: b64(op.range.key),
            ...(op.range.rangeEnd ? { range_end: b64(op.range.rangeEnd) } : {}),
          },
        };
      }
      return {
        request_delete_range: {
          key: b64(op.del.key),
          prev_kv: true,
          ...(op.del.rangeEnd ? { range_end: b64(op.del.rangeEnd) } : {}),
        },
      };
    };
    const cmp = compare.map((c) => ({
      key: b64(c.key),
      target: c.target,
      result: c.result ?? "EQUAL",
      ...(c.target === "MOD" ? { mod_revision: String(c.modRevision ?? 0) } : {}),
      ...(c.target === "CREATE" ? { create_revision: String(c.createRevision ?? 0) } : {}),
      ...(c.target === "VERSION" ? { version: String(c.version ?? 0) } : {}),
      ...(c.target === "VALUE" ? { value: b64(c.value ?? "") } : {}),
    }));
    type RawResp = { response_range?: { kvs?: RawKv[] }; response_delete_range?: { prev_kvs?: RawKv[] } };
    const r = await this.call<{ header?: RawHeader; succeeded?: boolean; responses?: RawResp[] }>("/v3/kv/txn", {
      compare: cmp,
      success: success.map(enc),
      failure: failure.map(enc),
    });
    return {
      succeeded: r.succeeded ?? false,
      revision: num(r.header?.revision),
      responses: (r.responses ?? []).map((x) =>
        (x.response_range?.kvs ?? x.response_delete_range?.prev_kvs ?? []).map(decodeKv),
      ),
    };
  }

  /** Grants a lease of `ttlSeconds`; returns its id. */
  async leaseGrant(ttlSeconds: number): Promise<string> {
    const r = await this.call<{ ID?: string }>("/v3/lease/grant", { TTL: String(ttlSeconds) });
    if (!r.ID) throw new EtcdError("lease grant returned no id", "failed");
    return r.ID;
  }

  /** Renews a lease once; returns its remaining TTL (0 = it has expired). */
  async leaseKeepAlive(id: string, timeoutMs?: number): Promise<number> {
    const r = await this.call<{ result?: { TTL?: string } }>("/v3/lease/keepalive", { ID: id }, timeoutMs);
    return num(r.result?.TTL);
  }

  /** Revokes a lease (its keys are deleted). */
  async leaseRevoke(id: string): Promise<void> {
    await this.call("/v3/lease/revoke", { ID: id }, 2000);
  }

  /**
   * Watches [key, rangeEnd) from `startRevision`. `onEvents` gets each batch; `onEnd` is called once when the
   * watch ends (an error: endpoint lost, no leader, compacted). Returns a function that cancels the watch.
   */
  watch(
    opts: { key: string; rangeEnd?: string; startRevision: number },
    onEvents: (events: WatchEvent[]) => void,
    onEnd: (err: EtcdError) => void,
  ): () => void {
    let ended = false;
    let req: ReturnType<typeof httpRequest> | undefined;
    const end = (err: EtcdError): void => {
      if (ended) return;
      ended = true;
      req?.destroy();
      onEnd(err);
    };
    const body = JSON.stringify({
      create_request: {
        key: b64(opts.key),
        ...(opts.rangeEnd ? { range_end: b64(opts.rangeEnd) } : {}),
        start_revision: String(opts.startRevision),
        prev_kv: true,
      },
    });
    const tryEndpoint = (attempt: number): void => {
      if (ended) return;
      const idx = (this.preferred + attempt) % this.endpoints.length;
      const ep = this.endpoints[idx];
      if (!ep || attempt >= this.endpoints.length) {
        end(new EtcdError("etcd unavailable: no endpoint accepted the watch", "unavailable"));
        return;
      }
      let buf = "";
      let established = false;
      // The real apiserver's watches carry "hasleader": the member cancels them when it has no leader.
      req = this.open(ep, "/v3/watch", { "content-type": "application/json", "grpc-metadata-hasleader": "true" });
      req.setTimeout(0);
      req.on("error", (err) => {
        if (!established && isConnectionError(err)) tryEndpoint(attempt + 1);
        else end(new EtcdError(`watch: ${err.message}`, "unavailable"));
      });
      req.on("response", (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          end(new EtcdError(`watch: HTTP ${res.statusCode}`, "unavailable"));
          return;
        }
        established = true;
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) handle(line);
          }
        });
        res.on("end", () => end(new EtcdError("watch closed by etcd", "unavailable")));
        res.on("error", (err) => end(new EtcdError(`watch: ${err.message}`, "unavailable")));
      });
      req.end(body);
    };
    type RawEvent = { type?: string; kv?: RawKv; prev_kv?: RawKv };
    type Msg = {
      error?: { message?: string };
      result?: { events?: RawEvent[]; canceled?: boolean; compact_revision?: string; cancel_reason?: string };
    };
    const handle = (line: string): void => {
      let msg: Msg;
      try {
        msg = JSON.parse(line) as Msg;
      } catch {
        return;
      }
      if (msg.error) return end(new EtcdError(msg.error.message ?? "watch error", "unavailable"));
      const r = msg.result;
      if (!r) return;
      if (num(r.compact_revision) > 0) return end(new EtcdError("required revision has been compacted", "compacted"));
      if (r.canceled) return end(new EtcdError(r.cancel_reason || "watch canceled", "unavailable"));
      const events = (r.events ?? []).map((e): WatchEvent => ({
        type: e.type === "DELETE" ? "DELETE" : "PUT",
        kv: decodeKv(e.kv ?? {}),
        ...(e.prev_kv ? { prevKv: decodeKv(e.prev_kv) } : {}),
      }));
      if (events.length > 0) onEvents(events);
    };
    tryEndpoint(0);
    return () => {
      ended = true;
      req?.destroy();
    };
  }
}
