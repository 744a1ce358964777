/** A unit's state as systemd reports it (`systemctl show`). */
export interface UnitState {
  /** Full unit name, e.g. "kubelet.service". */
  name: string;
  /** loaded, not-found, masked, error, ... */
  loadState: string;
  /** active, inactive, failed, activating, deactivating, reloading */
  activeState: string;
  subState: string;
  /** success, exit-code, signal, timeout, core-dump, ... */
  result: string;
  /** enabled, disabled, static, masked, ... (empty when the unit has no file) */
  unitFileState: string;
  mainPid: number;
  restarts: number;
  /** Changes on every (re)start; tells a restarted unit from one that stayed up. */
  invocationId: string;
  /** True while systemd has a job queued or running for the unit. */
  jobPending: boolean;
  /** Last state change, Unix ms; 0 if never. */
  stateChangeUnixMs: number;
}

/**
 * The small interface between the agent and the service manager. The shipped implementation drives the real
 * systemd through systemctl and journalctl (see systemctl.ts); everything above it reads without knowing that.
 */
export interface UnitManager {
  /** The state of each unit, in the order asked; units that do not exist come back with loadState "not-found". */
  states(units: readonly string[], signal?: AbortSignal): Promise<UnitState[]>;
  /** Queues a start job and returns without waiting for it (`systemctl start --no-block`). */
  queueStart(unit: string, signal?: AbortSignal): Promise<void>;
  /** Queues a stop job and returns without waiting for it (`systemctl stop --no-block`). */
  queueStop(unit: string, signal?: AbortSignal): Promise<void>;
  /** Enables or disables start at boot. */
  setEnabled(unit: string, enabled: boolean, signal?: AbortSignal): Promise<void>;
  /** The unit's last journal lines, oldest first. */
  journal(unit: string, lines: number, signal?: AbortSignal): Promise<string[]>;
  /** Reloads unit files and drop-ins (`systemctl daemon-reload`), after a drop-in was written or removed. */
  daemonReload(signal?: AbortSignal): Promise<void>;
  /** Asks the service manager to power the node off (`systemctl poweroff`); returns once the request is queued. */
  powerOff(signal?: AbortSignal): Promise<void>;
}
