import { Server } from "@grpc/grpc-js";
import { deepFreeze, loadAgentProto, type AgentHandlers } from "../shared/index.js";
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

// The TLS settings (1.2+, AEAD suites, X25519/P-256) and the reloadable mTLS server credentials carrying them live in
// shared/, where `kubecycle serve` takes the same ones.
export { TLS_SETTINGS, mtlsServerCredentials as serverCredentials } from "../shared/index.js";
