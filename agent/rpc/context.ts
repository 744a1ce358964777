import { KubecycleError, type Logger, type TlsIdentity } from "../../shared/index.js";
import type { CompiledAgentConfig } from "../config.js";
import type { NodeDiagnostics } from "../diagnostics.js";
import type { EtcdProbe } from "../etcd.js";
import type { NodeLayoutReader } from "../layout.js";
import type { Lifecycle } from "../lifecycle.js";
import type { StaticPodReader } from "../manifests.js";
import type { Mutations } from "../mutations.js";
import type { PodSandboxes } from "../pods.js";
import type { PowerControl } from "../power.js";
import type { EtcdRestorer } from "../restore.js";
import type { StatusReader, StatusWatchers } from "../status.js";
import type { UnitStateCache } from "../unit-cache.js";
import type { UnitController } from "../units.js";
import type { Admission } from "./admission.js";
import type { AuthorizationTable } from "./authz.js";

/** What the RPC handlers need from the rest of the agent. */
export interface RpcDeps {
  config: Readonly<CompiledAgentConfig>;
  nodeName: string;
  version: string;
  startedUnixMs: number;
  /** The certificate and CA served now (they change on reload). */
  tls: Pick<TlsIdentity, "current" | "files">;
  lifecycle: Lifecycle;
  units: UnitController;
  /** Readers' unit states: one shared, briefly cached systemctl show. */
  unitStates: UnitStateCache;
  status: StatusReader;
  /** The open status streams, fed by one poller. */
  watchers: StatusWatchers;
  etcd: EtcdProbe;
  pods: PodSandboxes;
  layout: NodeLayoutReader;
  staticPods: StaticPodReader;
  power: PowerControl;
  /** The doctor's reads: journals, clock, disk usage, network reachability. */
  diagnostics: NodeDiagnostics;
  /** Staging snapshots, restoring and rejoining the local etcd member. */
  restorer: EtcdRestorer;
  mutations: Mutations;
  log: Logger;
  /** Aborted when the agent begins draining: status streams end. */
  drainSignal: AbortSignal;
}

/** The handlers' context: the agent, who may call what, and what may be in flight. */
export interface RpcContext extends RpcDeps {
  table: AuthorizationTable;
  admission: Admission;
}

/**
 * A requested timeout, or the default when none (0) was asked. More than `max` is refused: what a caller may ask for
 * is bounded, so no read can be made to hold the agent's resources for long.
 */
export function requestedTimeout(
  asked: number | undefined,
  fallback: number,
  max: number,
  field = "timeout_ms",
): number {
  const ms = asked ?? 0;
  if (ms > max) throw new KubecycleError("INVALID_REQUEST", `${field}: at most ${max}, got ${ms}`, { field });
  return ms > 0 ? ms : fallback;
}
