import { setTimeout as sleep } from "node:timers/promises";
import {
  KubecycleError,
  allowedUnit,
  type Logger,
  type Outcome__Output,
  type UnitOutcome__Output,
  type UnitsResult__Output,
  type UnitStatus__Output,
} from "../shared/index.js";
import type { CompiledAgentConfig } from "./config.js";
import type { ChangeOwner, Mutations } from "./mutations.js";
import { validateOperationId } from "./op-records.js";
import type { UnitManager, UnitState } from "./systemd/unit-manager.js";

/** A validated unit-control request: canonical unit names, resolved timeouts. */
export interface UnitPlan {
  /** The caller the operation id belongs to, and the operation the change is for. */
  owner: ChangeOwner;
  opId: string;
  units: Array<{ name: string; settleTimeoutMs: number }>;
  ignoreMissing: boolean;
}

/** The raw request fields the RPCs share (already decoded by gRPC, but not yet trusted). */
export interface RawUnitsRequest {
  operationId?: unknown;
  units?: unknown;
  ignoreMissing?: unknown;
}

const POLL_MS = 100;
const SUCCESS: ReadonlySet<Outcome__Output> = new Set(["OUTCOME_DONE", "OUTCOME_ALREADY", "OUTCOME_MISSING_IGNORED"]);

/**
 * Stop, start and auto-start of allow-listed units. Every call is validated completely before anything runs,
 * recorded by operation id, and run one at a time (see Mutations).
 */
export class UnitController {
  readonly #manager: UnitManager;
  readonly #mutations: Mutations;
  readonly #config: Readonly<CompiledAgentConfig>;
  readonly #log: Logger;
  /** Aborted when the agent must stop waiting (forced shutdown). */
  readonly #signal: AbortSignal;

  constructor(deps: {
    manager: UnitManager;
    mutations: Mutations;
    config: Readonly<CompiledAgentConfig>;
    log: Logger;
    signal: AbortSignal;
  }) {
    this.#manager = deps.manager;
    this.#mutations = deps.mutations;
    this.#config = deps.config;
    this.#log = deps.log;
    this.#signal = deps.signal;
  }

  /** Validates names and timeouts of `owner`'s request; throws before anything is executed. */
  plan(owner: ChangeOwner, req: RawUnitsRequest, units: unknown[]): UnitPlan {
    const opId = validateOperationId(req.operationId);
    if (units.length === 0)
      throw new KubecycleError("INVALID_REQUEST", "units: at least one unit is required", { op: opId });
    const max = this.#config.limits.maxUnitsPerCall;
    if (units.length > max) {
      throw new KubecycleError("INVALID_REQUEST", `units: at most ${max} units per call, got ${units.length}`, {
        op: opId,
      });
    }
    const planned = units.map((u) => {
      const { name, settleTimeoutMs } =
        typeof u === "string" ? { name: u, settleTimeoutMs: 0 } : (u as { name?: unknown; settleTimeoutMs?: unknown });
      const canonical = allowedUnit(name, this.#config.units.allow);
      const asked = typeof settleTimeoutMs === "number" ? settleTimeoutMs : 0;
      if (asked > this.#config.units.maxSettleTimeoutMs) {
        throw new KubecycleError(
          "INVALID_REQUEST",
          `units[${canonical}].settle_timeout_ms: at most ${this.#config.units.maxSettleTimeoutMs}, got ${asked}`,
          { op: opId, unit: canonical },
        );
      }
      return { name: canonical, settleTimeoutMs: asked > 0 ? asked : this.#config.units.settleTimeoutMs };
    });
    const dup = planned.find((u, i) => planned.findIndex((v) => v.name === u.name) !== i);
    if (dup)
      throw new KubecycleError("INVALID_REQUEST", `units: ${dup.name} is listed twice`, { op: opId, unit: dup.name });
    return { owner, opId, units: planned, ignoreMissing: req.ignoreMissing === true };
  }

  /** Stops the planned units in order. */
  stop(plan: UnitPlan): Promise<UnitsResult__Output> {
    return this.#once("StopUnits", plan, {}, (unit, timeoutMs) => this.#stopOne(unit, timeoutMs, plan.ignoreMissing));
  }

  /** Starts the planned units in order; with `noBlock`, "activating" counts as started. */
  start(plan: UnitPlan, noBlock: boolean): Promise<UnitsResult__Output> {
    return this.#once("StartUnits", plan, { noBlock }, (unit, timeoutMs) =>
      this.#startOne(unit, timeoutMs, plan.ignoreMissing, noBlock),
    );
  }

  /** Enables or disables auto-start of the planned units. */
  setAutoStart(plan: UnitPlan, enabled: boolean): Promise<UnitsResult__Output> {
    return this.#once("SetAutoStart", plan, { enabled }, (unit) =>
      this.#autoStartOne(unit, plan.ignoreMissing, enabled),
    );
  }

  async #once(
    rpc: string,
    plan: UnitPlan,
    extra: Record<string, unknown>,
    one: (unit: string, timeoutMs: number) => Promise<UnitOutcome__Output>,
  ): Promise<UnitsResult__Output> {
    // What the request is, not how long it may take: a resumed step asks the same units with the time it has left.
    const fingerprint = JSON.stringify({
      units: plan.units.map((u) => u.name),
      ignoreMissing: plan.ignoreMissing,
      ...extra,
    });
    const { result, replayed } = await this.#mutations.run(plan.owner, plan.opId, rpc, fingerprint, async () => {
      const startedUnixMs = Date.now();
      const outcomes: UnitOutcome__Output[] = [];
      for (const { name, settleTimeoutMs } of plan.units) {
        if (outcomes.some((o) => !SUCCESS.has(o.outcome))) {
          outcomes.push(outcome(name, "OUTCOME_SKIPPED", null, "not attempted: an earlier unit in this call failed"));
          continue;
        }
        this.#log.debug({ op: plan.opId, unit: name, rpc }, "unit action begins");
        outcomes.push(await one(name, settleTimeoutMs));
      }
      return {
        operationId: plan.opId,
        ok: outcomes.every((o) => SUCCESS.has(o.outcome)),
        replayed: false,
        outcomes,
        startedUnixMs,
        finishedUnixMs: Date.now(),
      };
    });
    return replayed ? { ...result, replayed: true } : result;
  }

  async #stopOne(unit: string, timeoutMs: number, ignoreMissing: boolean): Promise<UnitOutcome__Output> {
    const t0 = Date.now();
    const before = await this.#state(unit);
    if (isMissing(before)) return missing(unit, before, ignoreMissing);
    if (isStopped(before)) return outcome(unit, "OUTCOME_ALREADY", before, "already stopped", t0);
    await this.#manager.queueStop(unit, this.#signal);
    const settled = await this.#waitFor(unit, timeoutMs, (s) => (isStopped(s) ? "done" : undefined));
    if (settled.verdict === "done") {
      const note =
        settled.state.activeState === "failed" ? ` (it ended as failed, Result=${settled.state.result})` : "";
      return outcome(unit, "OUTCOME_DONE", settled.state, `stopped${note}`, t0);
    }
    return this.#failure(unit, "OUTCOME_TIMED_OUT", settled.state, `did not stop within ${timeoutMs} ms`, t0);
  }

  async #startOne(
    unit: string,
    timeoutMs: number,
    ignoreMissing: boolean,
    noBlock: boolean,
  ): Promise<UnitOutcome__Output> {
    const t0 = Date.now();
    const before = await this.#state(unit);
    if (isMissing(before)) return missing(unit, before, ignoreMissing);
    if (before.loadState === "masked") {
      return this.#failure(unit, "OUTCOME_FAILED", before, "unit is masked; unmask it before starting", t0);
    }
    if (before.activeState === "active" && !before.jobPending)
      return outcome(unit, "OUTCOME_ALREADY", before, "already active", t0);
    if (noBlock && before.activeState === "activating")
      return outcome(unit, "OUTCOME_ALREADY", before, "already activating", t0);
    await this.#manager.queueStart(unit, this.#signal);
    const deadline = t0 + timeoutMs;
    for (;;) {
      const settled = await this.#waitFor(unit, deadline - Date.now(), (s) => {
        if (s.activeState === "failed") return "failed";
        if (noBlock && (s.activeState === "activating" || s.activeState === "active")) return "done";
        if (s.activeState === "active" && !s.jobPending) return "done";
        // The start job finished but left the unit down (a failed condition, or a process that exited at once).
        if (s.activeState === "inactive" && !s.jobPending) return "failed";
        return undefined;
      });
      if (settled.verdict === "failed") {
        return this.#failure(unit, "OUTCOME_FAILED", settled.state, `failed to start (${describe(settled.state)})`, t0);
      }
      if (settled.verdict === undefined) {
        return this.#failure(
          unit,
          "OUTCOME_TIMED_OUT",
          settled.state,
          `did not become active within ${timeoutMs} ms`,
          t0,
        );
      }
      if (noBlock)
        return outcome(unit, "OUTCOME_DONE", settled.state, `start queued, unit is ${settled.state.activeState}`, t0);
      // A simple service is "active" as soon as it is forked; it only counts as started if it stays up.
      const stable = await this.#stayedUp(unit, settled.state);
      if (stable) return outcome(unit, "OUTCOME_DONE", stable, "started", t0);
      if (Date.now() >= deadline) {
        const now = await this.#state(unit);
        return this.#failure(unit, "OUTCOME_TIMED_OUT", now, `did not stay active within ${timeoutMs} ms`, t0);
      }
    }
  }

  async #autoStartOne(unit: string, ignoreMissing: boolean, enabled: boolean): Promise<UnitOutcome__Output> {
    const t0 = Date.now();
    const before = await this.#state(unit);
    if (isMissing(before)) return missing(unit, before, ignoreMissing);
    const want = enabled ? "enabled" : "disabled";
    if (before.unitFileState === want) return outcome(unit, "OUTCOME_ALREADY", before, `already ${want}`, t0);
    try {
      await this.#manager.setEnabled(unit, enabled, this.#signal);
    } catch (err) {
      const now = await this.#state(unit);
      return this.#failure(unit, "OUTCOME_FAILED", now, (err as Error).message, t0);
    }
    const after = await this.#state(unit);
    if (after.unitFileState !== want) {
      return this.#failure(
        unit,
        "OUTCOME_FAILED",
        after,
        `unit file state is ${after.unitFileState || "unknown"}, not ${want}`,
        t0,
      );
    }
    return outcome(unit, "OUTCOME_DONE", after, want, t0);
  }

  async #stayedUp(unit: string, active: UnitState): Promise<UnitState | undefined> {
    const stableMs = this.#config.units.startStableMs;
    if (stableMs === 0) return active;
    await sleep(stableMs, undefined, { signal: this.#signal });
    const now = await this.#state(unit);
    return now.activeState === "active" && now.invocationId === active.invocationId ? now : undefined;
  }

  async #waitFor(
    unit: string,
    timeoutMs: number,
    verdict: (s: UnitState) => "done" | "failed" | undefined,
  ): Promise<{ verdict: "done" | "failed" | undefined; state: UnitState }> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    for (;;) {
      const state = await this.#state(unit);
      const v = verdict(state);
      if (v !== undefined || Date.now() >= deadline) return { verdict: v, state };
      await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())), undefined, { signal: this.#signal });
    }
  }

  async #state(unit: string): Promise<UnitState> {
    const [state] = await this.#manager.states([unit], this.#signal);
    if (!state) throw new KubecycleError("SYSTEMD_FAILED", `no state for ${unit}`, { unit });
    return state;
  }

  async #failure(
    unit: string,
    kind: Outcome__Output,
    state: UnitState,
    message: string,
    t0: number,
  ): Promise<UnitOutcome__Output> {
    const journal = await this.#manager.journal(unit, this.#config.units.journalLines, this.#signal);
    return { ...outcome(unit, kind, state, message, t0), journal };
  }
}

function isMissing(s: UnitState): boolean {
  return s.loadState === "not-found";
}

function isStopped(s: UnitState): boolean {
  return (s.activeState === "inactive" || s.activeState === "failed") && !s.jobPending;
}

function describe(s: UnitState): string {
  return `ActiveState=${s.activeState} SubState=${s.subState} Result=${s.result}`;
}

function missing(unit: string, state: UnitState, ignore: boolean): UnitOutcome__Output {
  return ignore
    ? outcome(unit, "OUTCOME_MISSING_IGNORED", state, "unit does not exist on this node; ignored as asked")
    : outcome(unit, "OUTCOME_NOT_FOUND", state, "unit does not exist on this node");
}

function outcome(
  unit: string,
  kind: Outcome__Output,
  state: UnitState | null,
  message: string,
  t0?: number,
): UnitOutcome__Output {
  return {
    unit,
    outcome: kind,
    state: state ? toUnitStatus(state) : null,
    message,
    journal: [],
    durationMs: t0 === undefined ? 0 : Date.now() - t0,
  };
}

/** The wire form of a unit's state. */
export function toUnitStatus(s: UnitState): UnitStatus__Output {
  return {
    name: s.name,
    exists: !isMissing(s),
    loadState: s.loadState,
    activeState: s.activeState,
    subState: s.subState,
    result: s.result,
    unitFileState: s.unitFileState,
    mainPid: s.mainPid,
    restarts: s.restarts,
    stateChangeUnixMs: s.stateChangeUnixMs,
  };
}
