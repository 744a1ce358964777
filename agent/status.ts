import type { NodeStatus__Output } from "../shared/index.js";
import type { EtcdProbe } from "./etcd.js";
import type { FactsCollector } from "./facts.js";
import type { UnitState } from "./systemd/unit-manager.js";
import type { UnitStateCache } from "./unit-cache.js";
import { toUnitStatus } from "./units.js";

/** Answers GetStatus and feeds WatchStatus. */
export class StatusReader {
  readonly #nodeName: string;
  readonly #units: UnitStateCache;
  readonly #facts: FactsCollector;
  readonly #etcd: EtcdProbe;
  readonly #etcdTimeoutMs: number;

  constructor(deps: {
    nodeName: string;
    /** The allow-listed units' states, shared by all readers. */
    units: UnitStateCache;
    facts: FactsCollector;
    etcd: EtcdProbe;
    etcdTimeoutMs: number;
  }) {
    this.#nodeName = deps.nodeName;
    this.#units = deps.units;
    this.#facts = deps.facts;
    this.#etcd = deps.etcd;
    this.#etcdTimeoutMs = deps.etcdTimeoutMs;
  }

  /** The allow-listed units' states, in allow-list order. */
  unitStates(signal?: AbortSignal): Promise<UnitState[]> {
    return this.#units.states(undefined, signal);
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

interface Watcher {
  intervalMs: number;
  lastSent: number;
  lastPrint: string;
  send: (status: NodeStatus__Output) => void;
}

/**
 * Every open WatchStatus stream, fed by one poller: the unit states are read once per poll interval for all of them,
 * and a status is built once and sent to each watcher that is due (a unit changed, or its interval passed). Watchers
 * each polling on their own would wake together and build as many statuses at once as there are streams.
 */
export class StatusWatchers {
  readonly #status: StatusReader;
  readonly #pollIntervalMs: number;
  readonly #watchers = new Set<Watcher>();
  #running = false;

  constructor(status: StatusReader, pollIntervalMs: number) {
    this.#status = status;
    this.#pollIntervalMs = pollIntervalMs;
  }

  get size(): number {
    return this.#watchers.size;
  }

  /**
   * Sends a status at once, then whenever a unit changes and at least every `intervalMs`, until `signal` aborts.
   * Resolves then; rejects if the first status cannot be read.
   */
  async watch(intervalMs: number, send: (status: NodeStatus__Output) => void, signal: AbortSignal): Promise<void> {
    const units = await this.#status.unitStates(signal);
    send(await this.#status.status({ units, signal }));
    const w: Watcher = { intervalMs, lastSent: Date.now(), lastPrint: unitsFingerprint(units), send };
    this.#watchers.add(w);
    this.#start();
    try {
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener("abort", () => resolve(), { once: true });
      });
    } finally {
      this.#watchers.delete(w);
    }
  }

  #start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#loop().finally(() => {
      this.#running = false;
      // A watcher that came while the loop was ending.
      if (this.#watchers.size > 0) this.#start();
    });
  }

  async #loop(): Promise<void> {
    while (this.#watchers.size > 0) {
      await new Promise((r) => setTimeout(r, this.#pollIntervalMs).unref());
      if (this.#watchers.size === 0) return;
      try {
        const units = await this.#status.unitStates();
        const print = unitsFingerprint(units);
        const now = Date.now();
        const due = [...this.#watchers].filter((w) => w.lastPrint !== print || now - w.lastSent >= w.intervalMs);
        if (due.length === 0) continue;
        const status = await this.#status.status({ units });
        for (const w of due) {
          w.send(status);
          w.lastSent = now;
          w.lastPrint = print;
        }
      } catch {
        // systemd did not answer this time; the next poll asks again (the watchers keep their last status).
      }
    }
  }
}
