import type { OpRecords } from "./op-records.js";

/**
 * The one door for every change the agent makes: each call runs once per operation id of its caller (replayed from
 * its record afterwards) and one at a time, so two calls never race on the same unit or pod.
 */
export class Mutations {
  readonly #records: OpRecords;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(records: OpRecords) {
    this.#records = records;
  }

  /** Runs `act` once for `owner`'s (the caller identity's) operation id `opId`. */
  run<R>(
    owner: string,
    opId: string,
    rpc: string,
    fingerprint: string,
    act: () => Promise<R>,
  ): Promise<{ result: R; replayed: boolean }> {
    return this.#records.once(owner, opId, rpc, fingerprint, () => this.#serialized(act));
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
