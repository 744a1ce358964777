import type { NodeStatus__Output } from "../shared/index.js";
import type { EtcdProbe } from "./etcd.js";
import type { FactsCollector } from "./facts.js";
import type { UnitManager, UnitState } from "./systemd/unit-manager.js";
import { toUnitStatus } from "./units.js";

/** Answers GetStatus and feeds WatchStatus. */
export class StatusReader {
  readonly #nodeName: string;
  readonly #units: readonly string[];
  readonly #manager: UnitManager;
  readonly #facts: FactsCollector;
  readonly #etcd: EtcdProbe;
  readonly #etcdTimeoutMs: number;

  constructor(deps: {
    nodeName: string;
    units: readonly string[];
    manager: UnitManager;
    facts: FactsCollector;
    etcd: EtcdProbe;
    etcdTimeoutMs: number;
  }) {
    this.#nodeName = deps.nodeName;
    this.#units = deps.units;
    this.#manager = deps.manager;
    this.#facts = deps.facts;
    this.#etcd = deps.etcd;
    this.#etcdTimeoutMs = deps.etcdTimeoutMs;
  }

  /** The allow-listed units' states, in allow-list order. */
  unitStates(signal?: AbortSignal): Promise<UnitState[]> {
    return this.#manager.states(this.#units, signal);
  }

  /** The states of some units, in the order asked. */
  unitStatesOf(units: readonly string[], signal?: AbortSignal): Promise<UnitState[]> {
    return this.#manager.states(units, signal);
  }

  /** A full status; with `refreshFacts` the slow probes run first, with `includeEtcd` the local member is asked. */
  async status(
    opts: { refreshFacts?: boolean; includeEtcd?: boolean; units?: UnitState[]; signal?: AbortSignal } = {},
  ): Promise<NodeStatus__Output> {
    if (opts.refreshFacts) await this.#facts.refresh();
    const [facts, units, etcd] = await Promise.all([
      this.#facts.current(),
      opts.units ?? this.unitStates(opts.signal),
      opts.includeEtcd ? this.#etcd.status(this.#etcdTimeoutMs, opts.signal) : null,
    ]);
    return { nodeName: this.#nodeName, collectedUnixMs: Date.now(), facts, units: units.map(toUnitStatus), etcd };
  }
}

/** What changes in a unit's state that a watcher cares about; timestamps and restart counters alone don't count. */
export function unitsFingerprint(units: readonly UnitState[]): string {
  return units
    .map((u) => [u.name, u.loadState, u.activeState, u.subState, u.result, u.unitFileState, u.invocationId].join("|"))
    .join("\n");
}
