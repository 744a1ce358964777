// A unit manager for in-process agent tests: units exist or not, start and stop settle at once, and every call is
// recorded. Test support only; never shipped.
import type { UnitManager, UnitState } from "../systemd/unit-manager.js";

/** A fake systemd: the units given exist (active unless said otherwise); all others are not-found. */
export class FakeUnitManager implements UnitManager {
  readonly #units = new Map<string, UnitState>();
  /** Every call, in order: "start kubelet.service", "poweroff", ... */
  readonly calls: string[] = [];
  /** How many times states() was asked. */
  stateReads = 0;
  #invocation = 0;

  constructor(existing: readonly string[] = [], inactive: readonly string[] = []) {
    for (const u of existing) this.#units.set(u, this.#state(u, inactive.includes(u) ? "inactive" : "active"));
  }

  #state(name: string, activeState: "active" | "inactive"): UnitState {
    return {
      name,
      loadState: "loaded",
      activeState,
      subState: activeState === "active" ? "running" : "dead",
      result: "success",
      unitFileState: "enabled",
      mainPid: activeState === "active" ? 1000 + this.#invocation : 0,
      restarts: 0,
      invocationId: `inv-${++this.#invocation}`,
      jobPending: false,
      stateChangeUnixMs: Date.now(),
    };
  }

  states(units: readonly string[]): Promise<UnitState[]> {
    this.stateReads++;
    return Promise.resolve(
      units.map(
        (u) =>
          this.#units.get(u) ?? {
            name: u,
            loadState: "not-found",
            activeState: "inactive",
            subState: "dead",
            result: "success",
            unitFileState: "",
            mainPid: 0,
            restarts: 0,
            invocationId: "",
            jobPending: false,
            stateChangeUnixMs: 0,
          },
      ),
    );
  }

  queueStart(unit: string): Promise<void> {
    this.calls.push(`start ${unit}`);
    if (this.#units.has(unit)) this.#units.set(unit, this.#state(unit, "active"));
    return Promise.resolve();
  }

  queueStop(unit: string): Promise<void> {
    this.calls.push(`stop ${unit}`);
    if (this.#units.has(unit)) this.#units.set(unit, this.#state(unit, "inactive"));
    return Promise.resolve();
  }

  setEnabled(unit: string, enabled: boolean): Promise<void> {
    this.calls.push(`${enabled ? "enable" : "disable"} ${unit}`);
    const s = this.#units.get(unit);
    if (s) this.#units.set(unit, { ...s, unitFileState: enabled ? "enabled" : "disabled" });
    return Promise.resolve();
  }

  /** Journal lines per unit, as a test sets them; the newest `lines` are returned. */
  readonly journals = new Map<string, string[]>();

  journal(unit: string, lines: number): Promise<string[]> {
    return Promise.resolve((this.journals.get(unit) ?? []).slice(-lines));
  }

  daemonReload(): Promise<void> {
    this.calls.push("daemon-reload");
    return Promise.resolve();
  }

  /** Sets a unit's state as systemd would report it (a test's etcd that is down). */
  setActive(unit: string, active: boolean): void {
    if (this.#units.has(unit)) this.#units.set(unit, this.#state(unit, active ? "active" : "inactive"));
  }

  powerOff(): Promise<void> {
    this.calls.push("poweroff");
    return Promise.resolve();
  }
}
