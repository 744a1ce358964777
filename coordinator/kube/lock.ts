import { V1MicroTime, type V1Lease } from "@kubernetes/client-node";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { KubecycleError } from "../../shared/index.js";
import { kubecycleProcess, thisProcess } from "../liveness.js";
import type { ClusterApi } from "./cluster.js";

export const LOCK_NAMESPACE = "kube-system";
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
    state: a[`${A}state`] === "parked" ? "parked" : "running",
    renewedAt: renew ? new Date(renew) : undefined,
  };
}

/**
 * The cluster operation lock: a Lease in kube-system naming the operation and its holder, renewed while the
 * operation runs, plus a local lock file so two kubecycle processes on one host never both act. Only one procedure
 * runs at a time. A node stop parks the lock until that node's start adopts it. A stale lock (its holder stopped
 * renewing) is only ever broken when asked (--break-lock); a live one never is.
 */
export class ClusterLock {
  readonly #api: ClusterApi;
  readonly #owner: LockOwner;
  readonly #leaseSeconds: number;
  readonly #renewMs: number;
  readonly #localPath: string;
  #lease: V1Lease | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #onLost: ((err: KubecycleError) => void) | undefined;
  /** True between a successful acquire and release/park: only then does this lock touch the lease or the file. */
  #held = false;
  #adopted = false;

  constructor(api: ClusterApi, owner: LockOwner, opts: ClusterLockOptions) {
    this.#api = api;
    this.#owner = owner;
    this.#leaseSeconds = opts.leaseSeconds ?? 30;
    this.#renewMs = opts.renewMs ?? 10_000;
    this.#localPath = join(opts.stateDir, "lock");
    this.#onLost = opts.onLost;
  }

  /** True once this operation took the lock over from a parked holder (its node's earlier stop or start). */
  get adopted(): boolean {
    return this.#adopted;
  }

  /**
   * Takes the lock. `adopt` says which parked holder this operation may take over (a node start adopting its
   * node's stop). Returns what was taken over or broken, for the journal.
   */
  async acquire(opts: {
    breakLock: boolean;
    adopt?: (h: LockHolder) => boolean;
  }): Promise<{ tookOver?: string; broke?: string }> {
    const brokeLocal = await this.#acquireLocal(opts.breakLock);
    try {
      const result = await this.#acquireLease(opts);
      this.#held = true;
      this.#adopted = result.tookOver !== undefined;
      this.#startRenewing();
      return brokeLocal && !result.broke ? { ...result, broke: brokeLocal } : result;
    } catch (err) {
      await rm(this.#localPath, { force: true });
      throw err;
    }
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
    const gone = h.state === "running" && kubecycleProcess(h.host, h.pid) === "gone";
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

  /** Stops renewing and marks the lock parked: the operation's follow-up (a node start) may adopt it. */
  async park(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    this.#stopRenewing();
    if (this.#lease) this.#lease = await this.#api.replaceLease(this.#body(this.#lease, "parked"));
    await rm(this.#localPath, { force: true });
  }

  /** Releases the lock (the Lease, if still ours, and the local lock file). Safe to call more than once. */
  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    this.#stopRenewing();
    try {
      if (this.#lease) {
        const now = await this.#api.getLease(LOCK_NAMESPACE, LOCK_NAME);
        if (now && holderOf(now).op === this.#owner.op) {
          await this.#api.deleteLease(LOCK_NAMESPACE, LOCK_NAME, now.metadata?.resourceVersion);
        }
        this.#lease = undefined;
      }
    } finally {
      await rm(this.#localPath, { force: true });
    }
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
    this.#timer = setInterval(() => {
      const lease = this.#lease;
      if (!lease) return;
      this.#api.replaceLease(this.#body(lease)).then(
        (l) => {
          this.#lease = l;
        },
        (err: unknown) => {
          if ((err as KubecycleError).code === "CONFLICT") {
            // release() still removes our local lock file and deletes the lease only if it is still ours.
            this.#stopRenewing();
            this.#onLost?.(new KubecycleError("LOCK_HELD", "the cluster lock was taken by someone else while running"));
          }
          // Other failures (the API blinking during a stop) are retried at the next tick.
        },
      );
    }, this.#renewMs);
    this.#timer.unref();
  }

  #stopRenewing(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The local lock file: created exclusively; a leftover of a dead process is only removed with --break-lock. */
  async #acquireLocal(breakLock: boolean): Promise<string | undefined> {
    await mkdir(join(this.#localPath, ".."), { recursive: true, mode: 0o700 });
    const { host, pid } = thisProcess();
    const content = JSON.stringify({ op: this.#owner.op, pid, host });
    try {
      const fh = await open(this.#localPath, "wx", 0o600);
      await fh.writeFile(content);
      await fh.close();
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let other: { op?: string; pid?: number; host?: string } = {};
    try {
      other = JSON.parse(await readFile(this.#localPath, "utf8")) as typeof other;
    } catch {
      // An unreadable lock file is treated as stale.
    }
    const state = kubecycleProcess(other.host, other.pid);
    const who = `operation ${other.op ?? "?"} (pid ${other.pid ?? "?"} on ${other.host ?? "?"})`;
    if (state === "alive") {
      throw new KubecycleError("LOCK_HELD", `another kubecycle on this host is running ${who}`, {
        holder: other.op,
        hint: "wait for it to finish",
      });
    }
    if (!breakLock) {
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
    await rm(this.#localPath, { force: true });
    return this.#acquireLocal(false).then(() => `local lock of ${who}`);
  }
}
