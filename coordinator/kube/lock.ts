import { V1MicroTime, type V1Lease } from "@kubernetes/client-node";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { KubecycleError, writeFileDurably } from "../../shared/index.js";
import { kubecycleProcess, thisProcess } from "../liveness.js";
import type { ClusterApi } from "./cluster.js";

export const LOCK_NAMESPACE = "kube-system";
/** How long one fence check stands for the steps of a phase that ask at once. */
const FENCE_FRESH_MS = 1000;
export const LOCK_NAME = "kubecycle-lock";
const A = "kubecycle.io/";

/** Who holds the cluster lock and in what state. */
export interface LockHolder {
  op: string;
  procedure: string;
  target: string;
  user: string;
  host: string;
  pid: number;
  /** The holder process's start time (see liveness.ts): a reused pid is not the holder. */
  started?: number;
  /** running: the holder renews it. parked: a node stop finished and waits for its node start. */
  state: "running" | "parked";
  renewedAt: Date | undefined;
}

/** What the lock is for. */
export interface LockOwner {
  op: string;
  procedure: string;
  target: string;
}

/** Options of {@link ClusterLock}. */
export interface ClusterLockOptions {
  /** The local lock file lives here. */
  stateDir: string;
  /** A running holder that has not renewed for this long is stale. Default 30 s. */
  leaseSeconds?: number;
  /** How often a running holder renews. Default 10 s. */
  renewMs?: number;
  /** Called once if someone else takes the lease while we hold it: the operation must stop. */
  onLost?: (err: KubecycleError) => void;
}

export function describeHolder(h: LockHolder): string {
  const age = h.renewedAt ? `${Math.round((Date.now() - h.renewedAt.getTime()) / 1000)} s ago` : "never";
  return `${h.procedure} ${h.target} (operation ${h.op}) by ${h.user}@${h.host}, ${h.state}, last renewed ${age}`;
}

function holderOf(lease: V1Lease): LockHolder {
  const a = lease.metadata?.annotations ?? {};
  const renew = lease.spec?.renewTime;
  return {
    op: lease.spec?.holderIdentity ?? "",
    procedure: a[`${A}procedure`] ?? "",
    target: a[`${A}target`] ?? "",
    user: a[`${A}user`] ?? "",
    host: a[`${A}host`] ?? "",
    pid: Number(a[`${A}pid`] ?? 0),
    ...(a[`${A}started`] ? { started: Number(a[`${A}started`]) } : {}),
    state: a[`${A}state`] === "parked" ? "parked" : "running",
    renewedAt: renew ? new Date(renew) : undefined,
  };
}

/** The local lock file's record: who holds it, for what, and whether the holder parked it for a follow-up. */
interface LocalHolder {
  op: string;
  procedure: string;
  target: string;
  user: string;
  host: string;
  pid: number;
  started?: number;
  state: "running" | "parked";
}

/**
 * The cluster operation lock: a Lease in kube-system naming the operation and its holder, renewed while the
 * operation runs, plus a local lock file so two kubecycle processes on one host never both act. Only one procedure
 * runs at a time. A stop parks the lock until its start adopts it: a node stop's for its node start; a cluster
 * stop's for the cluster start, which begins with the API down, so a parked lock is recorded in the local file as
 * well as in the Lease. A cluster procedure runs on the local lock alone while the API is gone (parkLease before
 * the control plane stops, attachLease once it is back). A stale lock (its holder stopped renewing) is only ever
 * broken when asked (--break-lock); a live one never is.
 */
export class ClusterLock {
  readonly #api: ClusterApi;
  readonly #owner: LockOwner;
  readonly #leaseSeconds: number;
  readonly #renewMs: number;
  readonly #localPath: string;
  #lease: V1Lease | undefined;
  /** The Lease was parked early (parkLease): the API may be gone; nothing more is asked of it until attachLease. */
  #leaseParked = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #onLost: ((err: KubecycleError) => void) | undefined;
  /** True between a successful acquire and release/park: only then does this lock touch the lease or the file. */
  #held = false;
  #adopted = false;
  /** Every write of the Lease, one after another: a renewal never lands after a park or a release. */
  #writes: Promise<unknown> = Promise.resolve();
  #renewing = false;
  /** The last fence check, shared by the steps that ask within FENCE_FRESH_MS of it. */
  #fence: { at: number; check: Promise<void> } | undefined;

  constructor(api: ClusterApi, owner: LockOwner, opts: ClusterLockOptions) {
    this.#api = api;
    this.#owner = owner;
    this.#leaseSeconds = opts.leaseSeconds ?? 30;
    this.#renewMs = opts.renewMs ?? 10_000;
    this.#localPath = join(opts.stateDir, "lock");
    this.#onLost = opts.onLost;
  }

  /** True once this operation took the lock over from a parked holder (its node's or cluster's earlier stop). */
  get adopted(): boolean {
    return this.#adopted;
  }

  /**
   * Takes the lock. `adopt` says which parked holder this operation may take over (a node start adopting its
   * node's stop). With `api` false (a cluster start, the API down) only the local lock is taken; attachLease takes
   * the Lease later. Returns what was taken over or broken, for the journal.
   */
  async acquire(opts: {
    breakLock: boolean;
    adopt?: (h: LockHolder) => boolean;
    api?: boolean;
  }): Promise<{ tookOver?: string; broke?: string }> {
    if (this.#held) return {};
    const local = await this.#acquireLocal(opts);
    try {
      const lease = opts.api === false ? {} : await this.#acquireLease(opts);
      this.#held = true;
      this.#leaseParked = opts.api === false;
      this.#adopted = (lease.tookOver ?? local.tookOver) !== undefined;
      if (opts.api !== false) this.#startRenewing();
      const tookOver = lease.tookOver ?? local.tookOver;
      const broke = lease.broke ?? local.broke;
      return { ...(tookOver ? { tookOver } : {}), ...(broke ? { broke } : {}) };
    } catch (err) {
      if (!local.tookOver) await rm(this.#localPath, { force: true });
      throw err;
    }
  }

  /**
   * Parks the Lease ahead of the API going away (a cluster stop, before the control plane stops): it says this
   * operation holds the cluster for its start, and is no longer renewed. The local lock goes on.
   */
  async parkLease(): Promise<void> {
    if (!this.#held || this.#leaseParked) return;
    this.#stopRenewing();
    await this.#serial(async () => {
      if (this.#lease) this.#lease = await this.#api.replaceLease(this.#body(this.#lease, "parked"));
    });
    this.#leaseParked = true;
  }

  /** Takes the Lease (back) once the API answers again: a cluster start adopting its stop's parked Lease. */
  async attachLease(opts: {
    breakLock: boolean;
    adopt?: (h: LockHolder) => boolean;
  }): Promise<{ tookOver?: string; broke?: string }> {
    if (!this.#held) throw new KubecycleError("INTERNAL", "attachLease without holding the local lock");
    const result = await this.#serial(() => this.#acquireLease(opts));
    this.#leaseParked = false;
    this.#startRenewing();
    return result;
  }

  /** Stops renewing and marks the lock parked, in the Lease (if the API is still there) and in the local file. */
  async park(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    this.#stopRenewing();
    await this.#serial(async () => {
      if (this.#lease && !this.#leaseParked)
        this.#lease = await this.#api.replaceLease(this.#body(this.#lease, "parked"));
    });
    await this.#writeLocal("parked");
  }

  /** Releases the lock (the Lease, if still ours, and the local lock file). Safe to call more than once. */
  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    this.#stopRenewing();
    try {
      await this.#serial(async () => {
        if (this.#lease || this.#leaseParked) {
          const now = await this.#api.getLease(LOCK_NAMESPACE, LOCK_NAME);
          if (now && holderOf(now).op === this.#owner.op) {
            await this.#api.deleteLease(LOCK_NAMESPACE, LOCK_NAME, now.metadata?.resourceVersion);
          }
          this.#lease = undefined;
        }
      });
    } finally {
      await rm(this.#localPath, { force: true });
    }
  }

  /**
   * The fence before a step changes a node: proof that this operation still holds the lock. The local lock file must
   * name it, running; while the Lease is held (not parked ahead of the API going), the Lease must be exactly the one
   * this operation last wrote (its resourceVersion), which no renewal can be racing with. On evidence that the lock
   * is lost, `onLost` stops the operation and this throws; an API that does not answer is no such evidence (the
   * local lock still holds, and the renewal says so when it comes back). Steps asking within a second of each other
   * share one check.
   */
  fence(): Promise<void> {
    const now = Date.now();
    if (this.#fence && now - this.#fence.at < FENCE_FRESH_MS) return this.#fence.check;
    const check = this.#checkFence();
    this.#fence = { at: now, check };
    return check;
  }

  async #checkFence(): Promise<void> {
    const lost = (why: string) => {
      const err = new KubecycleError("LOCK_HELD", `lost the cluster lock: ${why}`, {
        hint: "another operation took it; see `kubecycle status` and `kubecycle ops list` before going on",
      });
      this.#stopRenewing();
      this.#onLost?.(err);
      return err;
    };
    if (!this.#held) throw lost("this operation does not hold it");
    let local: Partial<LocalHolder> = {};
    try {
      local = JSON.parse(await readFile(this.#localPath, "utf8")) as Partial<LocalHolder>;
    } catch {
      throw lost(`the local lock ${this.#localPath} is gone`);
    }
    if (local.op !== this.#owner.op || local.state !== "running") {
      throw lost(`the local lock now names operation ${local.op ?? "?"} (${local.state ?? "?"})`);
    }
    if (this.#leaseParked || !this.#lease) return;
    await this.#serial(async () => {
      let now: V1Lease | undefined;
      try {
        now = await this.#api.getLease(LOCK_NAMESPACE, LOCK_NAME);
      } catch (err) {
        const code = (err as KubecycleError).code;
        if (code === "KUBE_API_UNREACHABLE" || code === "KUBE_API_FAILED") return;
        throw err;
      }
      const mine = this.#lease?.metadata?.resourceVersion;
      if (!now) throw lost("its Lease is gone");
      if (holderOf(now).op !== this.#owner.op) throw lost(`its Lease is held by ${describeHolder(holderOf(now))}`);
      if (now.metadata?.resourceVersion !== mine) {
        throw lost(
          `its Lease was written by someone else (resourceVersion ${now.metadata?.resourceVersion}, ours ${mine})`,
        );
      }
    });
  }

  /** Runs one write of the Lease after the ones before it. */
  #serial<T>(write: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(write, write);
    this.#writes = run.catch(() => undefined);
    return run;
  }

  async #acquireLease(opts: {
    breakLock: boolean;
    adopt?: (h: LockHolder) => boolean;
  }): Promise<{ tookOver?: string; broke?: string }> {
    const existing = await this.#api.getLease(LOCK_NAMESPACE, LOCK_NAME);
    if (!existing) {
      try {
        this.#lease = await this.#api.createLease(this.#body(undefined));
        return {};
      } catch (err) {
        if ((err as KubecycleError).code !== "CONFLICT") throw err;
        return this.#acquireLease(opts);
      }
    }
    const h = holderOf(existing);
    // A running holder on this host whose process is gone is dead now, not only once its lease runs out.
    const gone = h.state === "running" && kubecycleProcess(h) === "gone";
    const stale =
      h.state === "parked" || gone || !h.renewedAt || Date.now() - h.renewedAt.getTime() > this.#leaseSeconds * 1000;
    let result: { tookOver?: string; broke?: string } = {};
    if (h.op === this.#owner.op) {
      result = {};
    } else if (h.state === "parked" && opts.adopt?.(h)) {
      result = { tookOver: describeHolder(h) };
    } else if (!stale) {
      throw new KubecycleError("LOCK_HELD", `another operation holds the cluster lock: ${describeHolder(h)}`, {
        holder: h.op,
        hint: "wait for it to finish; its holder is alive and renewing the lock",
      });
    } else if (!opts.breakLock) {
      throw new KubecycleError(
        "LOCK_HELD",
        `the cluster lock is held by ${describeHolder(h)}${
          h.state === "parked"
            ? ""
            : gone
              ? `, and its process is gone (pid ${h.pid} on this host)`
              : " and looks stale"
        }`,
        {
          holder: h.op,
          hint:
            h.state === "parked"
              ? `finish it first (\`kubecycle node start ${h.target}\`, or its \`node stop\` again), or pass --break-lock if you know it is abandoned`
              : "if that operation is dead, pass --break-lock to take the lock",
        },
      );
    } else {
      result = { broke: describeHolder(h) };
    }
    try {
      this.#lease = await this.#api.replaceLease(this.#body(existing));
    } catch (err) {
      if ((err as KubecycleError).code === "CONFLICT") {
        throw new KubecycleError("LOCK_HELD", "the cluster lock changed while taking it; someone else is taking it", {
          hint: "run `kubecycle status` and try again",
        });
      }
      throw err;
    }
    return result;
  }

  #body(previous: V1Lease | undefined, state: "running" | "parked" = "running"): V1Lease {
    // Lease times are MicroTime: a plain Date's millisecond format is rejected by the apiserver (HTTP 400).
    const now = new V1MicroTime();
    const me = thisProcess();
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: LOCK_NAME,
        namespace: LOCK_NAMESPACE,
        ...(previous?.metadata?.resourceVersion ? { resourceVersion: previous.metadata.resourceVersion } : {}),
        annotations: {
          [`${A}procedure`]: this.#owner.procedure,
          [`${A}target`]: this.#owner.target,
          [`${A}user`]: me.user,
          [`${A}host`]: me.host,
          [`${A}pid`]: String(me.pid),
          [`${A}started`]: String(me.started),
          [`${A}state`]: state,
        },
      },
      spec: {
        holderIdentity: this.#owner.op,
        leaseDurationSeconds: this.#leaseSeconds,
        acquireTime: (previous?.spec?.holderIdentity === this.#owner.op ? previous.spec.acquireTime : undefined) ?? now,
        renewTime: now,
      },
    };
  }

  #startRenewing(): void {
    this.#renewing = true;
    this.#timer = setInterval(() => {
      void this.#serial(async () => {
        // A park or a release queued before this renewal has stopped it: the Lease is no longer to be renewed.
        if (!this.#renewing || !this.#lease) return;
        try {
          this.#lease = await this.#api.replaceLease(this.#body(this.#lease));
        } catch (err) {
          if ((err as KubecycleError).code === "CONFLICT") {
            // release() still removes our local lock file and deletes the lease only if it is still ours.
            this.#stopRenewing();
            this.#onLost?.(new KubecycleError("LOCK_HELD", "the cluster lock was taken by someone else while running"));
          }
          // Other failures (the API blinking during a stop) are retried at the next tick.
        }
      });
    }, this.#renewMs);
    this.#timer.unref();
  }

  #stopRenewing(): void {
    this.#renewing = false;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The local lock file's record of this operation. */
  #localRecord(state: LocalHolder["state"]): string {
    const me = thisProcess();
    const rec: LocalHolder = {
      ...me,
      op: this.#owner.op,
      procedure: this.#owner.procedure,
      target: this.#owner.target,
      state,
    };
    return JSON.stringify(rec);
  }

  /** Rewrites the local lock file whole, e.g. to mark it parked. */
  #writeLocal(state: LocalHolder["state"]): Promise<void> {
    return writeFileDurably(this.#localPath, this.#localRecord(state));
  }

  /**
   * The local lock file: created exclusively. A parked one is taken over when `adopt` allows (its follow-up, on this
   * host); a leftover of a dead process, or a parked one that is not ours to adopt, only with --break-lock.
   */
  async #acquireLocal(opts: {
    breakLock: boolean;
    adopt?: (h: LockHolder) => boolean;
  }): Promise<{ tookOver?: string; broke?: string }> {
    await mkdir(join(this.#localPath, ".."), { recursive: true, mode: 0o700 });
    try {
      const fh = await open(this.#localPath, "wx", 0o600);
      await fh.writeFile(this.#localRecord("running"));
      await fh.close();
      return {};
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let other: Partial<LocalHolder> = {};
    try {
      other = JSON.parse(await readFile(this.#localPath, "utf8")) as Partial<LocalHolder>;
    } catch {
      // An unreadable lock file is treated as stale.
    }
    const who = `operation ${other.op ?? "?"} (${other.procedure ?? "?"} ${other.target ?? ""}, pid ${other.pid ?? "?"} on ${other.host ?? "?"})`;
    // This operation's own earlier run (resumed after a crash, or parked by its own failure) hands over to it.
    if (other.op === this.#owner.op && (other.state === "parked" || kubecycleProcess(other) !== "alive")) {
      await this.#writeLocal("running");
      return { tookOver: `its own earlier run (pid ${other.pid ?? "?"})` };
    }
    if (other.state === "parked") {
      const holder: LockHolder = {
        op: other.op ?? "",
        procedure: other.procedure ?? "",
        target: other.target ?? "",
        user: other.user ?? "",
        host: other.host ?? "",
        pid: other.pid ?? 0,
        state: "parked",
        renewedAt: undefined,
      };
      if (opts.adopt?.(holder) || opts.breakLock) {
        await this.#writeLocal("running");
        return opts.adopt?.(holder) ? { tookOver: `local lock of ${who}` } : { broke: `local lock of ${who}` };
      }
      throw new KubecycleError("LOCK_HELD", `the local lock at ${this.#localPath} is parked by ${who}`, {
        holder: other.op,
        hint: `finish it first (its ${other.procedure?.replace("stop", "start") ?? "follow-up"} ${other.target ?? ""}), or pass --break-lock if you know it is abandoned`,
      });
    }
    const state = kubecycleProcess(other);
    if (state === "alive") {
      throw new KubecycleError("LOCK_HELD", `another kubecycle on this host is running ${who}`, {
        holder: other.op,
        hint: "wait for it to finish",
      });
    }
    if (!opts.breakLock) {
      throw new KubecycleError(
        "LOCK_HELD",
        state === "gone"
          ? `the local lock at ${this.#localPath} was left by ${who}, whose process is gone`
          : `a local lock of ${who} exists at ${this.#localPath}`,
        {
          holder: other.op,
          hint: state === "gone" ? "pass --break-lock to take it" : "if that process is gone, pass --break-lock",
        },
      );
    }
    await this.#writeLocal("running");
    return { broke: `local lock of ${who}` };
  }
}
