// Leader election through etcd, as etcd's concurrency.Election does it: a key created only if absent
// (create_revision == 0), attached to an etcd lease that the leader keeps alive. When the leader dies or loses
// quorum its lease expires and the key goes with it, so another candidate can take it. A leader that cannot renew
// stops acting before its lease can have expired (the renew deadline), so two leaders never act at once.
import type { Etcd } from "./etcd.js";
import { errMsg, type Log } from "./log.js";

/** One candidate of an election. */
export class Election {
  private leaseId: string | undefined;
  private lastRenew = 0;
  private leading = false;

  constructor(
    private readonly etcd: Etcd,
    /** e.g. "kube-controller-manager" */
    readonly name: string,
    readonly identity: string,
    private readonly ttlSeconds: number,
    private readonly log: Log,
  ) {}

  private get key(): string {
    return `/registry/lab-election/${this.name}`;
  }

  /** True while this candidate leads and its lease is certainly still alive. */
  isLeader(): boolean {
    return this.leading && Date.now() - this.lastRenew < this.ttlSeconds * 1000 - 700;
  }

  /** One round: renew if leading, campaign otherwise. Returns isLeader(). */
  async tick(): Promise<boolean> {
    try {
      if (this.leaseId && this.leading) {
        const ttl = await this.etcd.leaseKeepAlive(this.leaseId, 1000);
        if (ttl > 0) this.lastRenew = Date.now();
        else this.lose("lease expired");
      } else {
        // Campaign only while nobody leads, as client-go's leader election does: a campaign is a txn, and every txn
        // that may write is a raft proposal (a WAL fsync on every member), a few per second per candidate for nothing.
        const cur = (await this.etcd.range(this.key, { timeoutMs: 1000 })).kvs[0];
        if (cur && !(cur.value === this.identity && cur.lease === this.leaseId)) {
          this.leaseId = undefined;
          return false;
        }
        if (!this.leaseId) this.leaseId = await this.etcd.leaseGrant(this.ttlSeconds);
        const granted = Date.now();
        const ttl = await this.etcd.leaseKeepAlive(this.leaseId, 1000);
        if (ttl <= 0) {
          this.leaseId = undefined;
          return false;
        }
        const t = await this.etcd.txn(
          [{ key: this.key, target: "CREATE", createRevision: 0 }],
          [{ put: { key: this.key, value: this.identity, lease: this.leaseId } }],
          [{ range: { key: this.key } }],
        );
        const holder = t.responses[0]?.[0];
        if (t.succeeded || (holder?.value === this.identity && holder.lease === this.leaseId)) {
          this.leading = true;
          this.lastRenew = granted;
          this.log.info("became leader", { election: this.name, identity: this.identity });
        }
      }
    } catch (err) {
      if (this.leading && !this.isLeader()) this.lose(errMsg(err));
    }
    if (this.leading && !this.isLeader()) this.lose("renew deadline passed");
    return this.isLeader();
  }

  private lose(why: string): void {
    this.log.warn("lost leadership", { election: this.name, why });
    this.leading = false;
    this.leaseId = undefined;
  }

  /** The current leader's identity, read from etcd (linearizable), or undefined. */
  async leader(): Promise<string | undefined> {
    const r = await this.etcd.range(this.key, { timeoutMs: 2000 });
    return r.kvs[0]?.value;
  }

  /** Gives leadership up at once (on SIGTERM). */
  async resign(): Promise<void> {
    const id = this.leaseId;
    this.leading = false;
    this.leaseId = undefined;
    if (id) await this.etcd.leaseRevoke(id).catch(() => undefined);
  }
}
