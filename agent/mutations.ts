import type { OperationStamp } from "../shared/index.js";
import type { OperationFence } from "./fence.js";
import type { OpRecords } from "./op-records.js";

/** Who asks for a change: the caller's identity (which owns its operation ids) and the operation it belongs to. */
export interface ChangeOwner {
  identity: string;
  operation?: OperationStamp;
}

/**
 * The one door for every change the agent makes: each call runs once per operation id of its caller (replayed from
 * its record afterwards), one at a time, so two calls never race on the same unit or pod, and only for an operation
 * the fence lets through (none older than the newest that changed the node). A replay acts on nothing and is not
 * fenced.
 */
export class Mutations {
  readonly #records: OpRecords;
  readonly #fence: OperationFence;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(records: OpRecords, fence: OperationFence) {
    this.#records = records;
    this.#fence = fence;
  }

  /** Runs `act` once for `owner`'s operation id `opId`. */
  run<R>(
    owner: ChangeOwner,
    opId: string,
    rpc: string,
    fingerprint: string,
    act: () => Promise<R>,
  ): Promise<{ result: R; replayed: boolean }> {
    return this.#records.once(owner.identity, opId, rpc, fingerprint, () =>
      // Fenced in the queue: the check sees every change admitted before it.
      this.#serialized(async () => {
        await this.#fence.admit(owner.operation);
        return act();
      }),
    );
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
