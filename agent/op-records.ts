import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { KubecycleError, writeFileDurably, type Logger } from "../shared/index.js";

// The one rule for operation ids, shared with the coordinator that builds them.
export { validateOperationId } from "../shared/index.js";

// Record file: "<13-digit unix ms>-<owner tag>~<op id>.json", so a directory listing alone gives the index and the
// age. "~" is not in the operation id's alphabet.
const RECORD_FILE = /^(\d{13})-([0-9a-f]{16}~.+)\.json$/;
// Records of agents before operation ids were owned by their caller: no owner, never replayed again.
const LEGACY_RECORD_FILE = /^\d{13}-[^~]+\.json$/;

/** The short, file-name-safe tag of a caller identity that namespaces its operation ids. */
export function ownerTag(owner: string): string {
  return createHash("sha256").update(owner, "utf8").digest("hex").slice(0, 16);
}

interface StoredRecord<R> {
  /** The caller identity (certificate common name) the operation id belongs to. */
  owner: string;
  opId: string;
  rpc: string;
  fingerprint: string;
  recordedUnixMs: number;
  result: R;
}

/**
 * Durable results of mutating calls, keyed by the caller's identity and the operation id: an id belongs to the
 * caller that used it, so another caller can neither receive its recorded result nor be refused for reusing it. A
 * repeated call with a known id gets the recorded result back instead of acting again, also after an agent
 * restart. Each record is one file written via temp file, fsync and rename; only the newest `maxRecords` are kept.
 */
export class OpRecords {
  readonly #dir: string;
  readonly #max: number;
  readonly #log: Logger;
  /** "<owner tag>~<op id>" -> file name, oldest first (insertion order). */
  readonly #index = new Map<string, string>();
  readonly #inFlight = new Map<string, { key: string; promise: Promise<{ result: unknown; replayed: boolean }> }>();

  constructor(dir: string, maxRecords: number, log: Logger) {
    this.#dir = dir;
    this.#max = maxRecords;
    this.#log = log;
  }

  /** Creates the directory if needed and indexes the records already there. */
  async open(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const files: Array<[string, string]> = [];
    for (const name of await readdir(this.#dir)) {
      const m = RECORD_FILE.exec(name);
      if (m?.[2]) files.push([m[2], name]);
      // Leftover temp files of a crash mid-write are not records, and records without an owner can never be
      // replayed again; drop both.
      else if (name.endsWith(".tmp") || LEGACY_RECORD_FILE.test(name)) {
        await unlink(join(this.#dir, name)).catch(() => undefined);
      }
    }
    files.sort((a, b) => a[1].localeCompare(b[1]));
    for (const [opId, name] of files) this.#index.set(opId, name);
    await this.#prune();
  }

  get size(): number {
    return this.#index.size;
  }

  /**
   * Runs `act` once per operation id of `owner`. Returns the recorded result when the id is known (replayed=true),
   * waits for the first call when the same id is still in flight, and refuses an id reused for a different request.
   */
  async once<R>(
    owner: string,
    opId: string,
    rpc: string,
    fingerprint: string,
    act: () => Promise<R>,
  ): Promise<{ result: R; replayed: boolean }> {
    const key = `${rpc}:${fingerprint}`;
    const id = `${ownerTag(owner)}~${opId}`;
    const flying = this.#inFlight.get(id);
    if (flying) {
      checkSameRequest(opId, flying.key, key);
      return { result: (await flying.promise).result as R, replayed: true };
    }
    // Registered before the first await, so a concurrent call with the same id always finds it.
    const promise = (async () => {
      const stored = await this.#read<R>(id, opId);
      if (stored) {
        checkSameRequest(opId, stored.fingerprint, key);
        return { result: stored.result, replayed: true };
      }
      const result = await act();
      await this.#write(id, { owner, opId, rpc, fingerprint: key, recordedUnixMs: Date.now(), result });
      return { result, replayed: false };
    })();
    this.#inFlight.set(id, { key, promise });
    try {
      return await promise;
    } finally {
      this.#inFlight.delete(id);
    }
  }

  async #read<R>(id: string, opId: string): Promise<StoredRecord<R> | undefined> {
    const name = this.#index.get(id);
    if (!name) return undefined;
    try {
      return JSON.parse(await readFile(join(this.#dir, name), "utf8")) as StoredRecord<R>;
    } catch (err) {
      // A record that cannot be read is treated as absent: acting again is safe, because every unit action
      // first checks the unit's current state.
      this.#log.warn({ op: opId, err }, "operation record unreadable; ignoring it");
      this.#index.delete(id);
      return undefined;
    }
  }

  async #write(id: string, record: StoredRecord<unknown>): Promise<void> {
    const name = `${String(record.recordedUnixMs).padStart(13, "0")}-${id}.json`;
    await writeFileDurably(join(this.#dir, name), JSON.stringify(record));
    this.#index.set(id, name);
    await this.#prune();
  }

  async #prune(): Promise<void> {
    while (this.#index.size > this.#max) {
      const [opId, name] = this.#index.entries().next().value as [string, string];
      this.#index.delete(opId);
      await unlink(join(this.#dir, name)).catch(() => undefined);
    }
  }
}

function checkSameRequest(opId: string, recorded: string, asked: string): void {
  if (recorded !== asked) {
    throw new KubecycleError(
      "OPERATION_ID_CONFLICT",
      `operation id ${opId} was already used for a different request (${recorded.split(":")[0] ?? "?"})`,
      { op: opId, hint: "use a new operation id for a new request" },
    );
  }
}
