import {
  type Client,
  credentials,
  Metadata,
  status as grpcStatus,
  type ChannelCredentials,
  type ServiceError,
} from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { loadEtcdProto } from "../shared/index.js";

/** One etcd endpoint and the client credentials (PEM files) to reach it with. */
export interface EtcdEndpoint {
  endpoint: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** etcd's Maintenance.Status answer (proto/etcd/rpc.proto); 64-bit integers as decimal strings. */
export interface EtcdStatusResponse {
  header: { clusterId: string; memberId: string; revision: string; raftTerm: string } | null;
  version: string;
  dbSize: string;
  leader: string;
  raftIndex: string;
  raftTerm: string;
  raftAppliedIndex: string;
  errors: string[];
  dbSizeInUse: string;
  isLearner: boolean;
}

/** A member as etcd's Cluster.MemberList gives it. */
export interface EtcdMemberResponse {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** A call failed: etcd's words (or gRPC's, when etcd was not reached) and the gRPC status code. */
export class EtcdCallError extends Error {
  readonly code: grpcStatus;
  constructor(err: ServiceError) {
    super(err.details || err.message);
    this.code = err.code;
  }
}

type Unary = (
  req: object,
  md: Metadata,
  opts: { deadline: Date },
  cb: (err: ServiceError | null, res?: unknown) => void,
) => {
  cancel(): void;
};

interface Kept {
  /** What the connection was made with: the endpoint and a digest of the credentials' contents. */
  key: string;
  kv: Client;
  cluster: Client;
  maintenance: Client;
}

/**
 * Reconnects soon after a member comes back: grpc-js would otherwise back off up to 2 minutes after a refused
 * connection, and a cluster start asks every member again within seconds of starting it.
 */
const CHANNEL_OPTIONS = {
  "grpc.initial_reconnect_backoff_ms": 250,
  "grpc.max_reconnect_backoff_ms": 1000,
};

/**
 * Kept gRPC connections to etcd members (etcd's v3 API, as etcdctl speaks it), one per endpoint: a read is one call on
 * an open connection, not a process and a TLS handshake per question. The credentials are read on every call and a
 * connection is made anew when they changed (a renewed client certificate). A member that refuses connections fails
 * a call at once (gRPC fails fast while its connection is down) rather than at the call's deadline.
 */
export class EtcdClients {
  readonly #kept = new Map<string, Kept>();

  async #clients(target: EtcdEndpoint): Promise<Kept> {
    const [ca, cert, key] = await Promise.all(
      [target.caFile, target.certFile, target.keyFile].map((f) => (f ? readFile(f) : Promise.resolve(null))),
    );
    const digest = createHash("sha256");
    for (const part of [ca, cert, key]) digest.update(part ?? "-").update("\0");
    const id = `${target.endpoint}\0${digest.digest("hex")}`;
    const kept = this.#kept.get(target.endpoint);
    if (kept?.key === id) return kept;
    if (kept) close(kept);

    const { address, creds } = channelFor(target.endpoint, ca ?? null, key ?? null, cert ?? null);
    const proto = loadEtcdProto().etcdserverpb as Record<string, typeof Client>;
    const kv = new (proto.KV as typeof Client)(address, creds, CHANNEL_OPTIONS);
    // The three services share kv's channel: one connection per member.
    const shared = { channelOverride: kv.getChannel() };
    const fresh: Kept = {
      key: id,
      kv,
      cluster: new (proto.Cluster as typeof Client)(address, creds, shared),
      maintenance: new (proto.Maintenance as typeof Client)(address, creds, shared),
    };
    this.#kept.set(target.endpoint, fresh);
    return fresh;
  }

  async #call<T>(
    target: EtcdEndpoint,
    service: "kv" | "cluster" | "maintenance",
    method: string,
    req: object,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<T> {
    const client = (await this.#clients(target))[service] as unknown as Record<string, Unary>;
    signal?.throwIfAborted();
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => call.cancel();
      const call = (client[method] as Unary).call(
        client,
        req,
        new Metadata(),
        { deadline: new Date(Date.now() + timeoutMs) },
        (err, res) => {
          signal?.removeEventListener("abort", onAbort);
          if (err) reject(new EtcdCallError(err));
          else resolve(res as T);
        },
      );
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * etcdctl's `endpoint health`: a linearizable read of the key "health" (which needs quorum; permission denied
   * counts as an answer, as it went through consensus), then no alarm raised in the cluster. Resolves with the
   * reason it is not healthy, or "" when it is.
   */
  async health(target: EtcdEndpoint, timeoutMs: number, signal?: AbortSignal): Promise<string> {
    try {
      await this.#call(target, "kv", "Range", { key: Buffer.from("health"), countOnly: true }, timeoutMs, signal);
    } catch (err) {
      if (!(err instanceof EtcdCallError && err.code === grpcStatus.PERMISSION_DENIED)) return errorText(err);
    }
    try {
      const res = await this.#call<{ alarms: Array<{ alarm: string }> }>(
        target,
        "maintenance",
        "Alarm",
        { action: "GET" },
        timeoutMs,
        signal,
      );
      return res.alarms.length > 0 ? `Active Alarm(s): ${res.alarms.map((a) => a.alarm).join(" ")}` : "";
    } catch (err) {
      return `Unable to fetch the alarm list: ${errorText(err)}`;
    }
  }

  /** The member's own status (Maintenance.Status). */
  status(target: EtcdEndpoint, timeoutMs: number, signal?: AbortSignal): Promise<EtcdStatusResponse> {
    return this.#call(target, "maintenance", "Status", {}, timeoutMs, signal);
  }

  /** The cluster's members as this member knows them (Cluster.MemberList). */
  async members(target: EtcdEndpoint, timeoutMs: number, signal?: AbortSignal): Promise<EtcdMemberResponse[]> {
    const res = await this.#call<{ members: EtcdMemberResponse[] }>(
      target,
      "cluster",
      "MemberList",
      {},
      timeoutMs,
      signal,
    );
    return res.members;
  }

  /** How many members a connection is kept to. */
  get size(): number {
    return this.#kept.size;
  }

  /** Closes every kept connection. */
  close(): void {
    for (const kept of this.#kept.values()) close(kept);
    this.#kept.clear();
  }
}

function close(kept: Kept): void {
  // They share one channel; closing the owner's closes it.
  kept.kv.close();
}

/** A call's failure in words. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The gRPC address and credentials for an etcd client URL (http:// or https://, as etcd advertises them). */
function channelFor(
  endpoint: string,
  ca: Buffer | null,
  key: Buffer | null,
  cert: Buffer | null,
): { address: string; creds: ChannelCredentials } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`etcd endpoint ${JSON.stringify(endpoint)} is not a URL`);
  }
  const address = `${url.hostname}:${url.port || "2379"}`;
  if (url.protocol === "http:") return { address, creds: credentials.createInsecure() };
  if (url.protocol === "https:") return { address, creds: credentials.createSsl(ca, key, cert) };
  throw new Error(`etcd endpoint ${endpoint}: only http:// and https:// client URLs are supported`);
}
