import { Server, ServerCredentials } from "@grpc/grpc-js";
import { deepFreeze, loadAgentProto, type AgentHandlers, type TlsMaterial } from "../shared/index.js";
import { Admission } from "./rpc/admission.js";
import type { AuthorizationTable } from "./rpc/authz.js";
import type { RpcDeps } from "./rpc/context.js";
import { READ_ROLES, readHandlers } from "./rpc/reads.js";
import { STREAM_ROLES, streamHandlers } from "./rpc/streams.js";
import { WRITE_ROLES, writeHandlers } from "./rpc/writes.js";

export type { RpcDeps as ServerDeps } from "./rpc/context.js";
export type { Caller } from "./rpc/caller.js";

/**
 * Who may call what: every RPC of the contract, each with the roles it is open to, assembled from the three call
 * shapes where each entry sits beside its handler. Default deny: a method missing here is refused to everyone.
 */
export const AUTHORIZATION: AuthorizationTable = deepFreeze({ ...READ_ROLES, ...WRITE_ROLES, ...STREAM_ROLES });

/** The gRPC service implementation: the handlers of the three call shapes, authorized by `table`. */
export function buildHandlers(deps: RpcDeps, table: AuthorizationTable = AUTHORIZATION): AgentHandlers {
  const ctx = { ...deps, table, admission: new Admission(deps.config.limits) };
  return { ...readHandlers(ctx), ...writeHandlers(ctx), ...streamHandlers(ctx) } satisfies AgentHandlers;
}

/** A gRPC server with mTLS always on: clients without a certificate from our CA fail the handshake. */
export function createServer(deps: RpcDeps, table: AuthorizationTable = AUTHORIZATION): Server {
  const { limits } = deps.config;
  const server = new Server({
    "grpc.max_receive_message_length": limits.maxMessageBytes,
    // HTTP/2's own bound per connection: a client's calls beyond what it may have in flight wait on its side, so a
    // burst of them never lands on the agent's event loop at once. Room for its reads, its streams and a few changes.
    "grpc.max_concurrent_streams": limits.readsPerClient + limits.streamsPerClient + 8,
    "grpc.keepalive_time_ms": 60_000,
  });
  server.addService(loadAgentProto().kubecycle.v1.Agent.service, buildHandlers(deps, table));
  return server;
}

/**
 * The TLS the agent accepts: 1.2 or 1.3, authenticated encryption only (GCM or ChaCha20-Poly1305: no CBC, no
 * SHA-1 MACs), forward secrecy by ECDHE over X25519 or P-256. TLS 1.3's suites must be named too: Node drops 1.3
 * altogether when a cipher list names none of them.
 */
export const TLS_SETTINGS = Object.freeze({
  minVersion: "TLSv1.2" as const,
  ciphers: [
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-GCM-SHA256",
  ].join(":"),
  ecdhCurve: "X25519:P-256",
});

/**
 * Server credentials carrying {@link TLS_SETTINGS}: grpc-js's createSsl takes no TLS options, but hands whatever its
 * credentials hold to http2.createSecureServer (constructor options) and the secure context (context options).
 * {@link AgentServerCredentials.update} hands the listening servers a new secure context: new handshakes use it,
 * established connections keep the one they were made with.
 */
export class AgentServerCredentials extends ServerCredentials {
  constructor(tls: TlsMaterial) {
    super(
      { requestCert: true, rejectUnauthorized: true, honorCipherOrder: true, ...TLS_SETTINGS },
      contextOptions(tls),
    );
  }

  /**
   * Serves `tls` from the next handshake on. The caller checks it first (agent/tls-identity.ts): grpc-js answers a
   * secure context it cannot build by refusing every new connection.
   */
  update(tls: TlsMaterial): void {
    this.updateSecureContextOptions(contextOptions(tls));
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

function contextOptions(tls: TlsMaterial) {
  return { ca: tls.ca, cert: tls.cert, key: tls.key, ...TLS_SETTINGS };
}

/** Server credentials for the agent: its own certificate, and client certificates required and checked against the CA. */
export function serverCredentials(tls: TlsMaterial): AgentServerCredentials {
  return new AgentServerCredentials(tls);
}
