import { KubecycleError, type Role } from "../../shared/index.js";

/** How many of each kind of call may be in flight. */
export interface AdmissionLimits {
  readsPerClient: number;
  readsPerRole: number;
  streamsPerClient: number;
  streamsPerRole: number;
}

/** What is counted: unary reads, and streams (status watches, snapshots). */
export type CallKind = "read" | "stream";

/**
 * Bounds on what is in flight, per client certificate and per role, refusing the excess at once with
 * RESOURCE_EXHAUSTED instead of queueing it: an agent that queued every read would answer an operator only after
 * every viewer. Viewers and operators count against separate totals, so viewers never use up an operator's room.
 */
export class Admission {
  readonly #limits: AdmissionLimits;
  readonly #inFlight = new Map<string, number>();

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Admits one call of `identity` with `role`, or throws RESOURCE_EXHAUSTED; the returned function releases it. */
  admit(kind: CallKind, identity: string, role: Role): () => void {
    const perClient = kind === "read" ? this.#limits.readsPerClient : this.#limits.streamsPerClient;
    const perRole = kind === "read" ? this.#limits.readsPerRole : this.#limits.streamsPerRole;
    const clientKey = `${kind}\u0000${role}\u0000${identity}`;
    const roleKey = `${kind}\u0000${role}`;
    const what = kind === "read" ? "reads" : "streams";
    if ((this.#inFlight.get(clientKey) ?? 0) >= perClient) {
      throw refusal(`${identity} has ${perClient} ${what} in flight, the most one client may have`, {
        hint: "retry once some of them are answered",
      });
    }
    if ((this.#inFlight.get(roleKey) ?? 0) >= perRole) {
      throw refusal(`${perRole} ${what} of ${role}s are in flight, the most this agent takes at once`, {
        hint: "retry in a moment",
      });
    }
    this.#add(clientKey, 1);
    this.#add(roleKey, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#add(clientKey, -1);
      this.#add(roleKey, -1);
    };
  }

  /** In flight now, for tests and metrics. */
  inFlight(kind: CallKind, role: Role): number {
    return this.#inFlight.get(`${kind}\u0000${role}`) ?? 0;
  }

  #add(key: string, n: number): void {
    const v = (this.#inFlight.get(key) ?? 0) + n;
    if (v <= 0) this.#inFlight.delete(key);
    else this.#inFlight.set(key, v);
  }
}

/**
 * A RESOURCE_EXHAUSTED refusal without a stack trace: refusals come by the hundred exactly when the agent is busiest,
 * their stack says nothing, and capturing it costs more than the rest of refusing.
 */
function refusal(message: string, fields: { hint: string }): KubecycleError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new KubecycleError("RESOURCE_EXHAUSTED", message, fields);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
