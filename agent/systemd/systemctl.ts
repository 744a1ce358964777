import { KubecycleError } from "../../shared/index.js";
import { failureText, runCommand, type RunResult } from "../exec.js";
import type { UnitManager, UnitState } from "./unit-manager.js";

/** Options for {@link SystemctlUnitManager}. */
export interface SystemctlOptions {
  /** systemctl binary. Default "systemctl" (from PATH). */
  systemctl?: string;
  /** journalctl binary. Default "journalctl" (from PATH). */
  journalctl?: string;
  /** Cut a systemctl call that hangs after this long. Default 30 s. */
  commandTimeoutMs?: number;
}

const SHOW_PROPERTIES = [
  "Id",
  "LoadState",
  "ActiveState",
  "SubState",
  "Result",
  "UnitFileState",
  "MainPID",
  "NRestarts",
  "InvocationID",
  "Job",
  "StateChangeTimestamp",
] as const;

/** Drives the real systemd. Every call is an argv array: no shell ever sees a unit name. */
export class SystemctlUnitManager implements UnitManager {
  readonly #systemctl: string;
  readonly #journalctl: string;
  readonly #timeoutMs: number;

  constructor(opts: SystemctlOptions = {}) {
    this.#systemctl = opts.systemctl ?? "systemctl";
    this.#journalctl = opts.journalctl ?? "journalctl";
    this.#timeoutMs = opts.commandTimeoutMs ?? 30_000;
  }

  async states(units: readonly string[], signal?: AbortSignal): Promise<UnitState[]> {
    if (units.length === 0) return [];
    const res = await this.#run(
      this.#systemctl,
      ["show", "--timestamp=unix", `--property=${SHOW_PROPERTIES.join(",")}`, "--", ...units],
      signal,
    );
    if (res.code !== 0) throw systemdError(`systemctl show ${units.join(" ")}`, res);
    // One block of KEY=VALUE lines per unit, separated by blank lines, in the order asked.
    const blocks = res.stdout.split(/\n\s*\n/).filter((b) => b.trim() !== "");
    if (blocks.length !== units.length) {
      throw new KubecycleError("SYSTEMD_FAILED", `systemctl show returned ${blocks.length} units for ${units.length}`, {
        stdout: res.stdout.slice(0, 500),
      });
    }
    return blocks.map((block, i) => parseShow(units[i] ?? "", block));
  }

  async queueStart(unit: string, signal?: AbortSignal): Promise<void> {
    await this.#job("start", unit, signal);
  }

  async queueStop(unit: string, signal?: AbortSignal): Promise<void> {
    await this.#job("stop", unit, signal);
  }

  async setEnabled(unit: string, enabled: boolean, signal?: AbortSignal): Promise<void> {
    const verb = enabled ? "enable" : "disable";
    const res = await this.#run(this.#systemctl, [verb, "--", unit], signal);
    if (res.code !== 0) throw systemdError(`systemctl ${verb} ${unit}`, res, unit);
  }

  async journal(unit: string, lines: number, signal?: AbortSignal): Promise<string[]> {
    if (lines <= 0) return [];
    const res = await this.#run(
      this.#journalctl,
      ["--no-pager", "--quiet", "--output=short-iso", `--lines=${lines}`, `--unit=${unit}`],
      signal,
    );
    // A journal we cannot read must not hide the failure it was meant to explain.
    if (res.code !== 0) return [`(journal unavailable: ${res.stderr.trim() || `journalctl exited ${res.code}`})`];
    return res.stdout.split("\n").filter((l) => l !== "");
  }

  async daemonReload(signal?: AbortSignal): Promise<void> {
    const res = await this.#run(this.#systemctl, ["daemon-reload"], signal);
    if (res.code !== 0) throw systemdError("systemctl daemon-reload", res);
  }

  async powerOff(signal?: AbortSignal): Promise<void> {
    // systemctl poweroff queues the shutdown job and returns; the agent is then stopped with everything else.
    const res = await this.#run(this.#systemctl, ["poweroff", "--no-block"], signal);
    if (res.code !== 0) throw systemdError("systemctl poweroff", res);
  }

  async #job(verb: "start" | "stop", unit: string, signal?: AbortSignal): Promise<void> {
    const res = await this.#run(this.#systemctl, [verb, "--no-block", "--", unit], signal);
    if (res.code !== 0) throw systemdError(`systemctl ${verb} ${unit}`, res, unit);
  }

  #run(file: string, args: string[], signal?: AbortSignal): Promise<RunResult> {
    return runCommand(file, args, {
      timeoutMs: this.#timeoutMs,
      signal,
      // SYSTEMCTL_SKIP_SYSV: a packaged init script beside the unit (Debian's etcd-server ships /etc/init.d/etcd)
      // makes enable/disable run update-rc.d, which writes /etc/rc?.d, outside what the hardened unit lets the agent
      // write; systemd boots from the unit alone, so the SysV links are not the agent's to keep in step.
      env: { SYSTEMD_PAGER: "", SYSTEMD_COLORS: "0", SYSTEMCTL_SKIP_SYSV: "1" },
    });
  }
}

function systemdError(what: string, res: RunResult, unit?: string): KubecycleError {
  return new KubecycleError(
    "SYSTEMD_FAILED",
    `${what} failed: ${failureText(res)}`,
    unit === undefined ? {} : { unit },
  );
}

/** Parses one `systemctl show` block. Exported for unit tests. */
export function parseShow(unit: string, block: string): UnitState {
  const props = new Map<string, string>();
  for (const line of block.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) props.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const get = (k: (typeof SHOW_PROPERTIES)[number]) => props.get(k) ?? "";
  const int = (k: (typeof SHOW_PROPERTIES)[number]) => {
    const n = Number.parseInt(get(k), 10);
    return Number.isFinite(n) && n >= 0 ? n : 0;
  };
  // --timestamp=unix prints "@1700000000"; older systemd prints nothing for units that never changed state.
  const ts = /^@(\d+)$/.exec(get("StateChangeTimestamp"));
  const job = get("Job");
  return {
    name: get("Id") || unit,
    loadState: get("LoadState"),
    activeState: get("ActiveState"),
    subState: get("SubState"),
    result: get("Result"),
    unitFileState: get("UnitFileState"),
    mainPid: int("MainPID"),
    restarts: int("NRestarts"),
    invocationId: get("InvocationID"),
    jobPending: job !== "" && job !== "0",
    stateChangeUnixMs: ts?.[1] ? Number(ts[1]) * 1000 : 0,
  };
}
