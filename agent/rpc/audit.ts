import { KubecycleError, type Logger } from "../../shared/index.js";
import type { Caller } from "./caller.js";

/** What one audit line records. */
export interface AuditEntry {
  rpc: string;
  /** The caller, when its certificate was read; else only the peer address is known. */
  caller: Caller | undefined;
  peer: string;
  req: unknown;
  res?: unknown;
  err?: unknown;
  t0: number;
}

/**
 * Writes the audit line of a change or of a refused call: who (the certificate's name, subject and role, and the peer
 * address), which operation, what was asked, and how it ended. Caller-supplied text is cut to bounded lengths.
 */
export function audit(log: Logger, e: AuditEntry): void {
  const r = (e.req ?? {}) as {
    operationId?: unknown;
    units?: unknown;
    scope?: unknown;
    delayMs?: unknown;
    memberId?: unknown;
    phase?: unknown;
    sha256?: unknown;
    snapshotSha256?: unknown;
  };
  const text = (v: unknown, max: number) => (typeof v === "string" && v !== "" ? v.slice(0, max) : undefined);
  const units = Array.isArray(r.units)
    ? r.units.map((u: unknown) => (typeof u === "string" ? u : (u as { name?: unknown })?.name)).map(String)
    : [];
  const res = e.res as
    | {
        ok?: boolean;
        replayed?: boolean;
        outcomes?: Array<{ unit: string; outcome: string }>;
        stopped?: Array<{ namespace: string; name: string }>;
      }
    | undefined;
  log.info(
    {
      audit: true,
      rpc: e.rpc,
      caller: e.caller?.identity ?? "",
      subject: e.caller?.subject ?? "",
      role: e.caller?.role ?? "none",
      peer: e.peer,
      op: typeof r.operationId === "string" ? r.operationId.slice(0, 128) : "",
      units: units.slice(0, 32).map((u) => u.slice(0, 64)),
      ...(typeof r.scope === "string" ? { scope: r.scope.slice(0, 32) } : {}),
      ...(typeof r.delayMs === "number" ? { delayMs: r.delayMs } : {}),
      member: text(r.memberId, 24),
      phase: text(r.phase, 32),
      snapshot: text(r.sha256, 64) ?? text(r.snapshotSha256, 64),
      result: e.err ? (e.err instanceof KubecycleError ? "refused" : "error") : res?.ok === false ? "failed" : "ok",
      replayed: res?.replayed ?? false,
      outcomes: res?.outcomes?.map((o) => `${o.unit}=${o.outcome.replace("OUTCOME_", "")}`),
      stopped: res?.stopped?.map((p) => `${p.namespace}/${p.name}`),
      code: e.err instanceof KubecycleError ? e.err.code : e.err ? "INTERNAL" : undefined,
      err: e.err instanceof KubecycleError ? e.err.message : e.err,
      durationMs: Date.now() - e.t0,
    },
    "audit",
  );
}
