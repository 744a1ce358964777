import { KubecycleError, type Logger, type PowerOffResult__Output } from "../shared/index.js";
import type { ChangeOwner, Mutations } from "./mutations.js";
import type { UnitManager } from "./systemd/unit-manager.js";

/** The default delay between answering PowerOff and asking systemd (the contract's). */
export const DEFAULT_POWER_OFF_DELAY_MS = 1000;
/** The longest delay a request may ask for (the contract's). */
export const MAX_POWER_OFF_DELAY_MS = 60_000;

/** The delay a request asked for: 0 means the default; more than the maximum is refused. */
export function powerOffDelay(asked: unknown): number {
  const ms = typeof asked === "number" ? asked : 0;
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_POWER_OFF_DELAY_MS) {
    throw new KubecycleError("INVALID_REQUEST", `delay_ms: at most ${MAX_POWER_OFF_DELAY_MS}, got ${String(asked)}`, {
      field: "delay_ms",
    });
  }
  return ms === 0 ? DEFAULT_POWER_OFF_DELAY_MS : ms;
}

/**
 * Powers the node off after answering. The operation record is written before the power-off is scheduled, so a
 * replay of the same operation id (a retry, or after the node came back) gets the record and never powers off again.
 */
export class PowerControl {
  readonly #manager: UnitManager;
  readonly #mutations: Mutations;
  readonly #bootId: () => Promise<string>;
  readonly #log: Logger;
  #pending: { timer: NodeJS.Timeout; opId: string } | undefined;

  constructor(deps: { manager: UnitManager; mutations: Mutations; bootId: () => Promise<string>; log: Logger }) {
    this.#manager = deps.manager;
    this.#mutations = deps.mutations;
    this.#bootId = deps.bootId;
    this.#log = deps.log;
  }

  /** Records the power-off and schedules it `delayMs` from now, unless `owner` recorded this operation id before. */
  async powerOff(owner: ChangeOwner, opId: string, delayMs: number): Promise<PowerOffResult__Output> {
    const fingerprint = JSON.stringify({ delayMs });
    const { result, replayed } = await this.#mutations.run(owner, opId, "PowerOff", fingerprint, async () => ({
      operationId: opId,
      replayed: false,
      powerOffUnixMs: Date.now() + delayMs,
      bootId: await this.#bootId(),
    }));
    if (replayed) return { ...result, replayed: true };
    this.#schedule(opId, delayMs);
    return result;
  }

  /** True while a power-off is scheduled. */
  get pending(): boolean {
    return this.#pending !== undefined;
  }

  #schedule(opId: string, delayMs: number): void {
    if (this.#pending) return;
    const timer = setTimeout(() => void this.#fire(), delayMs);
    this.#pending = { timer, opId };
    this.#log.warn({ op: opId, delayMs }, "power-off scheduled");
  }

  async #fire(): Promise<void> {
    const p = this.#pending;
    if (!p) return;
    clearTimeout(p.timer);
    this.#log.warn({ op: p.opId }, "powering the node off");
    try {
      await this.#manager.powerOff();
    } catch (err) {
      // The record says the power-off was asked; the coordinator verifies that the node goes away.
      this.#log.error({ op: p.opId, err }, "power-off failed");
    } finally {
      this.#pending = undefined;
    }
  }

  /**
   * When the agent is stopped while a power-off is scheduled, the power-off happens now: it was promised, and a
   * replay would not ask again.
   */
  async flush(): Promise<void> {
    if (this.#pending) await this.#fire();
  }
}
