import type { Metadata } from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { KubecycleError } from "./errors.js";

/** The longest operation id an agent accepts: ids are file names in its records, and travel in every audit line. */
export const OPERATION_ID_MAX = 128;

// Operation ids are used as file names, so they are held to a safe alphabet.
const OPERATION_ID = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,${OPERATION_ID_MAX - 1}}$`);
/** Hex digits of the digest that stands in for what does not fit. */
const DIGEST_CHARS = 16;

/** Throws INVALID_REQUEST unless `opId` is a usable operation id. */
export function validateOperationId(opId: unknown): string {
  if (typeof opId !== "string" || !OPERATION_ID.test(opId)) {
    throw new KubecycleError(
      "INVALID_REQUEST",
      `operation_id is required: 1-${OPERATION_ID_MAX} characters of letters, digits and ._:- starting with a letter or digit`,
      { field: "operation_id" },
    );
  }
  return opId;
}

/**
 * The operation id of one agent call, the only place one is built: the coordinator's operation, the step and what
 * the step does it to (a unit), joined by dots. The same parts give the same id on every run, so a resumed or
 * retried step replays the agent's record instead of acting twice. An id that would be longer than the agent
 * accepts (long cloud node names) keeps its readable beginning and ends in a digest of the whole.
 */
export function agentOperationId(...parts: string[]): string {
  const whole = parts
    .map((p) => p.replace(/[^A-Za-z0-9._:-]+/g, "."))
    .filter((p) => p !== "")
    .join(".");
  if (whole.length <= OPERATION_ID_MAX) return validateOperationId(whole);
  const digest = createHash("sha256").update(whole).digest("hex").slice(0, DIGEST_CHARS);
  return validateOperationId(`${whole.slice(0, OPERATION_ID_MAX - DIGEST_CHARS - 1)}.${digest}`);
}

/**
 * The coordinator's operation a change belongs to, sent with every changing call: its id and its epoch, the time it
 * began by the coordinator's clock (a resumed operation keeps its epoch). An agent acts for no operation older than
 * the newest one that has changed its node: a request held up in the network after its coordinator gave up (TCP
 * delivers what the kernel still retransmits after the process is gone) must not undo what a later operation did.
 */
export interface OperationStamp {
  op: string;
  epoch: number;
}

/**
 * The agent's RPCs that change its node: each carries its operation's stamp, and the agent fences each. The agent's
 * authorization table opens exactly these as writes (agent/server.test.ts checks the two agree).
 */
export const CHANGE_RPCS: ReadonlySet<string> = new Set([
  "StopUnits",
  "StartUnits",
  "SetAutoStart",
  "StopPodSandboxes",
  "PowerOff",
  "EtcdRestore",
  "EtcdReplaceMember",
  "EtcdRejoin",
]);

/** The gRPC metadata keys that carry an OperationStamp. */
export const OPERATION_METADATA = { op: "kubecycle-operation", epoch: "kubecycle-operation-epoch" } as const;

/** Adds `stamp` to a call's metadata. */
export function stampMetadata(md: Metadata, stamp: OperationStamp): Metadata {
  md.set(OPERATION_METADATA.op, stamp.op);
  md.set(OPERATION_METADATA.epoch, String(stamp.epoch));
  return md;
}

/** The stamp a call carries; undefined when it carries none (an older coordinator); INVALID_REQUEST when malformed. */
export function operationStampOf(md: Metadata | undefined): OperationStamp | undefined {
  const op = md?.get(OPERATION_METADATA.op)[0];
  const epoch = md?.get(OPERATION_METADATA.epoch)[0];
  if (op === undefined && epoch === undefined) return undefined;
  const ms = typeof epoch === "string" && /^[0-9]{1,16}$/.test(epoch) ? Number(epoch) : Number.NaN;
  if (typeof op !== "string" || !OPERATION_ID.test(op) || !Number.isSafeInteger(ms)) {
    throw new KubecycleError(
      "INVALID_REQUEST",
      `metadata ${OPERATION_METADATA.op} and ${OPERATION_METADATA.epoch}: expected an operation id and its epoch in unix ms together`,
      { field: OPERATION_METADATA.epoch },
    );
  }
  return { op, epoch: ms };
}
