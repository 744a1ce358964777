import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { KubecycleError, writeFileDurably, type Logger, type OperationStamp } from "../shared/index.js";

/** The newest operation that changed this node, and when it first did. */
interface FenceRecord extends OperationStamp {
  sinceUnixMs: number;
}

/**
 * The operation fence: the newest operation (by its epoch) that has changed this node, kept on disk. A change from an
 * older operation is refused with SUPERSEDED. This is what keeps a request that the network held up from acting late:
 * when a node drops off mid-call, the coordinator gives up and moves on (a later `cluster start`), while the kernel
 * that sent the request keeps retransmitting it; once the link is back the agent receives it whole, with a relative
 * gRPC deadline that looks fresh. Without the fence it would stop a kubelet the later operation had just started.
 *
 * A change without a stamp (an older coordinator) is let through and moves nothing. Equal epochs are let through: a
 * resumed operation keeps its epoch.
 */
export class OperationFence {
  readonly #file: string;
  readonly #log: Logger;
  #current: FenceRecord | undefined;

  private constructor(file: string, log: Logger) {
    this.#file = file;
    this.#log = log;
  }

  /** Reads the fence kept in `file`; an unreadable one is logged and starts empty (acting again is checked anyway). */
  static async open(file: string, log: Logger): Promise<OperationFence> {
    const fence = new OperationFence(file, log);
    try {
      const r = JSON.parse(await readFile(file, "utf8")) as Partial<FenceRecord>;
      if (typeof r.op === "string" && Number.isSafeInteger(r.epoch) && Number.isSafeInteger(r.sinceUnixMs)) {
        fence.#current = { op: r.op, epoch: r.epoch as number, sinceUnixMs: r.sinceUnixMs as number };
      } else {
        log.warn({ file }, "operation fence malformed; starting without one");
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        log.warn({ file, err }, "operation fence unreadable; starting without one");
      }
    }
    return fence;
  }

  /** The newest operation that changed this node, if any did. */
  get current(): Readonly<FenceRecord> | undefined {
    return this.#current;
  }

  /**
   * Lets a change of `stamp`'s operation through, and records that operation as the newest when it is: on disk before
   * the change runs, so an agent restart keeps the fence. Callers run one change at a time (see Mutations).
   */
  async admit(stamp: OperationStamp | undefined): Promise<void> {
    if (!stamp) return;
    const cur = this.#current;
    if (cur && stamp.epoch < cur.epoch) {
      const at = (ms: number) => new Date(ms).toISOString();
      throw new KubecycleError(
        "SUPERSEDED",
        `operation ${stamp.op} (begun ${at(stamp.epoch)}) is older than operation ${cur.op} (begun ${at(cur.epoch)}), ` +
          `which has changed this node since ${at(cur.sinceUnixMs)}; not acting for the older one`,
        {
          superseded: stamp.op,
          newest: cur.op,
          hint:
            "a request held up in the network after its coordinator gave up is refused on purpose; to act on this " +
            "node, run the procedure again (a new operation). If the coordinator's clock is behind the one that ran " +
            `${cur.op}, set it right first`,
        },
      );
    }
    if (cur?.op === stamp.op && cur.epoch === stamp.epoch) return;
    const next: FenceRecord = { ...stamp, sinceUnixMs: Date.now() };
    await mkdir(dirname(this.#file), { recursive: true, mode: 0o700 });
    await writeFileDurably(this.#file, `${JSON.stringify(next)}\n`);
    this.#log.info({ op: stamp.op, epoch: stamp.epoch, previous: cur?.op }, "operation fence: newest operation");
    this.#current = next;
  }
}
