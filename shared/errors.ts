import { Metadata, status as GrpcStatus, type ServiceError, type StatusObject } from "@grpc/grpc-js";

/**
 * Every error kubecycle reports on purpose carries one of these stable codes. The table fixes the gRPC status each one
 * travels as (by the status code's documented meaning) and whether it is the user's to fix or a bug.
 */
export const ERROR_CODES = {
  /** Config file unreadable, not YAML, or failing validation. */
  CONFIG_INVALID: { grpc: GrpcStatus.INVALID_ARGUMENT, user: true },
  /** A request field is missing, malformed or out of range. */
  INVALID_REQUEST: { grpc: GrpcStatus.INVALID_ARGUMENT, user: true },
  /** A unit name that is not a valid systemd unit name. */
  INVALID_UNIT_NAME: { grpc: GrpcStatus.INVALID_ARGUMENT, user: true },
  /** A valid unit name that the agent's allow-list does not contain. */
  UNIT_NOT_ALLOWED: { grpc: GrpcStatus.INVALID_ARGUMENT, user: true },
  /** An operation id was reused for a different request. */
  OPERATION_ID_CONFLICT: { grpc: GrpcStatus.ALREADY_EXISTS, user: true },
  /** The caller presented no usable identity. */
  UNAUTHENTICATED: { grpc: GrpcStatus.UNAUTHENTICATED, user: true },
  /** The caller's role may not do this (a viewer calling a mutating RPC). */
  PERMISSION_DENIED: { grpc: GrpcStatus.PERMISSION_DENIED, user: true },
  /** The agent is shutting down and accepts no new work. */
  AGENT_DRAINING: { grpc: GrpcStatus.UNAVAILABLE, user: false },
  /** A node's agent could not be reached. */
  NODE_UNREACHABLE: { grpc: GrpcStatus.UNAVAILABLE, user: false },
  /** A deadline passed before the work settled. */
  DEADLINE_EXCEEDED: { grpc: GrpcStatus.DEADLINE_EXCEEDED, user: false },
  /** The caller cancelled. */
  CANCELLED: { grpc: GrpcStatus.CANCELLED, user: false },
  /** systemd (systemctl, journalctl) did not answer as expected. */
  SYSTEMD_FAILED: { grpc: GrpcStatus.UNAVAILABLE, user: false },
  /** A PKI operation failed (openssl missing, files exist, bad input). */
  PKI_FAILED: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** The agent could not be installed (not root, a missing or mismatched file, no node where systemd looks). */
  INSTALL_FAILED: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** A file already exists and would be overwritten. */
  ALREADY_EXISTS: { grpc: GrpcStatus.ALREADY_EXISTS, user: true },
  /** An object changed under us (optimistic concurrency): someone else wrote it first. */
  CONFLICT: { grpc: GrpcStatus.ABORTED, user: false },
  /** The Kubernetes API answered with an error. */
  KUBE_API_FAILED: { grpc: GrpcStatus.UNAVAILABLE, user: false },
  /** The Kubernetes API did not answer. */
  KUBE_API_UNREACHABLE: { grpc: GrpcStatus.UNAVAILABLE, user: false },
  /** The node named does not exist in the cluster. */
  NODE_NOT_FOUND: { grpc: GrpcStatus.NOT_FOUND, user: true },
  /** Stopping this etcd member would leave etcd without quorum, or etcd is not healthy enough to risk it. */
  QUORUM_AT_RISK: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** The pods to evict do not fit on the remaining nodes. */
  INSUFFICIENT_CAPACITY: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /**
   * A change from an operation older than one that has since changed the node: a request held up in the network after
   * its coordinator gave up, or an old operation resumed after a newer one ran.
   */
  SUPERSEDED: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** Another operation holds the cluster lock. */
  LOCK_HELD: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** A PodDisruptionBudget kept blocking an eviction until the drain timeout. */
  DRAIN_BLOCKED_BY_PDB: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** A drain would delete what kubectl drain refuses to without being told: pods no controller replaces, emptyDir data. */
  DRAIN_REFUSED: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** Evicted pods did not go, or their replacements did not run elsewhere, in time. */
  DRAIN_FAILED: { grpc: GrpcStatus.DEADLINE_EXCEEDED, user: false },
  /** A unit did not reach the state asked for. */
  UNIT_FAILED: { grpc: GrpcStatus.FAILED_PRECONDITION, user: false },
  /** etcd is not healthy (members down, no leader, indexes apart). */
  ETCD_UNHEALTHY: { grpc: GrpcStatus.UNAVAILABLE, user: false },
  /** A node did not reach the Ready state asked for in time. */
  NODE_NOT_READY: { grpc: GrpcStatus.DEADLINE_EXCEEDED, user: false },
  /** A snapshot's bytes do not match its checksum. */
  SNAPSHOT_CORRUPT: { grpc: GrpcStatus.DATA_LOSS, user: false },
  /** A certificate the cluster needs expires within the window asked for (or already has). */
  CERT_EXPIRING: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** A node's addresses no longer match what etcd or the API recorded (its IP changed). */
  ADDRESS_DRIFT: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** The agents describe another cluster than the recorded one (other nodes, addresses or etcd members). */
  CLUSTER_MISMATCH: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** Stopping this node would leave no API server (external etcd); only with --force. */
  API_AT_RISK: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** A control-plane component's health endpoint does not answer ok. */
  COMPONENT_UNHEALTHY: { grpc: GrpcStatus.UNAVAILABLE, user: false },
  /** etcd runs on the node where it must be stopped first (a restore, a rejoin). */
  ETCD_RUNNING: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** etcd is healthy: a restore would throw away every write since the snapshot; only with --force. */
  ETCD_HEALTHY: { grpc: GrpcStatus.FAILED_PRECONDITION, user: true },
  /** No snapshot with that sha256 is staged on the agent. */
  SNAPSHOT_NOT_STAGED: { grpc: GrpcStatus.NOT_FOUND, user: false },
  /** The agent is busy: too many concurrent reads or streams from this caller, or in all. */
  RESOURCE_EXHAUSTED: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, user: false },
  /** `kubecycle serve` did not answer (a start armed on boot needs it to run). */
  SERVE_UNREACHABLE: { grpc: GrpcStatus.UNAVAILABLE, user: false },
  /** Anything we did not expect: a bug. */
  INTERNAL: { grpc: GrpcStatus.INTERNAL, user: false },
} as const satisfies Record<string, { grpc: GrpcStatus; user: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Structured context an error may carry. All optional. */
export interface ErrorFields {
  node?: string;
  unit?: string;
  op?: string;
  rpc?: string;
  field?: string;
  /** What the user can do about it. */
  hint?: string;
  [key: string]: unknown;
}

/** The one error type kubecycle throws on purpose. */
export class KubecycleError extends Error {
  override readonly name = "KubecycleError";
  readonly code: ErrorCode;
  readonly fields: Readonly<ErrorFields>;

  constructor(code: ErrorCode, message: string, fields: ErrorFields = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.fields = Object.freeze({ ...fields });
  }

  /** True when the user can fix this (bad input, config, permissions), false for faults and bugs. */
  get isUserError(): boolean {
    return ERROR_CODES[this.code].user;
  }
}

export function isKubecycleError(err: unknown, code?: ErrorCode): err is KubecycleError {
  return err instanceof KubecycleError && (code === undefined || err.code === code);
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

const CODE_KEY = "kubecycle-error-code";
// Binary ("-bin") metadata: fields may hold any text a caller sent, and plain metadata must be printable ASCII.
const FIELDS_KEY = "kubecycle-error-fields-bin";

/**
 * The single place a thrown error becomes a gRPC status. Our own errors keep their code and fields in trailing
 * metadata; anything else is reported as INTERNAL without leaking its message.
 */
export function toGrpcStatus(err: unknown): Partial<StatusObject> {
  const metadata = new Metadata();
  if (err instanceof KubecycleError) {
    metadata.set(CODE_KEY, err.code);
    metadata.set(FIELDS_KEY, Buffer.from(JSON.stringify(err.fields), "utf8"));
    return { code: ERROR_CODES[err.code].grpc, details: err.message, metadata };
  }
  metadata.set(CODE_KEY, "INTERNAL");
  return { code: GrpcStatus.INTERNAL, details: "internal error in the agent; see its log", metadata };
}

/**
 * The client side of {@link toGrpcStatus}: turns a failed call back into a KubecycleError that names the RPC and
 * the node. Transport failures become NODE_UNREACHABLE, deadlines DEADLINE_EXCEEDED.
 */
export function fromGrpcError(
  err: unknown,
  ctx: {
    rpc: string;
    node: string;
    /** Who was called: an agent (default), or `kubecycle serve` at `node` (an endpoint). */
    peer?: "agent" | "serve";
  },
): KubecycleError {
  if (err instanceof KubecycleError) return err;
  const se = err as Partial<ServiceError>;
  const code = typeof se.code === "number" ? se.code : GrpcStatus.UNKNOWN;
  const details = se.details ?? (err instanceof Error ? err.message : String(err));
  const md = se.metadata instanceof Metadata ? se.metadata : undefined;
  const sent = md?.get(CODE_KEY)[0];
  let fields: ErrorFields = {};
  const rawFields = md?.get(FIELDS_KEY)[0];
  if (Buffer.isBuffer(rawFields)) {
    try {
      const parsed: unknown = JSON.parse(rawFields.toString("utf8"));
      if (parsed && typeof parsed === "object") fields = parsed as ErrorFields;
    } catch {
      // A peer that sends garbage fields still gets its code and message through.
    }
  }
  const where = { ...fields, rpc: ctx.rpc, node: ctx.node };
  if (typeof sent === "string" && isErrorCode(sent)) {
    return new KubecycleError(sent, `${ctx.node}: ${ctx.rpc}: ${details}`, where, { cause: err });
  }
  const mapped: ErrorCode =
    code === GrpcStatus.UNAVAILABLE
      ? "NODE_UNREACHABLE"
      : code === GrpcStatus.DEADLINE_EXCEEDED
        ? "DEADLINE_EXCEEDED"
        : code === GrpcStatus.CANCELLED
          ? "CANCELLED"
          : code === GrpcStatus.PERMISSION_DENIED
            ? "PERMISSION_DENIED"
            : code === GrpcStatus.UNAUTHENTICATED
              ? "UNAUTHENTICATED"
              : code === GrpcStatus.INVALID_ARGUMENT || code === GrpcStatus.RESOURCE_EXHAUSTED
                ? "INVALID_REQUEST"
                : "INTERNAL";
  if (mapped === "NODE_UNREACHABLE") {
    const serve = ctx.peer === "serve";
    return new KubecycleError(
      serve ? "SERVE_UNREACHABLE" : mapped,
      serve
        ? `kubecycle serve at ${ctx.node}: ${ctx.rpc}: unreachable (${transportReason(details)})`
        : `${ctx.node}: ${ctx.rpc}: the agent is unreachable (${transportReason(details)})`,
      {
        ...where,
        grpcCode: code,
        hint: serve
          ? `check that kubecycle serve runs (systemctl status kubecycle-serve) and that ${ctx.node} is open from here`
          : `check that kubecycle-agent runs on ${ctx.node} (systemctl status kubecycle-agent) and that its port is open from here`,
      },
      { cause: err },
    );
  }
  return new KubecycleError(
    mapped,
    `${ctx.node}: ${ctx.rpc}: ${details}`,
    { ...where, grpcCode: code },
    { cause: err },
  );
}

/**
 * The cause in grpc-js's transport message, e.g. "connect ECONNREFUSED 198.18.7.21:9443" out of "No connection
 * established. Last error: Error: connect ECONNREFUSED 198.18.7.21:9443. Resolution note: ".
 */
function transportReason(details: string): string {
  const text = details.replace(/\s*Resolution note:.*$/s, "").trim();
  const last = /Last error: (?:Error: )?(.+?)\.?$/s.exec(text);
  return (last?.[1] ?? text.replace(/\.$/, "")) || "no connection";
}
