// A simulated cluster ready for kubecycle: the model, its agents on loopback addresses, the API, a kubecycle config
// pointing at them, and the real CLI entry (main) run in-process with the simulated API injected.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { main } from "../../coordinator/index.js";
import type { TlsFiles } from "../../shared/index.js";
import { SimAgents } from "./agents.js";
import { SimClusterApi } from "./api.js";
import { SimCluster } from "./model.js";
import type { SimPki } from "./pki.js";
import type { SimClusterSpec } from "./spec.js";

/** What `kubecycle ...` did: its exit code, its output, and with `-o json` its events. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  events: Array<Record<string, unknown> & { type: string }>;
}

/** Timeouts short enough for tests (the coordinator's config, in milliseconds). */
export const TEST_TIMEOUTS = {
  lockMs: 5000,
  backupMs: 10_000,
  cordonMs: 5000,
  unitSettleMs: 4000,
  podSandboxesMs: 5000,
  nodeReadyMs: 10_000,
  etcdHealthyMs: 10_000,
  etcdProbeMs: 1000,
  controlPlaneMs: 10_000,
  powerOffMs: 10_000,
  cleanupMs: 5000,
};

export interface SimFixture {
  dir: string;
  cluster: SimCluster;
  agents: SimAgents;
  api: SimClusterApi;
  /** A kubecycle config with the operator's certificate, and one with the viewer's. */
  config: string;
  viewerConfig: string;
  stateDir: string;
  /** Runs `kubecycle ARGS -c CONFIG` in this process, with the simulated API. */
  kubecycle(args: readonly string[], opts?: { config?: string }): Promise<CliResult>;
  close(): void;
}

/** Writes a kubecycle config for the simulated cluster. */
export async function writeSimConfig(opts: {
  path: string;
  cluster: string;
  port: number;
  tls: TlsFiles;
  stateDir: string;
  timeouts?: Record<string, number>;
  agents?: Record<string, number>;
}): Promise<void> {
  const config = {
    cluster: opts.cluster,
    // Never read: the API is injected (CliIo.clusterApi).
    kubeconfig: join(opts.stateDir, "..", "no-kubeconfig"),
    agents: { port: opts.port, tls: opts.tls, callTimeoutMs: 2000, unreachableMs: 1000, ...opts.agents },
    stateDir: opts.stateDir,
    timeouts: opts.timeouts ?? TEST_TIMEOUTS,
  };
  await writeFile(opts.path, stringify(config));
}

/** Starts a simulated cluster of `spec` with the certificates of `pki` (which must name its nodes). */
export async function startSimFixture(opts: { dir: string; pki: SimPki; spec: SimClusterSpec }): Promise<SimFixture> {
  await mkdir(opts.dir, { recursive: true });
  const cluster = new SimCluster(opts.spec);
  const agents = await SimAgents.start(cluster, opts.pki);
  const api = new SimClusterApi(cluster);
  const stateDir = join(opts.dir, "state");
  const config = join(opts.dir, "kubecycle.yaml");
  const viewerConfig = join(opts.dir, "kubecycle-viewer.yaml");
  const base = { cluster: opts.spec.name, port: agents.port, stateDir };
  await writeSimConfig({ ...base, path: config, tls: opts.pki.operator });
  await writeSimConfig({ ...base, path: viewerConfig, tls: opts.pki.viewer });
  return {
    dir: opts.dir,
    cluster,
    agents,
    api,
    config,
    viewerConfig,
    stateDir,
    async kubecycle(args, run = {}) {
      let stdout = "";
      let stderr = "";
      const code = await main([...args, "-c", run.config ?? config], {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
        env: { PATH: process.env.PATH ?? "" },
        clusterApi: api,
      });
      const events = stdout.split("\n").flatMap((l): CliResult["events"] => {
        try {
          const e = JSON.parse(l) as unknown;
          return e && typeof e === "object" && "type" in e ? [e as CliResult["events"][number]] : [];
        } catch {
          return [];
        }
      });
      return { code, stdout, stderr, events };
    },
    close() {
      agents.close();
      cluster.close();
    },
  };
}
