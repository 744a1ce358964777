import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import {
  KubecycleError,
  fromGrpcError,
  loadRegistryProto,
  serveDial,
  type BootReport,
  type Logger,
  type NodeStatus__Output,
  type RegistryClient,
  type ReportAck__Output,
  type ReportReason,
  type TlsMaterial,
} from "../shared/index.js";

/** When to try again after every endpoint failed: backoff that doubles from `initialMs` up to `maxMs`. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/**
 * The pause before retry number `attempt` (0 first): "equal jitter", half of the capped exponential step fixed and
 * half random. Fixed half: a coordinator that is down is not hammered; random half: the nodes of a cluster that
 * booted together (power returned) do not retry in lockstep.
 */
export function backoffMs(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const step = Math.min(o.maxMs, o.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * (step / 2));
}

/** What the reporter needs of the agent. */
export interface ReporterDeps {
  nodeName: string;
  version: string;
  startedUnixMs: number;
  /**
   * The agent's own identity, as it serves it now: it is the client here, and serve checks that its certificate names
   * this node. A renewed certificate is used from the next connection on.
   */
  tls: () => TlsMaterial;
  /** host:port of each `kubecycle serve`, tried in order. */
  endpoints: readonly string[];
  /** The name serve's certificate must carry. Default: the endpoint's host. */
  serverName?: string;
  backoff: BackoffOptions;
  /** Deadline of one Report call. */
  callTimeoutMs: number;
  /** The node's status now, with fresh facts (the first report's). */
  status: () => Promise<NodeStatus__Output>;
  /**
   * Calls `send` with a status whenever a unit changes, and at least every `intervalMs`, until `signal` aborts (the
   * agent's one status poller).
   */
  watch: (intervalMs: number, send: (status: NodeStatus__Output) => void, signal: AbortSignal) => Promise<void>;
  heartbeatMs: number;
  log: Logger;
  /** For tests: the jitter's source. */
  random?: () => number;
}

// A report that is still to be sent outranks one that replaces it: serve must learn of a start even when a unit
// changed before the start was acknowledged.
const RANK: Record<ReportReason & string, number> = {
  REPORT_REASON_UNSPECIFIED: 0,
  REPORT_REASON_HEARTBEAT: 1,
  REPORT_REASON_UNIT_CHANGE: 2,
  REPORT_REASON_START: 3,
};

/** The unit states that matter to a report: state and enablement, not timestamps or restart counters. */
function unitsPrint(s: NodeStatus__Output): string {
  return s.units
    .map((u) => [u.name, u.loadState, u.activeState, u.subState, u.result, u.unitFileState].join("|"))
    .join("\n");
}

/**
 * Pushes the node's reports to `kubecycle serve`: one as soon as the agent serves (after a boot, or a restart of the
 * agent), then one whenever a watched unit changes state, and a heartbeat when nothing changed for a while. Each is
 * sent until one endpoint acknowledges it, with capped, jittered backoff in between; a newer report replaces one
 * still waiting (serve wants the node as it is, not its history). It runs beside the agent's server and never
 * before it: a coordinator that is down delays nothing on the node.
 */
export class BootReporter {
  readonly #d: ReporterDeps;
  readonly #instance = randomUUID();
  readonly #stop = new AbortController();
  readonly #clients = new Map<string, { client: RegistryClient; tls: TlsMaterial }>();
  #sequence = 0;
  #pending: BootReport | undefined;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;
  /** Reports acknowledged by serve, and when the first was (for the log and tests). */
  acknowledged = 0;
  firstAckUnixMs: number | undefined;

  constructor(deps: ReporterDeps) {
    this.#d = deps;
  }

  /** Begins reporting in the background. */
  start(): void {
    if (this.#d.endpoints.length === 0 || this.#running) return;
    this.#running = Promise.all([this.#watch(), this.#send()])
      .then(() => undefined)
      .catch((err: unknown) => this.#d.log.error({ err }, "boot reporter stopped"));
  }

  /** Stops reporting; a report in flight is cancelled (it is sent again after the agent's next start). */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#wake?.();
    await this.#running;
    for (const c of this.#clients.values()) c.client.close();
    this.#clients.clear();
  }

  async #watch(): Promise<void> {
    const signal = this.#stop.signal;
    let last: string | undefined;
    try {
      const first = await this.#d.status();
      last = unitsPrint(first);
      this.#queue(first, "REPORT_REASON_START");
    } catch (err) {
      if (signal.aborted) return;
      this.#d.log.warn({ err }, "could not read the node's status for its start report");
    }
    let first = true;
    await this.#d
      .watch(
        this.#d.heartbeatMs,
        (s) => {
          const print = unitsPrint(s);
          if (first) {
            // The watcher's first status comes at once: the start report, unless that one could not be read.
            first = false;
            if (last === undefined) this.#queue(s, "REPORT_REASON_START");
            else if (print !== last) this.#queue(s, "REPORT_REASON_UNIT_CHANGE");
          } else {
            this.#queue(s, print !== last ? "REPORT_REASON_UNIT_CHANGE" : "REPORT_REASON_HEARTBEAT");
          }
          last = print;
        },
        signal,
      )
      .catch((err: unknown) => {
        if (!signal.aborted) this.#d.log.warn({ err }, "watching the units for reports failed");
      });
  }

  #queue(s: NodeStatus__Output, reason: ReportReason & string): void {
    const before = this.#pending?.reason as (ReportReason & string) | undefined;
    const kept = before !== undefined && RANK[before] > RANK[reason] ? before : reason;
    this.#sequence += 1;
    this.#pending = {
      nodeName: this.#d.nodeName,
      bootId: s.facts?.bootId ?? "",
      bootedUnixMs: s.facts?.bootedUnixMs ?? 0,
      agentVersion: this.#d.version,
      agentStartedUnixMs: this.#d.startedUnixMs,
      agentInstance: this.#instance,
      sequence: this.#sequence,
      reason: kept,
      collectedUnixMs: s.collectedUnixMs,
      units: s.units,
      ...(s.facts ? { facts: s.facts } : {}),
    };
    this.#wake?.();
  }

  async #send(): Promise<void> {
    const signal = this.#stop.signal;
    let attempt = 0;
    let preferred = 0;
    while (!signal.aborted) {
      const report = this.#pending;
      if (!report) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      const errors: string[] = [];
      let acked = false;
      // The endpoint that answered last is asked first.
      const order = this.#d.endpoints.map((_, i) => (preferred + i) % this.#d.endpoints.length);
      for (const i of order) {
        const endpoint = this.#d.endpoints[i] ?? "";
        try {
          const ack = await this.#report(endpoint, report, signal);
          if (this.#pending === report) this.#pending = undefined;
          preferred = i;
          acked = true;
          this.acknowledged += 1;
          const first = this.firstAckUnixMs === undefined;
          this.firstAckUnixMs ??= Date.now();
          (first ? this.#d.log.info.bind(this.#d.log) : this.#d.log.debug.bind(this.#d.log))(
            {
              endpoint,
              reason: report.reason,
              sequence: report.sequence,
              stored: ack.stored,
              afterStartMs: Date.now() - this.#d.startedUnixMs,
              attempts: attempt + 1,
            },
            "report acknowledged",
          );
          break;
        } catch (err) {
          if (signal.aborted) return;
          errors.push(`${endpoint}: ${(err as Error).message}`);
        }
      }
      if (acked) {
        attempt = 0;
        continue;
      }
      const pause = backoffMs(attempt, this.#d.backoff, this.#d.random);
      // Said once, then every tenth try: a coordinator down for hours must not flood the node's journal.
      if (attempt % 10 === 0) {
        this.#d.log.warn({ errors, attempt: attempt + 1, retryInMs: pause }, "no coordinator acknowledged the report");
      }
      attempt += 1;
      // Its abort listener goes with the pause: one left per retry added up (MaxListenersExceededWarning).
      await sleep(pause, undefined, { signal }).catch(() => undefined);
    }
  }

  #client(endpoint: string): RegistryClient {
    const tls = this.#d.tls();
    const kept = this.#clients.get(endpoint);
    if (kept?.tls === tls) return kept.client;
    kept?.client.close();
    const Registry = loadRegistryProto().kubecycle.v1.Registry;
    const dial = serveDial(endpoint, tls, this.#d.serverName);
    const client = new Registry(endpoint, dial.credentials, {
      ...dial.options,
      "grpc.initial_reconnect_backoff_ms": 500,
      "grpc.max_reconnect_backoff_ms": this.#d.backoff.maxMs,
    });
    this.#clients.set(endpoint, { client, tls });
    return client;
  }

  #report(endpoint: string, report: BootReport, signal: AbortSignal): Promise<ReportAck__Output> {
    return new Promise((resolve, reject) => {
      const call = this.#client(endpoint).Report(
        report,
        new Metadata(),
        { deadline: new Date(Date.now() + this.#d.callTimeoutMs) },
        (err: ServiceError | null, ack?: ReportAck__Output) => {
          signal.removeEventListener("abort", onAbort);
          if (err || !ack)
            reject(
              fromGrpcError(err ?? new KubecycleError("INTERNAL", "no answer"), {
                rpc: "Report",
                node: endpoint,
                peer: "serve",
              }),
            );
          else resolve(ack);
        },
      );
      const onAbort = () => call.cancel();
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
