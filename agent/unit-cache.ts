import type { UnitManager, UnitState } from "./systemd/unit-manager.js";

/**
 * The allow-listed units' states for every reader, from one shared `systemctl show` kept for a short while: however
 * many status reads, watch streams and layout questions arrive at once, systemctl is started at most once per
 * interval. Changes (unit control) read systemd directly and invalidate this, so a read after a change sees it.
 */
export class UnitStateCache {
  readonly #manager: UnitManager;
  readonly #units: readonly string[];
  readonly #ttlMs: number;
  /** The shared answer; `at` is set when it arrived (while in flight, every reader waits for the same one). */
  #snapshot: { at: number | undefined; states: Promise<ReadonlyMap<string, UnitState>> } | undefined;

  constructor(manager: UnitManager, units: readonly string[], ttlMs: number) {
    this.#manager = manager;
    this.#units = units;
    this.#ttlMs = ttlMs;
  }

  /** The states of `units` (default: all the cached ones), in the order asked. */
  async states(units: readonly string[] = this.#units, signal?: AbortSignal): Promise<UnitState[]> {
    const outside = units.filter((u) => !this.#units.includes(u));
    // Units off the list are not shared: asked directly (no reader asks for any today).
    if (outside.length > 0) return this.#manager.states(units, signal);
    const all = await abortable(this.#current(), signal);
    return units.map((u) => all.get(u) as UnitState);
  }

  /** Forgets the shared answer: the next read asks systemd again. */
  invalidate(): void {
    this.#snapshot = undefined;
  }

  #current(): Promise<ReadonlyMap<string, UnitState>> {
    const s = this.#snapshot;
    if (s && (s.at === undefined || Date.now() - s.at < this.#ttlMs)) return s.states;
    // Not tied to any one reader's signal: the answer is shared by all of them.
    const snapshot: { at: number | undefined; states: Promise<ReadonlyMap<string, UnitState>> } = {
      at: undefined,
      states: this.#manager.states(this.#units).then((list) => {
        snapshot.at = Date.now();
        return new Map(list.map((u, i) => [this.#units[i] ?? u.name, u]));
      }),
    };
    this.#snapshot = snapshot;
    // A failure is not kept: the next reader asks again.
    snapshot.states.catch(() => {
      if (this.#snapshot === snapshot) this.#snapshot = undefined;
    });
    return snapshot.states;
  }
}

/** Waits for `p`, or rejects with the signal's reason once it aborts (the work itself goes on for the others). */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err: Error) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
