import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger, StartOnBoot } from "../../../shared/index.js";
import { readInventoryCache, type Inventory } from "../../inventory.js";
import { readOperation, type OperationSummary } from "../../run/journal.js";
import type { ReportStore } from "../store.js";
import { pageState, type PageState, type ProbeState } from "./model.js";

/** How many of the newest operations the page reads (the one running, the last ones, the last settle report). */
const OPERATIONS_READ = 12;

/** What the feed reads its frames from. */
export interface FeedSources {
  cluster: string;
  stateDir: string;
  store: ReportStore;
  probes: () => ReadonlyMap<string, ProbeState>;
  startOnBoot: () => StartOnBoot | undefined;
  log: Logger;
}

/**
 * The page's frames: gathers serve's inputs (the inventory cache, the reports, the probes, the newest journals),
 * makes a frame, and hands it to the subscribers only when something in it changed, so an idle cluster costs the
 * browsers nothing but a keep-alive. Files are read again only when their size or time changed.
 */
export class StatusFeed {
  readonly #s: FeedSources;
  readonly #subscribers = new Set<(frame: PageState, json: string) => void>();
  readonly #ops = new Map<string, { print: string; summary: OperationSummary }>();
  #inventory: { print: string; inv: Inventory | undefined } = { print: "", inv: undefined };
  #last: { frame: PageState; json: string; key: string } | undefined;
  #refreshing: Promise<void> | undefined;
  #again = false;

  constructor(sources: FeedSources) {
    this.#s = sources;
  }

  /** The last frame made (made now when there is none yet). */
  async current(): Promise<{ frame: PageState; json: string }> {
    if (!this.#last) await this.refresh();
    if (!this.#last) throw new Error("the status page has no frame");
    return this.#last;
  }

  /** Calls `fn` with every changed frame until the returned function is called. */
  subscribe(fn: (frame: PageState, json: string) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Reads the inputs again and sends a frame if anything changed. One refresh at a time; asks meanwhile coalesce. */
  refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#again = false;
        try {
          await this.#make();
        } catch (err) {
          this.#s.log.error({ err }, "making the status page's frame failed");
        }
      } while (this.#again);
    })().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #make(): Promise<void> {
    const [inventory, operations] = await Promise.all([this.readInventory(), this.#readOperations()]);
    const frame = pageState({
      cluster: this.#s.cluster,
      nowUnixMs: Date.now(),
      inventory,
      reports: this.#s.store.all(),
      probes: this.#s.probes(),
      operations,
      startOnBoot: this.#s.startOnBoot(),
    });
    // What changed is judged without the frame's own clock; ages tick in the browser.
    const key = JSON.stringify({ ...frame, nowUnixMs: 0 });
    if (this.#last?.key === key) return;
    const json = JSON.stringify(frame);
    this.#last = { frame, json, key };
    for (const fn of this.#subscribers) {
      try {
        fn(frame, json);
      } catch (err) {
        this.#s.log.error({ err }, "a status page subscriber failed");
      }
    }
  }

  /** The cached inventory the CLI last wrote (read again only when the file changed). */
  async readInventory(): Promise<Inventory | undefined> {
    const st = await stat(join(this.#s.stateDir, "inventory.json")).catch(() => undefined);
    const print = st ? `${st.size}:${st.mtimeMs}` : "";
    if (print !== this.#inventory.print) {
      this.#inventory = { print, inv: st ? await readInventoryCache(this.#s.stateDir) : undefined };
    }
    return this.#inventory.inv;
  }

  /** The newest operations, newest first; a journal is parsed again only when it grew (or its writer may be gone). */
  async #readOperations(): Promise<OperationSummary[]> {
    const dir = join(this.#s.stateDir, "operations");
    const names = (await readdir(dir).catch(() => [] as string[])).sort().reverse().slice(0, OPERATIONS_READ);
    const out: OperationSummary[] = [];
    for (const op of names) {
      const st = await stat(join(dir, op, "journal.jsonl")).catch(() => undefined);
      if (!st) continue;
      const print = `${st.size}:${st.mtimeMs}`;
      const cached = this.#ops.get(op);
      // A running operation is read again each time: its process may have died without writing anything.
      if (cached && cached.print === print && cached.summary.result !== "running") {
        out.push(cached.summary);
        continue;
      }
      const summary = await readOperation(this.#s.stateDir, op).catch(() => undefined);
      if (!summary) continue;
      this.#ops.set(op, { print, summary });
      out.push(summary);
    }
    const keep = new Set(names);
    for (const op of this.#ops.keys()) if (!keep.has(op)) this.#ops.delete(op);
    return out;
  }
}
