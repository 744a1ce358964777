import type { NodeStatus__Output } from "../shared/index.js";
import type { FactsCollector } from "./facts.js";
import type { UnitManager, UnitState } from "./systemd/unit-manager.js";
import { toUnitStatus } from "./units.js";

/** Answers GetStatus and feeds WatchStatus. */
export class StatusReader {
  readonly #nodeName: string;
  readonly #units: readonly string[];
  readonly #manager: UnitManager;
  readonly #facts: FactsCollector;

  constructor(deps: { nodeName: string; units: readonly string[]; manager: UnitManager; facts: FactsCollector }) {
    this.#nodeName = deps.nodeName;
    this.#units = deps.units;
    this.#manager = deps.manager;
    this.#facts = deps.facts;
  }

  /** The allow-listed units' states, in allow-list order. */
  unitStates(signal?: AbortSignal): Promise<UnitState[]> {
    return this.#manager.states(this.#units, signal);
  }

  /** A full status; with `refreshFacts` the slow probes run first. */
  async status(
    opts: { refreshFacts?: boolean; units?: UnitState[]; signal?: AbortSignal } = {},
  ): Promise<NodeStatus__Output> {
    if (opts.refreshFacts) await this.#facts.refresh();
    const [facts, units] = await Promise.all([this.#facts.current(), opts.units ?? this.unitStates(opts.signal)]);
    return { nodeName: this.#nodeName, collectedUnixMs: Date.now(), facts, units: units.map(toUnitStatus) };
  }
}

/** What changes in a unit's state that a watcher cares about; timestamps and restart counters alone don't count. */
export function unitsFingerprint(units: readonly UnitState[]): string {
  return units
    .map((u) => [u.name, u.loadState, u.activeState, u.subState, u.result, u.unitFileState, u.invocationId].join("|"))
    .join("\n");
}
