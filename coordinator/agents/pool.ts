import type { ChannelCredentials } from "@grpc/grpc-js";
import type { OperationStamp, TlsMaterial } from "../../shared/index.js";
import { AgentConnection, agentCredentials } from "./client.js";

/** Options of {@link AgentPool}. */
export interface AgentPoolOptions {
  tls: TlsMaterial;
  port: number;
  /** How long one call keeps retrying an agent that does not answer (see AgentConnection). */
  unreachableMs?: number;
}

/** One mTLS connection per node, made on first use and reused by every step of an operation; one TLS context for all. */
export class AgentPool {
  readonly #opts: AgentPoolOptions;
  readonly #conns = new Map<string, AgentConnection>();
  readonly #credentials: ChannelCredentials;
  #operation: OperationStamp | undefined;

  constructor(opts: AgentPoolOptions) {
    this.#opts = opts;
    this.#credentials = agentCredentials(opts.tls);
  }

  /** The connection to `node`'s agent at `address` (an IP or host name; the pool adds the port). */
  get(node: string, address: string): AgentConnection {
    const target =
      address.includes(":") && !address.startsWith("[")
        ? `[${address}]:${this.#opts.port}`
        : `${address}:${this.#opts.port}`;
    const key = `${node}@${target}`;
    let conn = this.#conns.get(key);
    if (!conn) {
      conn = new AgentConnection(
        { node, address: target, tls: this.#opts.tls },
        {
          credentials: this.#credentials,
          operation: () => this.#operation,
          ...(this.#opts.unreachableMs !== undefined ? { unreachableMs: this.#opts.unreachableMs } : {}),
        },
      );
      this.#conns.set(key, conn);
    }
    return conn;
  }

  /** From now on, every change sent through the pool's connections carries `stamp`: its operation's id and epoch. */
  stampWith(stamp: OperationStamp): void {
    this.#operation = stamp;
  }

  closeAll(): void {
    for (const c of this.#conns.values()) c.close();
    this.#conns.clear();
  }
}
