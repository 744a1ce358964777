import type { V1Pod } from "@kubernetes/client-node";
import { setTimeout as sleep } from "node:timers/promises";
import { isKubecycleError, KubecycleError } from "../../shared/index.js";
import { describeScope, type ClusterApi, type PodEvent, type PodScope } from "./cluster.js";

/** Options of {@link PodCache.start}. */
export interface PodCacheOptions {
  /** Stops the watch (as {@link PodCache.stop} does). */
  signal: AbortSignal;
  /** Told after the cache changed (an event, or a list after a failed watch), and when it gave up. */
  onChange: () => void;
  /** Lists after failed watches in a row (no watch ended by the server between them) before it gives up. Default 5. */
  maxRelists?: number;
  /** Pause before a list after a watch failed other than 410 Gone, and before re-watching a watch that ended at once. Default 1 s. */
  relistBackoffMs?: number;
  /** Told why a watch failed, before the list that recovers from it. */
  onRelist?: (err: unknown) => void;
}

const uidOf = (p: V1Pod) => p.metadata?.uid ?? `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`;

/**
 * The pods in one scope, kept current the way client-go's reflector does: one list, then a watch from the list's
 * resourceVersion, with bookmarks (which keep that version current while nothing in scope changes). A watch the
 * server ends (its timeout) is resumed from the last version seen; a watch that fails (410 Gone: the version is too
 * old; or the server not answering) is recovered by listing again. `maxRelists` failures in a row, with no watch
 * running to its end between them, and {@link failure} holds the error; a watch refused (401, 403) fails at once.
 * Nothing here polls: requests are the lists and the watches.
 */
export class PodCache {
  readonly scope: PodScope;
  readonly #api: ClusterApi;
  readonly #opts: PodCacheOptions;
  readonly #pods = new Map<string, V1Pod>();
  readonly #stop = new AbortController();
  #rv = "";
  #relists = 0;
  #failure: KubecycleError | undefined;
  #done: Promise<void> = Promise.resolve();

  private constructor(api: ClusterApi, scope: PodScope, opts: PodCacheOptions) {
    this.#api = api;
    this.scope = scope;
    this.#opts = opts;
  }

  /** Lists the scope (its errors are the caller's, as a list's would be) and starts watching it. */
  static async start(api: ClusterApi, scope: PodScope, opts: PodCacheOptions): Promise<PodCache> {
    const cache = new PodCache(api, scope, opts);
    await cache.#list();
    const onAbort = () => void cache.stop();
    opts.signal.addEventListener("abort", onAbort, { once: true });
    cache.#done = cache.#run().finally(() => opts.signal.removeEventListener("abort", onAbort));
    return cache;
  }

  /** The pods as last seen. */
  get pods(): V1Pod[] {
    return [...this.#pods.values()];
  }

  /** Why the cache stopped following the API (the watch kept failing), or undefined while it follows. */
  get failure(): KubecycleError | undefined {
    return this.#failure;
  }

  /** Ends the watch; resolves when it has ended. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#done;
  }

  async #list(): Promise<void> {
    const list = await this.#api.listPodList(this.scope);
    this.#pods.clear();
    for (const p of list.pods) this.#pods.set(uidOf(p), p);
    this.#rv = list.resourceVersion;
  }

  #apply(e: PodEvent): void {
    this.#rv = e.pod.metadata?.resourceVersion ?? this.#rv;
    if (e.type === "BOOKMARK") return;
    if (e.type === "DELETED") this.#pods.delete(uidOf(e.pod));
    else this.#pods.set(uidOf(e.pod), e.pod);
    this.#opts.onChange();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const maxRelists = this.#opts.maxRelists ?? 5;
    const backoffMs = this.#opts.relistBackoffMs ?? 1000;
    while (!signal.aborted) {
      const t0 = Date.now();
      let err: unknown;
      try {
        await this.#api.watchPods(this.scope, this.#rv, (e) => this.#apply(e), signal);
      } catch (e) {
        err = e;
      }
      if (signal.aborted) return;
      // A refusal is not retried: RBAC answers the same until someone changes it.
      if (isKubecycleError(err, "PERMISSION_DENIED")) {
        this.#failure = err;
        this.#opts.onChange();
        return;
      }
      try {
        if (err === undefined) {
          // The server ended the watch (its timeout): the failures before it are behind us. Resume from where it
          // was, not too eagerly.
          this.#relists = 0;
          if (Date.now() - t0 < backoffMs) await sleep(backoffMs, undefined, { signal });
          continue;
        }
        for (;;) {
          if (++this.#relists > maxRelists) {
            this.#failure = new KubecycleError(
              "KUBE_API_FAILED",
              `watch pods${describeScope(this.scope)} failed ${this.#relists} times in a row: ${(err as Error)?.message ?? String(err)}`,
              { hint: "check the API server (`kubecycle status`)" },
              { cause: err },
            );
            this.#opts.onChange();
            return;
          }
          this.#opts.onRelist?.(err);
          const gone = err instanceof KubecycleError && err.fields.httpStatus === 410;
          if (!gone) await sleep(backoffMs, undefined, { signal });
          try {
            await this.#list();
            this.#opts.onChange();
            break;
          } catch (e) {
            err = e;
          }
        }
      } catch {
        // Aborted while pausing.
        return;
      }
    }
  }
}
