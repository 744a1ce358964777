import type { Metadata } from "@grpc/grpc-js";
import {
  KubecycleError,
  identityFromSubject,
  operationStampOf,
  roleFromSubject,
  type CertSubject,
  type OperationStamp,
  type Role,
} from "../../shared/index.js";

/** Who is calling, from the client certificate the TLS handshake verified. */
export interface Caller {
  /** The certificate's common name: the caller's name in audit lines, and the owner of its operation ids. */
  identity: string;
  /** The certificate's whole subject, e.g. "O=kubecycle:viewer, CN=victor". */
  subject: string;
  /** The role its Organization grants; undefined when it grants none (then it may do nothing). */
  role: Role | undefined;
  /** The peer address. */
  peer: string;
  /** The coordinator's operation a change belongs to (see OperationFence); absent on reads. */
  operation?: OperationStamp;
}

/** What the server's calls expose of the TLS session. */
export interface CallWithPeer {
  getAuthContext(): { sslPeerCertificate?: { subject?: unknown } } | null;
  getPeer(): string;
  /** The call's metadata: a change carries its operation stamp there. */
  metadata?: Metadata;
}

function subjectLine(subject: CertSubject & Record<string, string | string[] | undefined>): string {
  return Object.entries(subject)
    .flatMap(([k, v]) => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`)))
    .join(", ");
}

/** The caller of a call; a call without a verified client certificate (which mTLS never lets through) is refused. */
export function callerOf(call: CallWithPeer): Caller {
  const subject = call.getAuthContext()?.sslPeerCertificate?.subject as
    (CertSubject & Record<string, string | string[] | undefined>) | undefined;
  if (!subject) throw new KubecycleError("UNAUTHENTICATED", "no client certificate");
  const operation = operationStampOf(call.metadata);
  return {
    identity: identityFromSubject(subject),
    subject: subjectLine(subject),
    role: roleFromSubject(subject),
    peer: call.getPeer(),
    ...(operation ? { operation } : {}),
  };
}
