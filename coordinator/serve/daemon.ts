import { readdir, stat } from "node:fs/promises";
import type { Server as HttpServer } from "node:http";
import { join } from "node:path";
import type { Server } from "@grpc/grpc-js";
import {
  KubecycleError,
  TlsIdentity,
  mtlsServerCredentials,
  type Logger,
  type MtlsServerCredentials,
  type StartOnBoot,
} from "../../shared/index.js";
import type { CompiledCoordinatorConfig, CompiledServeConfig } from "../config.js";
import { hostPort } from "../config.js";
import { findClusterRecord } from "../record.js";
import { readOperation, type OperationOrigin, type OperationSummary } from "../run/journal.js";
import { ServeMetrics } from "./metrics.js";
import { startStatusPage, type StatusPage } from "./page/index.js";
import { createRegistryServer } from "./registry.js";
import { SERVE_ORIGIN, startOnBootState, type JournalView, type StartOnBootState } from "./start-on-boot.js";
import { ReportStore } from "./store.js";

/** serve's version, reported by ListReports. */
export const SERVE_VERSION = "0.1.0";

/** Options of {@link startServe}. */
export interface ServeOptions {
  config: Readonly<CompiledCoordinatorConfig>;
  log: Logger;
  /**
   * Runs the `cluster start` a stop armed, journaled with `origin`; resolves or rejects when it ends. The command
   * runs the CLI's own start (same plan, checks, journal and lock); tests may count calls instead.
   */
  runStart: (origin: OperationOrigin) => Promise<void>;
  /** How often the records are read again for the armed start and the operations' metrics. Default 2 s. */
  pollMs?: number;
}

/** A running serve. */
export interface RunningServe {
  /** The Registry's port (useful with port 0 in tests). */
  readonly port: number;
  /** The metrics' port, when they are on. */
  readonly metricsPort: number | undefined;
  /** The status page's port, when it is on. */
  readonly pagePort: number | undefined;
  readonly store: ReportStore;
  readonly metrics: ServeMetrics;
  /** The armed start as last decided. */
  startOnBoot(): StartOnBootState;
  /** Reads the records again and acts on them now (also called by the poll and on every report). */
  evaluate(): Promise<void>;
  /** Stops serving: a start it is running is interrupted by the same signal, not here. */
  stop(): Promise<void>;
}

/** The serve part of the config, which `kubecycle serve` cannot run without. */
export function serveConfig(config: Readonly<CompiledCoordinatorConfig>): CompiledServeConfig & {
  tls: { ca: string; cert: string; key: string };
} {
  const s = config.serve;
  if (!s?.tls) {
    throw new KubecycleError("CONFIG_INVALID", `${config.source}: serve.tls: kubecycle serve needs its certificate`, {
      field: "serve.tls",
      hint: "issue one with `kubecycle pki serve NAME --ip ADDRESS` and name it in serve.tls.cert and serve.tls.key",
    });
  }
  return { ...s, tls: s.tls };
}

/**
 * `kubecycle serve`: receives the agents' reports over mTLS and keeps them durably in `<stateDir>/serve/`, serves
 * them to `kubecycle status`, exposes Prometheus metrics, and runs the start a `cluster stop --start-on-boot` armed
 * once every recorded node has reported from a new boot.
 */
export async function startServe(opts: ServeOptions): Promise<RunningServe> {
  const { config, log } = opts;
  const sc = serveConfig(config);
  // serve's identity, reloaded without a restart when its files change (a new certificate copied in): new connections
  // to the Registry and to the status page get the new certificate and CA.
  let page: StatusPage | undefined;
  const identity = await TlsIdentity.load({
    files: sc.tls,
    field: "serve.tls",
    owner: "serve's",
    log: log.child({ component: "tls" }),
    // Called on reloads only, after the servers below are up.
    apply: (next) => {
      credentials.update(next.material);
      page?.updateTls(next.material);
    },
  });
  const tls = identity.current().material;
  const credentials = mtlsServerCredentials(tls);
  const store = await ReportStore.open(join(config.stateDir, "serve"), log.child({ component: "store" }));
  let decided: StartOnBootState = { state: "none" };
  const metrics = new ServeMetrics({
    reports: () => store.all(),
    staleAfterMs: sc.staleAfterMs,
    waitingNodes: () => (decided.state === "waiting" ? decided.missing.length : 0),
  });
  const server: Server = createRegistryServer({
    store,
    log: log.child({ component: "registry" }),
    version: SERVE_VERSION,
    startOnBoot: () => toProto(decided),
    onReport: (outcome) => metrics.reports.inc({ outcome }),
  });
  const port = await bind(server, sc.listen.address, sc.listen.port, credentials);
  let http: HttpServer | undefined;
  let metricsPort: number | undefined;
  try {
    if (sc.metrics) ({ server: http, port: metricsPort } = await metrics.listen(sc.metrics.address, sc.metrics.port));
  } catch (err) {
    server.forceShutdown();
    await store.close();
    throw new KubecycleError(
      "CONFIG_INVALID",
      `serve.metrics: cannot listen on ${hostPort(sc.metrics?.address ?? "", sc.metrics?.port ?? 0)}: ${(err as Error).message}`,
      { field: "serve.metrics" },
    );
  }

  if (sc.page) {
    try {
      page = await startStatusPage({
        config,
        page: sc.page,
        tls,
        store,
        startOnBoot: () => toProto(decided),
        log: log.child({ component: "page" }),
      });
    } catch (err) {
      server.forceShutdown();
      await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
      await store.close();
      if (err instanceof KubecycleError) throw err;
      throw new KubecycleError(
        "CONFIG_INVALID",
        `serve.page: cannot serve the status page on ${hostPort(sc.page.address, sc.page.port)}: ${(err as Error).message}`,
        { field: "serve.page", hint: "choose a free address and port in serve.page, or port 0 to turn it off" },
      );
    }
  }

  const counted = new Set<string>();
  const journalSeen = new Map<string, string>();
  let firing = false;
  let retryAt = 0;
  let stopped = false;
  let evaluating: Promise<void> | undefined;
  let again = false;

  /** Every operation run that ended and was not counted yet, into the metrics. */
  const countOperations = async (names: string[]) => {
    for (const op of names) {
      const journal = join(config.stateDir, "operations", op, "journal.jsonl");
      const st = await stat(journal).catch(() => undefined);
      if (!st) continue;
      const print = `${st.size}:${st.mtimeMs}`;
      if (journalSeen.get(op) === print) continue;
      const o = await readOperation(config.stateDir, op).catch(() => undefined);
      if (!o) continue;
      journalSeen.set(op, print);
      if (o.result === "running") continue;
      const key = `${op}#${o.runs}#${o.result}`;
      if (counted.has(key)) continue;
      counted.add(key);
      metrics.observeOperation(o);
    }
  };

  const decide = async (): Promise<void> => {
    const names = (await readdir(join(config.stateDir, "operations")).catch(() => [] as string[])).sort();
    await countOperations(names);
    const record = await findClusterRecord(config.stateDir).catch((err: unknown) => {
      log.warn({ err }, "cannot read the cluster record");
      return undefined;
    });
    let view: JournalView = { stop: undefined, startsAfter: [] };
    if (record?.startOnBoot && record.cluster === config.cluster) {
      const later = names.filter((n) => n > record.op);
      const ops = await Promise.all(
        [record.op, ...later].map((n) => readOperation(config.stateDir, n).catch(() => undefined)),
      );
      const [stop, ...rest] = ops;
      view = {
        stop,
        startsAfter: rest.filter((o): o is OperationSummary => o !== undefined && o.procedure === "cluster start"),
      };
    }
    const before = decided.state;
    decided = startOnBootState(record?.cluster === config.cluster ? record : undefined, view, (n) => store.get(n));
    if (decided.state !== before) {
      log.info({ startOnBoot: toProto(decided) }, `start on boot: ${decided.state}`);
      page?.changed();
    }
    if (decided.state === "ready" && !firing && !stopped && Date.now() >= retryAt) fire(decided.why);
  };

  const fire = (why: string) => {
    firing = true;
    log.info({ why }, "every recorded node reported from a new boot: starting the cluster");
    opts
      .runStart({ by: SERVE_ORIGIN, why })
      .then(
        () => log.info("the start on boot succeeded"),
        (err: unknown) => {
          // A start that journaled its failure is the operator's to resume; one that never began is tried again.
          retryAt = Date.now() + 30_000;
          log.error({ err }, `the start on boot did not succeed: ${(err as Error).message}`);
        },
      )
      .finally(() => {
        firing = false;
        void evaluate();
      });
  };

  // One evaluation at a time; one asked for meanwhile runs once after it.
  const evaluate = (): Promise<void> => {
    if (evaluating) {
      again = true;
      return evaluating;
    }
    evaluating = (async () => {
      do {
        again = false;
        try {
          await decide();
        } catch (err) {
          log.error({ err }, "evaluating the start on boot failed");
        }
      } while (again && !stopped);
    })().finally(() => {
      evaluating = undefined;
    });
    return evaluating;
  };

  store.onStored = () => {
    page?.changed();
    void evaluate();
  };
  await evaluate();
  const timer = setInterval(() => void evaluate(), opts.pollMs ?? 2000);
  identity.watch();
  log.info(
    {
      listen: hostPort(sc.listen.address, port),
      metrics: metricsPort,
      page: page && sc.page ? hostPort(sc.page.address, page.port) : undefined,
      stateDir: config.stateDir,
    },
    "kubecycle serve listening",
  );

  return {
    port,
    metricsPort,
    pagePort: page?.port,
    store,
    metrics,
    startOnBoot: () => decided,
    evaluate,
    async stop() {
      stopped = true;
      clearInterval(timer);
      identity.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
      await page?.stop();
      await evaluating;
      await store.close();
    },
  };
}

/** The armed start as ListReports tells it. */
export function toProto(s: StartOnBootState): StartOnBoot | undefined {
  switch (s.state) {
    case "none":
      return undefined;
    case "waiting":
      return {
        stopOperation: s.stopOp,
        state: s.state,
        armedUnixMs: s.armedUnixMs,
        reported: s.reported,
        missing: s.missing.map((m) => ({
          nodeName: m.node,
          sinceUnixMs: m.sinceUnixMs,
          stoppedBootId: m.stoppedBootId,
        })),
        reason: `waiting for ${s.missing.map((m) => m.node).join(", ")} to report from a new boot`,
      };
    case "ready":
      return {
        stopOperation: s.stopOp,
        state: "starting",
        armedUnixMs: s.armedUnixMs,
        reported: s.reported,
        reason: s.why,
      };
    case "waiting-for-stop":
    case "disarmed":
      return {
        stopOperation: s.stopOp,
        state: s.state,
        reason: s.reason,
        ...(s.state === "disarmed" && s.startOp ? { startOperation: s.startOp } : {}),
      };
    default:
      return { stopOperation: s.stopOp, state: s.state, startOperation: s.startOp, reason: s.reason };
  }
}

function bind(server: Server, address: string, port: number, credentials: MtlsServerCredentials) {
  const target = hostPort(address, port);
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(target, credentials, (err, bound) => {
      if (err) {
        reject(
          new KubecycleError("CONFIG_INVALID", `serve.listen: cannot listen on ${target}: ${err.message}`, {
            field: "serve.listen",
            hint: "choose a free address and port in serve.listen",
          }),
        );
      } else resolve(bound);
    });
  });
}
