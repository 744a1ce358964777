import { setMaxListeners } from "node:events";
import { join } from "node:path";
import { hostname } from "node:os";
import type { Server } from "@grpc/grpc-js";
import {
  KubecycleError,
  TlsIdentity,
  VERSION,
  type Logger,
  type ReloadOutcome,
  type ReloadTrigger,
} from "../shared/index.js";
import type { CompiledAgentConfig } from "./config.js";
import { NodeDiagnostics } from "./diagnostics.js";
import { EtcdProbe } from "./etcd.js";
import { FactsCollector } from "./facts.js";
import { OperationFence } from "./fence.js";
import { Mutations } from "./mutations.js";
import { Lifecycle } from "./lifecycle.js";
import { OpRecords } from "./op-records.js";
import { NodeLayoutReader } from "./layout.js";
import { StaticPodReader } from "./manifests.js";
import { PodSandboxes } from "./pods.js";
import { PowerControl } from "./power.js";
import { BootReporter } from "./report.js";
import { EtcdRestorer } from "./restore.js";
import { createServer, serverCredentials } from "./server.js";
import { KUBELET_UNIT } from "./layout.js";
import { StatusReader, StatusWatchers } from "./status.js";
import { SystemctlUnitManager } from "./systemd/systemctl.js";
import type { UnitManager } from "./systemd/unit-manager.js";
import { UnitStateCache } from "./unit-cache.js";
import { UnitController } from "./units.js";

/** The agent's version, reported by Health. */
export const AGENT_VERSION: string = VERSION;

/** A started agent. */
export interface RunningAgent {
  readonly lifecycle: Lifecycle;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  readonly nodeName: string;
  /** Its reports to `kubecycle serve` (none without report.endpoints). */
  readonly reporter: BootReporter;
  /**
   * Reads the certificate, key and CA files again and serves them from the next handshake on, if they pass the
   * checks; otherwise logs why and keeps serving the old ones. The agent also does this by itself when the files change.
   */
  reloadTls(trigger: ReloadTrigger): Promise<ReloadOutcome>;
  /** Drains and stops: no new changes, in-flight calls get `graceMs` to finish, then are cut. Idempotent. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Starts the agent: loads its TLS identity, opens its state, binds the mTLS server and starts serving. */
export async function startAgent(opts: {
  config: Readonly<CompiledAgentConfig>;
  log: Logger;
  /** Default: the real systemd through systemctl. */
  manager?: UnitManager;
  /** Quiet time after a change to the TLS files before they are reloaded. Default TLS_RELOAD_DEBOUNCE_MS (500 ms). */
  tlsReloadDebounceMs?: number;
}): Promise<RunningAgent> {
  const { config, log } = opts;
  const lifecycle = new Lifecycle();
  const nodeName = config.nodeName ?? hostname();
  const drain = new AbortController();
  // Every open status stream listens for the drain: as many as the stream bounds allow, not a leak.
  setMaxListeners(2 * config.limits.streamsPerRole + 16, drain.signal);
  const force = new AbortController();
  const facts = new FactsCollector({ log, refreshMs: config.status.factsRefreshMs });
  let server: Server | undefined;
  let power: PowerControl | undefined;
  let reporter: BootReporter | undefined;
  let tls: TlsIdentity | undefined;
  let etcd: EtcdProbe | undefined;
  try {
    // The credentials are made from the first identity that passed its checks; each reload hands them the new one.
    const identity = await TlsIdentity.load({
      files: config.tls,
      log: log.child({ component: "tls" }),
      apply: (next) => credentials.update(next.material),
      debounceMs: opts.tlsReloadDebounceMs,
    });
    tls = identity;
    const credentials = serverCredentials(identity.current().material);
    const records = new OpRecords(join(config.stateDir, "operations"), config.operations.maxRecords, log);
    await records.open();
    const fence = await OperationFence.open(join(config.stateDir, "fence.json"), log);
    const mutations = new Mutations(records, fence);
    const manager = opts.manager ?? new SystemctlUnitManager(config.systemd);
    const units = new UnitController({ manager, mutations, config, log, signal: force.signal });
    // Readers share one briefly cached systemctl show; unit control reads systemd directly.
    const unitStates = new UnitStateCache(manager, config.units.allow, config.status.unitCacheMs);
    const staticPods = new StaticPodReader(config.kubernetes.manifestDir);
    const layout = new NodeLayoutReader({
      nodeName,
      allow: config.units.allow,
      etcdEnvFile: config.etcd.envFile,
      pkiDir: config.kubernetes.pkiDir,
      staticPods,
      unitStates: (units, signal) => unitStates.states(units, signal),
      bootId: () => facts.bootId(),
      addresses: () => facts.addresses(),
    });
    etcd = new EtcdProbe({
      config: (signal) => layout.etcd(signal),
      etcdctl: config.etcd.etcdctl,
      workDir: config.stateDir,
    });
    const pods = new PodSandboxes({ crictl: config.pods.crictl, concurrency: config.pods.stopConcurrency });
    const diagnostics = new NodeDiagnostics({
      manager,
      allow: config.units.allow,
      journalLines: config.units.journalLines,
      kubeletKubeconfig: config.kubernetes.kubeletKubeconfig,
      layout: async (signal) => {
        const l = await layout.layout(signal);
        return {
          etcd: await layout.etcd(signal),
          runtimeKind: l.runtime?.kind ?? "",
          kubelet: l.kubeletUnit === KUBELET_UNIT,
        };
      },
    });
    const restorer = new EtcdRestorer({
      config: (signal) => layout.etcd(signal),
      manager,
      etcdctl: config.etcd.etcdctl,
      etcdutl: config.etcd.etcdutl,
      stateDir: config.stateDir,
      restoreTimeoutMs: config.etcd.restoreTimeoutMs,
      etcdTimeoutMs: config.etcd.timeoutMs,
      log,
    });
    power = new PowerControl({ manager, mutations, bootId: () => facts.bootId(), log });
    const status = new StatusReader({
      nodeName,
      units: unitStates,
      facts,
      etcd,
      etcdTimeoutMs: config.etcd.timeoutMs,
    });
    const startedUnixMs = Date.now();
    const watchers = new StatusWatchers(status, config.status.pollIntervalMs);
    server = createServer({
      config,
      nodeName,
      version: AGENT_VERSION,
      startedUnixMs,
      tls: identity,
      lifecycle,
      units,
      unitStates,
      status,
      watchers,
      etcd,
      pods,
      layout,
      staticPods,
      power,
      diagnostics,
      restorer,
      mutations,
      log,
      drainSignal: drain.signal,
    });
    const port = await bind(server, config.listen.address, config.listen.port, credentials);
    identity.watch();
    lifecycle.to("serving");
    facts.start();
    // Reports begin once the agent serves, and run beside it: a coordinator that is down delays nothing here.
    reporter = new BootReporter({
      nodeName,
      version: AGENT_VERSION,
      startedUnixMs,
      tls: () => identity.current().material,
      endpoints: config.report.endpoints,
      ...(config.report.serverName ? { serverName: config.report.serverName } : {}),
      backoff: { initialMs: config.report.initialBackoffMs, maxMs: config.report.maxBackoffMs },
      callTimeoutMs: config.report.callTimeoutMs,
      heartbeatMs: config.report.heartbeatMs,
      status: () => status.status({ refreshFacts: true }),
      watch: (intervalMs, send, signal) => watchers.watch(intervalMs, send, signal),
      log: log.child({ component: "report" }),
    });
    reporter.start();
    log.info({ node: nodeName, address: config.listen.address, port, units: config.units.allow }, "agent serving");

    let stopping: Promise<void> | undefined;
    const running: RunningAgent = {
      lifecycle,
      port,
      nodeName,
      reporter,
      reloadTls: (trigger) => identity.reload(trigger),
      shutdown(graceMs = config.shutdownGraceMs) {
        stopping ??= drainAndStop(server as Server, graceMs);
        return stopping;
      },
    };
    return running;
  } catch (err) {
    lifecycle.to("failed");
    tls?.close();
    etcd?.close();
    facts.stop();
    await reporter?.stop();
    server?.forceShutdown();
    throw err;
  }

  async function drainAndStop(srv: Server, graceMs: number): Promise<void> {
    log.info({ graceMs }, "agent draining");
    lifecycle.to("draining");
    drain.abort();
    tls?.close();
    etcd?.close();
    facts.stop();
    await reporter?.stop();
    // A power-off that was answered must happen, also when the agent is stopped before its delay ran out.
    await power?.flush();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        log.warn({ graceMs }, "in-flight calls did not finish in time; cutting them");
        force.abort();
        srv.forceShutdown();
        resolve();
      }, graceMs);
      srv.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    lifecycle.to("stopped");
    log.info("agent stopped");
  }
}

function bind(
  server: Server,
  address: string,
  port: number,
  creds: ReturnType<typeof serverCredentials>,
): Promise<number> {
  const target = address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(target, creds, (err, bound) => {
      if (err) {
        reject(
          new KubecycleError("CONFIG_INVALID", `cannot listen on ${target}: ${err.message}`, {
            field: "listen",
            hint: "choose a free address and port in listen.address / listen.port",
          }),
        );
      } else resolve(bound);
    });
  });
}
