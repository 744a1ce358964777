import { KubecycleError } from "../shared/index.js";

/** The agent daemon's states. */
export type LifecycleState = "starting" | "serving" | "draining" | "stopped" | "failed";

const ALLOWED: Record<LifecycleState, readonly LifecycleState[]> = {
  starting: ["serving", "draining", "failed"],
  serving: ["draining", "failed"],
  draining: ["stopped", "failed"],
  stopped: [],
  failed: ["stopped"],
};

/** An explicit lifecycle with guarded transitions: an illegal move is a bug and throws. */
export class Lifecycle {
  #state: LifecycleState = "starting";
  readonly #listeners = new Set<(s: LifecycleState) => void>();

  get state(): LifecycleState {
    return this.#state;
  }

  /** Moves to `next`; throws INTERNAL on a transition the table does not allow. */
  to(next: LifecycleState): void {
    if (!ALLOWED[this.#state].includes(next)) {
      throw new KubecycleError("INTERNAL", `agent lifecycle: illegal transition ${this.#state} -> ${next}`);
    }
    this.#state = next;
    for (const l of this.#listeners) l(next);
  }

  /** Calls `fn` on every transition; returns a function that unsubscribes. */
  onChange(fn: (s: LifecycleState) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
}
