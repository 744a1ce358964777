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
