// The registry's storage layer over etcd, shaped like k8s.io/apiserver's etcd3 store: objects are JSON under
// /registry/<resource>/[<namespace>/]<name> (the real one writes protobuf), resourceVersion is the etcd mod_revision,
// writes are compare-and-swap transactions, reads are linearizable, and watches are etcd watches. There is no watch
// cache: every read goes to etcd, so the API fails as soon as etcd loses quorum.
import { EtcdError, prefixEnd, type Etcd, type KeyValue } from "../lib/etcd.js";
import type { KObject } from "../lib/types.js";
import { alreadyExists, conflict, expired, internal, notFound, serverTimeout, StatusError } from "./errors.js";
import { apiVersionOf, type ResourceInfo } from "./resources.js";

/** Maps an etcd failure to the Status the apiserver would answer with. */
export function storageError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  if (err instanceof EtcdError) {
    if (err.kind === "timeout") return serverTimeout();
    if (err.kind === "compacted") return expired("The resourceVersion for the provided list is too old.");
    return internal(err.message);
  }
  return internal(err instanceof Error ? err.message : String(err));
}

/** A watch event as the REST layer sends it. */
export interface StoreEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KObject;
  prev?: KObject;
}

/** The storage of all resources. */
export class Store {
  constructor(readonly etcd: Etcd) {}

  key(res: ResourceInfo, ns: string | undefined, name: string): string {
    return res.namespaced ? `${res.etcdPrefix}${ns ?? ""}/${name}` : `${res.etcdPrefix}${name}`;
  }

  prefix(res: ResourceInfo, ns?: string): string {
    return res.namespaced && ns ? `${res.etcdPrefix}${ns}/` : res.etcdPrefix;
  }

  private decode(res: ResourceInfo, kv: KeyValue, rv = kv.modRevision): KObject {
    const obj = JSON.parse(kv.value) as KObject;
    obj.apiVersion = apiVersionOf(res);
    obj.kind = res.kind;
    obj.metadata.resourceVersion = String(rv);
    return obj;
  }

  private encode(res: ResourceInfo, obj: KObject): string {
    const meta = { ...obj.metadata };
    delete meta.resourceVersion;
    return JSON.stringify({ ...obj, apiVersion: apiVersionOf(res), kind: res.kind, metadata: meta });
  }

  private async wrap<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw storageError(err);
    }
  }

  /** Reads one object (linearizable). */
  get(res: ResourceInfo, ns: string | undefined, name: string): Promise<KObject> {
    return this.wrap(async () => {
      const r = await this.etcd.range(this.key(res, ns, name));
      const kv = r.kvs[0];
      if (!kv) throw notFound(res, name);
      return this.decode(res, kv);
    });
  }

  /** Lists objects of a resource (in `ns`, or everywhere), optionally one page at a time. */
  list(
    res: ResourceInfo,
    ns: string | undefined,
    page: { limit?: number; start?: string; revision?: number } = {},
  ): Promise<{ items: KObject[]; revision: number; next?: string; remaining?: number }> {
    return this.wrap(async () => {
      const prefix = this.prefix(res, ns);
      const r = await this.etcd.range(page.start ?? prefix, {
        rangeEnd: prefixEnd(prefix),
        ...(page.limit ? { limit: page.limit } : {}),
        ...(page.revision ? { revision: page.revision } : {}),
      });
      const items = r.kvs.map((kv) => this.decode(res, kv));
      const last = r.kvs[r.kvs.length - 1];
      return {
        items,
        revision: r.revision,
        ...(r.more && last ? { next: `${last.key}\0`, remaining: r.count - r.kvs.length } : {}),
      };
    });
  }

  /** Creates `obj` (its metadata complete but for resourceVersion); 409 AlreadyExists if the name is taken. */
  create(res: ResourceInfo, obj: KObject): Promise<KObject> {
    return this.wrap(async () => {
      const name = obj.metadata.name ?? "";
      const key = this.key(res, obj.metadata.namespace, name);
      const value = this.encode(res, obj);
      const t = await this.etcd.txn([{ key, target: "CREATE", createRevision: 0 }], [{ put: { key, value } }]);
      if (!t.succeeded) throw alreadyExists(res, name);
      return this.decode(res, {
        key,
        value,
        createRevision: t.revision,
        modRevision: t.revision,
        version: 1,
        lease: "0",
      });
    });
  }

  /** Writes `obj` if the stored object still has resourceVersion `expectRv`; 409 Conflict otherwise. */
  update(res: ResourceInfo, obj: KObject, expectRv: number): Promise<KObject> {
    return this.wrap(async () => {
      const name = obj.metadata.name ?? "";
      const key = this.key(res, obj.metadata.namespace, name);
      const value = this.encode(res, obj);
      const t = await this.etcd.txn(
        [{ key, target: "MOD", modRevision: expectRv }],
        [{ put: { key, value } }],
        [{ range: { key } }],
      );
      if (!t.succeeded) {
        if ((t.responses[0] ?? []).length === 0) throw notFound(res, name);
        throw conflict(res, name);
      }
      return this.decode(res, { key, value, createRevision: 0, modRevision: t.revision, version: 0, lease: "0" });
    });
  }

  /**
   * Read-modify-write with retries on conflict (the store's GuaranteedUpdate). `mutate` returns the new object, or
   * null to leave it unchanged; it may throw a StatusError to refuse.
   */
  async guaranteedUpdate(
    res: ResourceInfo,
    ns: string | undefined,
    name: string,
    mutate: (cur: KObject) => KObject | null | Promise<KObject | null>,
  ): Promise<KObject> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.get(res, ns, name);
      const next = await mutate(structuredClone(cur));
      if (next === null) return cur;
      try {
        return await this.update(res, next, Number(cur.metadata.resourceVersion));
      } catch (err) {
        if (err instanceof StatusError && err.reason === "Conflict" && attempt < 8) continue;
        throw err;
      }
    }
  }

  /** Deletes the object if its resourceVersion is still `expectRv` (when given); returns the deleted object. */
  remove(res: ResourceInfo, ns: string | undefined, name: string, expectRv?: number): Promise<KObject> {
    return this.wrap(async () => {
      const key = this.key(res, ns, name);
      const t = await this.etcd.txn(
        expectRv === undefined
          ? [{ key, target: "CREATE", result: "GREATER", createRevision: 0 }]
          : [{ key, target: "MOD", modRevision: expectRv }],
        [{ del: { key } }],
        [{ range: { key } }],
      );
      if (!t.succeeded) {
        if ((t.responses[0] ?? []).length === 0) throw notFound(res, name);
        throw conflict(
          res,
          name,
          "the object has been modified; please apply your changes to the latest version and try again",
        );
      }
      const prev = t.responses[0]?.[0];
      if (!prev) throw notFound(res, name);
      return this.decode(res, prev, t.revision);
    });
  }

  /** Watches the resource (in `ns` or everywhere) for changes after `fromRevision`. Returns a cancel function. */
  watch(
    res: ResourceInfo,
    ns: string | undefined,
    fromRevision: number,
    onEvent: (ev: StoreEvent) => void,
    onEnd: (err: StatusError) => void,
  ): () => void {
    const prefix = this.prefix(res, ns);
    return this.etcd.watch(
      { key: prefix, rangeEnd: prefixEnd(prefix), startRevision: fromRevision + 1 },
      (events) => {
        for (const e of events) {
          if (e.type === "DELETE") {
            if (e.prevKv) onEvent({ type: "DELETED", object: this.decode(res, e.prevKv, e.kv.modRevision) });
          } else {
            onEvent({
              type: e.kv.version === 1 ? "ADDED" : "MODIFIED",
              object: this.decode(res, e.kv),
              ...(e.prevKv ? { prev: this.decode(res, e.prevKv) } : {}),
            });
          }
        }
      },
      (err) => onEnd(storageError(err)),
    );
  }

  /** The etcd check of /readyz and /livez: a linearizable read answered within `timeoutMs`. */
  async check(timeoutMs = 2000): Promise<void> {
    await this.etcd.range("/registry/health", { timeoutMs });
  }
}
