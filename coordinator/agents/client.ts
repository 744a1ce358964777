import {
  credentials,
  Metadata,
  type ChannelCredentials,
  type ClientReadableStream,
  type ServiceError,
} from "@grpc/grpc-js";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CHANGE_RPCS,
  fromGrpcError,
  stampMetadata,
  type OperationStamp,
  type KubecycleError,
  loadAgentProto,
  type AgentClient,
  type EtcdMemberStatus__Output,
  type HealthResponse__Output,
  type PodSandboxesResult__Output,
  type SnapshotChunk__Output,
  type SnapshotSummary__Output,
  type StopPodSandboxesRequest,
  type NodeStatus__Output,
  type SetAutoStartRequest,
  type StartUnitsRequest,
  type StopUnitsRequest,
  type TlsMaterial,
  type UnitsResult__Output,
  type NodeLayout__Output,
  type ComponentsHealth__Output,
  type CertificatesResult__Output,
  type PowerOffRequest,
  type PowerOffResult__Output,
  type JournalLines__Output,
  type Clock__Output,
  type DiskUsage__Output,
  type NetworkProbes__Output,
  type StagedSnapshot__Output,
  type EtcdRestoreRequest,
  type EtcdRestoreResult__Output,
  type EtcdReplaceMemberRequest,
  type EtcdReplaceMemberResult__Output,
  type EtcdRejoinRequest,
  type EtcdRejoinResult__Output,
} from "../../shared/index.js";

/** Every unary RPC of the agent is a read or carries an operation id, so all may be retried. */
const IDEMPOTENT_RPCS: ReadonlySet<string> = new Set([
  "Health",
  "GetStatus",
  "EtcdStatus",
  "StopUnits",
  "StartUnits",
  "SetAutoStart",
  "StopPodSandboxes",
  "GetNodeLayout",
  "ProbeComponents",
  "GetCertificates",
  "PowerOff",
  "ReadJournal",
  "GetClock",
  "GetDiskUsage",
  "ProbeNetwork",
  "EtcdRestore",
  "EtcdReplaceMember",
  "EtcdRejoin",
]);

/** How often a connection with a call in flight is pinged, and how long an answer may take. */
const KEEPALIVE_MS = 5000;

/** Where and how to reach one node's agent. */
export interface AgentEndpoint {
  /** The node's name; errors name it. */
  node: string;
  /** host:port of the agent. */
  address: string;
  tls: TlsMaterial;
  /** Name to verify the agent's certificate against. Default: the node name. */
  serverName?: string;
}

/**
 * The client side of mTLS to agents: one TLS context (CA, certificate and key parsed once) that any number of
 * connections share. Each context costs about 1 ms of CPU to build, on the event loop: one per connection is a
 * second's stall in a fan-out to a thousand nodes.
 */
export function agentCredentials(tls: TlsMaterial): ChannelCredentials {
  return credentials.createSsl(tls.ca, tls.key, tls.cert);
}

/** Per-call options: every call has a deadline; a signal cancels it early (CANCELLED, not DEADLINE_EXCEEDED). */
export interface CallOptions {
  /** Default 10 s. */
  deadlineMs?: number;
  signal?: AbortSignal;
}

type Unary<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: { deadline: Date },
  cb: (err: ServiceError | null, res?: Res) => void,
) => { cancel(): void };

/** A typed, promise-based connection to one agent over mTLS. Errors come back as KubecycleErrors naming node and RPC. */
export class AgentConnection {
  readonly node: string;
  readonly #client: AgentClient;

  /** How long a call keeps retrying while the agent does not answer at all. */
  readonly #unreachableMs: number;
  /** The operation the changes sent now belong to. */
  readonly #operation: () => OperationStamp | undefined;

  /**
   * `unreachableMs`: how long one call keeps retrying an agent that does not answer at all (a node that dropped off
   * the network fails the step naming it, instead of holding it to its whole deadline). Default 20 s.
   * `credentials`: shared ones (see agentCredentials); default: made from `endpoint.tls` for this connection alone.
   * `operation`: the operation whose stamp every change carries, asked at each call; none by default.
   */
  constructor(
    endpoint: AgentEndpoint,
    opts: {
      maxMessageBytes?: number;
      unreachableMs?: number;
      credentials?: ChannelCredentials;
      operation?: () => OperationStamp | undefined;
    } = {},
  ) {
    this.node = endpoint.node;
    this.#unreachableMs = opts.unreachableMs ?? 20_000;
    this.#operation = opts.operation ?? (() => undefined);
    const Agent = loadAgentProto().kubecycle.v1.Agent;
    this.#client = new Agent(endpoint.address, opts.credentials ?? agentCredentials(endpoint.tls), {
      // Verify the agent by its node name (always in its certificate's SANs); this also keeps an IP out of TLS SNI.
      "grpc.ssl_target_name_override": endpoint.serverName ?? endpoint.node,
      "grpc.max_receive_message_length": opts.maxMessageBytes ?? 64 * 1024 * 1024,
      // Fail fast on a node that is down instead of waiting out the whole deadline in reconnect backoff.
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 2000,
      // A node that drops off the network mid-call leaves its connection open and silent: pings while a call runs
      // find that out in seconds, and the call fails as unreachable instead of waiting out its whole deadline.
      "grpc.keepalive_time_ms": KEEPALIVE_MS,
      "grpc.keepalive_timeout_ms": KEEPALIVE_MS,
    });
  }

  health(opts?: CallOptions): Promise<HealthResponse__Output> {
    return this.#unary("Health", this.#client.Health.bind(this.#client), {}, opts);
  }

  getStatus(
    req: { refreshFacts?: boolean; includeEtcd?: boolean } = {},
    opts?: CallOptions,
  ): Promise<NodeStatus__Output> {
    return this.#unary("GetStatus", this.#client.GetStatus.bind(this.#client), req, opts);
  }

  stopUnits(req: StopUnitsRequest, opts?: CallOptions): Promise<UnitsResult__Output> {
    return this.#unary("StopUnits", this.#client.StopUnits.bind(this.#client), req, opts);
  }

  startUnits(req: StartUnitsRequest, opts?: CallOptions): Promise<UnitsResult__Output> {
    return this.#unary("StartUnits", this.#client.StartUnits.bind(this.#client), req, opts);
  }

  setAutoStart(req: SetAutoStartRequest, opts?: CallOptions): Promise<UnitsResult__Output> {
    return this.#unary("SetAutoStart", this.#client.SetAutoStart.bind(this.#client), req, opts);
  }

  etcdStatus(
    req: { timeoutMs?: number; memberId?: string } = {},
    opts?: CallOptions,
  ): Promise<EtcdMemberStatus__Output> {
    return this.#unary("EtcdStatus", this.#client.EtcdStatus.bind(this.#client), req, opts);
  }

  stopPodSandboxes(req: StopPodSandboxesRequest, opts?: CallOptions): Promise<PodSandboxesResult__Output> {
    return this.#unary("StopPodSandboxes", this.#client.StopPodSandboxes.bind(this.#client), req, opts);
  }

  getNodeLayout(opts?: CallOptions): Promise<NodeLayout__Output> {
    return this.#unary("GetNodeLayout", this.#client.GetNodeLayout.bind(this.#client), {}, opts);
  }

  probeComponents(req: { timeoutMs?: number } = {}, opts?: CallOptions): Promise<ComponentsHealth__Output> {
    return this.#unary("ProbeComponents", this.#client.ProbeComponents.bind(this.#client), req, opts);
  }

  getCertificates(opts?: CallOptions): Promise<CertificatesResult__Output> {
    return this.#unary("GetCertificates", this.#client.GetCertificates.bind(this.#client), {}, opts);
  }

  powerOff(req: PowerOffRequest, opts?: CallOptions): Promise<PowerOffResult__Output> {
    return this.#unary("PowerOff", this.#client.PowerOff.bind(this.#client), req, opts);
  }

  readJournal(req: { unit: string; lines?: number }, opts?: CallOptions): Promise<JournalLines__Output> {
    return this.#unary("ReadJournal", this.#client.ReadJournal.bind(this.#client), req, opts);
  }

  getClock(opts?: CallOptions): Promise<Clock__Output> {
    return this.#unary("GetClock", this.#client.GetClock.bind(this.#client), {}, opts);
  }

  getDiskUsage(opts?: CallOptions): Promise<DiskUsage__Output> {
    return this.#unary("GetDiskUsage", this.#client.GetDiskUsage.bind(this.#client), {}, opts);
  }

  probeNetwork(req: { timeoutMs?: number } = {}, opts?: CallOptions): Promise<NetworkProbes__Output> {
    return this.#unary("ProbeNetwork", this.#client.ProbeNetwork.bind(this.#client), req, opts);
  }

  etcdRestore(req: EtcdRestoreRequest, opts?: CallOptions): Promise<EtcdRestoreResult__Output> {
    return this.#unary("EtcdRestore", this.#client.EtcdRestore.bind(this.#client), req, opts);
  }

  etcdReplaceMember(req: EtcdReplaceMemberRequest, opts?: CallOptions): Promise<EtcdReplaceMemberResult__Output> {
    return this.#unary("EtcdReplaceMember", this.#client.EtcdReplaceMember.bind(this.#client), req, opts);
  }

  etcdRejoin(req: EtcdRejoinRequest, opts?: CallOptions): Promise<EtcdRejoinResult__Output> {
    return this.#unary("EtcdRejoin", this.#client.EtcdRejoin.bind(this.#client), req, opts);
  }

  /**
   * Sends a snapshot file to the agent to be staged for a restore: the header (operation id, sha256, size), then the
   * file in chunks well under the agent's message limit. The agent checks the bytes against the sha256 and reads the
   * snapshot with etcd's tool before it answers.
   */
  stageSnapshot(
    header: { operationId: string; sha256: string; sizeBytes: number },
    data: AsyncIterable<Buffer>,
    opts: CallOptions = {},
  ): Promise<StagedSnapshot__Output> {
    const deadline = new Date(Date.now() + (opts.deadlineMs ?? 600_000));
    return new Promise<StagedSnapshot__Output>((resolve, reject) => {
      let settled = false;
      // Ends a wait for the stream to drain once the call is over, whichever way it ended.
      const over = new AbortController();
      const call = this.#client.StageSnapshot(new Metadata(), { deadline }, (err, res) => {
        settled = true;
        over.abort();
        opts.signal?.removeEventListener("abort", onAbort);
        if (err) reject(fromGrpcError(err, { rpc: "StageSnapshot", node: this.node }));
        else resolve(res as StagedSnapshot__Output);
      });
      const onAbort = () => call.cancel();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      void (async () => {
        try {
          call.write({ header });
          for await (const chunk of data) {
            if (settled) return;
            // Honour backpressure: a slow agent must not make the coordinator buffer a whole snapshot.
            if (!call.write({ data: chunk })) await once(call, "drain", { signal: over.signal });
          }
          call.end();
        } catch (err) {
          if (settled) return;
          call.cancel();
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      })();
    });
  }

  /**
   * Streams a snapshot of the member's keyspace: yields its data chunks, then returns the agent's summary (sha256,
   * size, revision, keys). The caller checks the sha256 of what it received against the summary.
   */
  async *etcdSnapshot(
    req: { timeoutMs?: number },
    opts: CallOptions = {},
  ): AsyncGenerator<Buffer, SnapshotSummary__Output, undefined> {
    const deadline = new Date(Date.now() + (opts.deadlineMs ?? 600_000));
    const stream: ClientReadableStream<SnapshotChunk__Output> = this.#client.EtcdSnapshot(req, { deadline });
    const onAbort = () => stream.cancel();
    opts.signal?.addEventListener("abort", onAbort);
    let summary: SnapshotSummary__Output | null = null;
    try {
      for await (const chunk of stream) {
        const c = chunk as SnapshotChunk__Output;
        if (c.data.length > 0) yield c.data;
        if (c.summary) summary = c.summary;
      }
    } catch (err) {
      throw fromGrpcError(err, { rpc: "EtcdSnapshot", node: this.node });
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
    }
    if (!summary) {
      throw fromGrpcError(
        { code: 13, details: "snapshot stream ended without its summary" },
        { rpc: "EtcdSnapshot", node: this.node },
      );
    }
    return summary;
  }

  /** Status updates as they come: at once, on every unit change, and at least every `intervalMs`. */
  async *watchStatus(req: { intervalMs?: number }, signal?: AbortSignal): AsyncGenerator<NodeStatus__Output> {
    const stream: ClientReadableStream<NodeStatus__Output> = this.#client.WatchStatus(req);
    const onAbort = () => stream.cancel();
    signal?.addEventListener("abort", onAbort);
    try {
      for await (const status of stream) yield status as NodeStatus__Output;
    } catch (err) {
      if (!signal?.aborted) throw fromGrpcError(err, { rpc: "WatchStatus", node: this.node });
    } finally {
      signal?.removeEventListener("abort", onAbort);
      stream.cancel();
    }
  }

  close(): void {
    this.#client.close();
  }

  /** A call's metadata: a change's carries its operation's stamp. */
  #metadata(rpc: string): Metadata {
    const md = new Metadata();
    const stamp = CHANGE_RPCS.has(rpc) ? this.#operation() : undefined;
    return stamp ? stampMetadata(md, stamp) : md;
  }

  /**
   * One call with a deadline. Retries are decided here and only here: a call the agent makes idempotent (a read,
   * or a change carrying an operation id) is retried while the node is unreachable and the deadline allows; an
   * abort is never retried.
   */
  async #unary<Req, Res>(rpc: string, method: Unary<Req, Res>, req: Req, opts: CallOptions = {}): Promise<Res> {
    const end = Date.now() + (opts.deadlineMs ?? 10_000);
    let unreachableSince: number | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once(rpc, method, req, new Date(end), opts.signal);
      } catch (err) {
        const unreachable = (err as KubecycleError).code === "NODE_UNREACHABLE";
        unreachableSince = unreachable ? (unreachableSince ?? Date.now()) : undefined;
        const retry = IDEMPOTENT_RPCS.has(rpc) && unreachable;
        const pause = Math.min(2000, 200 * 2 ** attempt);
        const until = Math.min(end, (unreachableSince ?? Date.now()) + this.#unreachableMs);
        if (!retry || opts.signal?.aborted || Date.now() + pause >= until) throw err;
        await sleep(pause, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined);
      }
    }
  }

  #once<Req, Res>(rpc: string, method: Unary<Req, Res>, req: Req, deadline: Date, signal?: AbortSignal): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      if (signal?.aborted) {
        reject(fromGrpcError({ code: 1, details: "cancelled before the call" }, { rpc, node: this.node }));
        return;
      }
      const call = method(req, this.#metadata(rpc), { deadline }, (err, res) => {
        signal?.removeEventListener("abort", onAbort);
        if (err) reject(fromGrpcError(err, { rpc, node: this.node }));
        else resolve(res as Res);
      });
      const onAbort = () => call.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
