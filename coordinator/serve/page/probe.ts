import type { KubecycleError, Logger, UnitStatus__Output } from "../../../shared/index.js";
import type { AgentPool } from "../../agents/index.js";
import { nextProbeState, type ProbeState } from "./model.js";

/** Whether these units show etcd.service stopped (inactive or failed). */
const etcdStopped = (units: readonly UnitStatus__Output[] | undefined): boolean =>
  units?.some(
    (u) => u.name === "etcd.service" && u.exists && (u.activeState === "inactive" || u.activeState === "failed"),
  ) === true;

/** One etcd answer's deadline: a linearizable read on a busy member takes seconds. */
const ETCD_CALL_MS = 5000;

/** A node to ask, where its agent listens, and whether it may run an etcd member (asked too). */
export interface ProbeTarget {
  node: string;
  address: string;
  etcd: boolean;
}

/** Options of {@link AgentProber}. */
export interface ProberOptions {
  agents: AgentPool;
  log: Logger;
  /** The nodes to ask, read again before every round. */
  targets: () => Promise<ProbeTarget[]>;
  /** Time between the ends of two rounds. */
  intervalMs: number;
  /** One agent's answer, etcd's linearizable read included. */
  deadlineMs: number;
  /** How often a node's etcd member is asked (its health, leader, raft index). */
  etcdEveryMs: number;
  /** Called after every round (the page decides whether anything it shows changed). */
  onRound: () => void;
}

/**
 * Asks every node's agent for its status (units, facts, its etcd member) every `intervalMs`, but only while someone
 * watches the page: serve's reports say what an agent last said, a probe says whether it answers now (a node that
 * lost its power or its link sends no report about it). One round at a time; a slow agent delays the next round,
 * never stacks calls.
 */
export class AgentProber {
  readonly #o: ProberOptions;
  readonly #states = new Map<string, ProbeState>();
  /** When each node's etcd member was last asked. */
  readonly #etcdAt = new Map<string, number>();
  #watchers = 0;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #stopped = false;

  constructor(opts: ProberOptions) {
    this.#o = opts;
  }

  /** Every node's state so far. */
  get states(): ReadonlyMap<string, ProbeState> {
    return this.#states;
  }

  /** Someone opened the page: probe now, and on until the last one leaves. Returns the release. */
  watch(): () => void {
    this.#watchers += 1;
    if (this.#watchers === 1) this.#schedule(0);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#watchers -= 1;
      if (this.#watchers === 0 && this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#round;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped || this.#timer || this.#round) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#round = this.#runRound().finally(() => {
        this.#round = undefined;
        if (this.#watchers > 0) this.#schedule(this.#o.intervalMs);
      });
    }, delayMs);
  }

  async #runRound(): Promise<void> {
    const targets = await this.#o.targets().catch((err: unknown) => {
      this.#o.log.error({ err }, "cannot tell which agents to ask");
      return [];
    });
    await Promise.all(
      targets.map(async (t) => {
        const atStart = Date.now();
        const agent = this.#o.agents.get(t.node, t.address);
        const call = { deadlineMs: this.#o.deadlineMs };
        // etcd is asked less often: each answer costs the agent an etcdctl run (a process, a linearizable read), and
        // on a small admin network many pages must not add up to a load on the members. Between two asks the last
        // answer stands.
        const prevEtcd = this.#states.get(t.node)?.lastOk?.status.etcd ?? null;
        const last = this.#etcdAt.get(t.node) ?? 0;
        // A member whose etcd.service its agent last saw stopped cannot answer: asking would only make the agent
        // run etcdctl until its dial timeout (seconds), for nothing.
        const stopped = etcdStopped(this.#states.get(t.node)?.lastOk?.status.units);
        const askEtcd = t.etcd && !stopped && atStart - last >= this.#o.etcdEveryMs;
        try {
          // Apart: etcd's linearizable read is slow or fails without quorum, and that must not make the agent look
          // unreachable.
          // A member asked in vain (a busy node, a slow read) keeps its last answer and is asked again next round.
          const etcdCall = { deadlineMs: Math.max(this.#o.deadlineMs, ETCD_CALL_MS) };
          const [status, etcd] = await Promise.all([
            agent.getStatus({}, call),
            askEtcd
              ? agent.etcdStatus({ timeoutMs: etcdCall.deadlineMs - 1000 }, etcdCall).then(
                  (answer) => {
                    this.#etcdAt.set(t.node, atStart);
                    return answer;
                  },
                  () => prevEtcd,
                )
              : Promise.resolve(t.etcd && !stopped ? prevEtcd : null),
          ]);
          // Seen stopped in this very answer: the last answer about the member no longer stands.
          const member = etcdStopped(status.units) ? null : (etcd ?? null);
          this.#set(t.node, { ok: true, atUnixMs: Date.now(), status: { ...status, etcd: member } });
        } catch (err) {
          const code = (err as KubecycleError).code ?? "INTERNAL";
          this.#set(t.node, { ok: false, atUnixMs: atStart, code, error: (err as Error).message });
        }
      }),
    );
    const names = new Set(targets.map((t) => t.node));
    for (const n of this.#states.keys()) if (!names.has(n)) this.#states.delete(n);
    for (const n of this.#etcdAt.keys()) if (!names.has(n)) this.#etcdAt.delete(n);
    try {
      this.#o.onRound();
    } catch (err) {
      this.#o.log.error({ err }, "the page's update after a probe failed");
    }
  }

  #set(node: string, r: Parameters<typeof nextProbeState>[1]): void {
    const prev = this.#states.get(node);
    const next = nextProbeState(prev, r);
    if (prev && prev.last.ok !== next.last.ok) {
      this.#o.log.info(
        { node, reachable: next.last.ok },
        next.last.ok ? "agent answers again" : "agent does not answer",
      );
    }
    this.#states.set(node, next);
  }
}
