import { mkdir, open, readFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { type BootReport__Output, type Logger, writeFileDurably } from "../../shared/index.js";

/** A node's last report as `serve` keeps it. */
export interface Kept {
  report: BootReport__Output;
  receivedUnixMs: number;
  /** The address it came from. */
  peer: string;
}

/** What {@link ReportStore.accept} did with a report. */
export interface Accepted {
  stored: boolean;
  receivedUnixMs: number;
}

const SNAPSHOT = "reports.json";
const LOG = "reports.jsonl";

/**
 * Whether `r` is newer than the report kept for its node. One agent process numbers its reports (sequence); a
 * report of an earlier process of the agent (a retry that arrives after the restart's first report) is older. A
 * report of a new process, or of the same one with a higher number, is newer.
 */
export function isNewer(r: BootReport__Output, kept: BootReport__Output | undefined): boolean {
  if (!kept) return true;
  if (r.agentInstance === kept.agentInstance) return r.sequence > kept.sequence;
  return r.agentStartedUnixMs >= kept.agentStartedUnixMs;
}

/**
 * Every node's last report, kept durably in `<dir>`: each report appended to reports.jsonl and fsynced before it is
 * acknowledged (an agent that got the answer never sends it again, so it must survive serve's SIGKILL), and now and
 * then the whole set written to reports.json (temp file, fsync, rename) and the log begun again. Reading back is the
 * snapshot, then the log over it by the same rule as accepting (newer wins): a crash between the two steps of a
 * compaction only replays what the snapshot already has. A torn last line is ignored; every line before it was
 * fsynced whole.
 */
export class ReportStore {
  readonly dir: string;
  readonly #log: Logger;
  readonly #kept = new Map<string, Kept>();
  #fh: FileHandle | undefined;
  #lines = 0;
  #pending: Array<{ kept: Kept; done: (err?: Error) => void }> = [];
  #flushing: Promise<void> | undefined;
  /** Called with every report stored, after it is on disk. */
  onStored: ((k: Kept) => void) | undefined;

  private constructor(dir: string, log: Logger) {
    this.dir = dir;
    this.#log = log;
  }

  /** Opens (or creates) the store in `dir` and reads back what it kept. */
  static async open(dir: string, log: Logger): Promise<ReportStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const s = new ReportStore(dir, log);
    try {
      const snap = JSON.parse(await readFile(join(dir, SNAPSHOT), "utf8")) as { version: 1; reports: Kept[] };
      for (const k of snap.reports) s.#apply(k);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    let text = "";
    try {
      text = await readFile(join(dir, LOG), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      try {
        s.#apply(JSON.parse(line) as Kept);
        s.#lines += 1;
      } catch {
        log.warn({ dir }, "ignoring a torn last line in the report log");
      }
    }
    s.#fh = await open(join(dir, LOG), "a", 0o600);
    return s;
  }

  /** Every node's last report. */
  all(): Kept[] {
    return [...this.#kept.values()].sort((a, b) => a.report.nodeName.localeCompare(b.report.nodeName));
  }

  get(node: string): Kept | undefined {
    return this.#kept.get(node);
  }

  /** Keeps `report` if it is newer than the node's last; resolves once it is on disk. */
  async accept(report: BootReport__Output, peer: string, now = Date.now()): Promise<Accepted> {
    if (!isNewer(report, this.#kept.get(report.nodeName)?.report)) return { stored: false, receivedUnixMs: now };
    await this.#write({ report, receivedUnixMs: now, peer });
    return { stored: true, receivedUnixMs: now };
  }

  /** Finishes pending writes and closes the log. */
  async close(): Promise<void> {
    await this.#flushing;
    await this.#fh?.close();
    this.#fh = undefined;
  }

  #notify(k: Kept): void {
    try {
      this.onStored?.(k);
    } catch (err) {
      this.#log.error({ err }, "a report listener failed");
    }
  }

  #apply(k: Kept): boolean {
    if (!isNewer(k.report, this.#kept.get(k.report.nodeName)?.report)) return false;
    this.#kept.set(k.report.nodeName, k);
    return true;
  }

  // Group commit, as the journal does: lines that arrive while a write is in flight go out together, one fsync.
  #write(kept: Kept): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ kept, done: (err) => (err === undefined ? resolve() : reject(err)) });
      this.#flushing ??= this.#flush();
    });
  }

  async #flush(): Promise<void> {
    await Promise.resolve();
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      let failure: Error | undefined;
      try {
        if (!this.#fh) throw new Error("the report store is closed");
        await this.#fh.appendFile(batch.map((b) => `${JSON.stringify(b.kept)}\n`).join(""));
        await this.#fh.sync();
        this.#lines += batch.length;
        // On disk, so kept; in arrival order, and the newer one wins, as when reading back.
        for (const b of batch) if (this.#apply(b.kept)) this.#notify(b.kept);
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
      }
      for (const b of batch) b.done(failure);
      if (!failure && this.#lines > 1000 + 4 * this.#kept.size) await this.#compact();
    }
    this.#flushing = undefined;
  }

  /** The whole set to the snapshot, then the log begun again; inside the write loop, so no append races it. */
  async #compact(): Promise<void> {
    try {
      const reports = [...this.#kept.values()];
      await writeFileDurably(join(this.dir, SNAPSHOT), `${JSON.stringify({ version: 1, reports })}\n`);
      await this.#fh?.close();
      this.#fh = await open(join(this.dir, LOG), "w", 0o600);
      await this.#fh.sync();
      this.#lines = 0;
    } catch (err) {
      this.#log.error({ err }, "compacting the report log failed; it keeps growing");
      this.#fh ??= await open(join(this.dir, LOG), "a", 0o600);
    }
  }
}
