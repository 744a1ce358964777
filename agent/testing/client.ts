// A gRPC client of the agent for in-process tests: the real contract over a real mTLS socket, each unary call a
// promise. The coordinator's client is not used here: agent/ never imports coordinator/. Test support only.
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { readFile } from "node:fs/promises";
import { loadAgentProto, type AgentClient } from "../../shared/index.js";

/** A failed call: its gRPC status, and the kubecycle error code the agent put in the trailers. */
export class CallError extends Error {
  readonly grpcCode: number;
  readonly code: string;
  readonly details: string;

  constructor(err: ServiceError) {
    super(err.message);
    const code = err.metadata?.get("kubecycle-error-code")[0];
    this.grpcCode = err.code;
    this.code = typeof code === "string" ? code : "";
    this.details = err.details;
  }
}

/** Opens a client to `address` with a client certificate; the agent's certificate is checked against `ca`. */
export async function testClient(
  address: string,
  files: { ca: string; cert: string; key: string },
  serverName = "localhost",
): Promise<TestClient> {
  const [ca, cert, key] = await Promise.all([readFile(files.ca), readFile(files.cert), readFile(files.key)]);
  const Agent = loadAgentProto().kubecycle.v1.Agent;
  const client = new Agent(address, credentials.createSsl(ca, key, cert), {
    "grpc.ssl_target_name_override": serverName,
  });
  return new TestClient(client);
}

/** Unary calls as promises, with the agent's error code taken from the trailers. */
export class TestClient {
  readonly raw: AgentClient;

  constructor(raw: AgentClient) {
    this.raw = raw;
  }

  call<Res>(method: string, req: object, deadlineMs = 10_000, md = new Metadata()): Promise<Res> {
    const fn = (this.raw as unknown as Record<string, unknown>)[method];
    if (typeof fn !== "function") throw new Error(`no such method ${method}`);
    return new Promise<Res>((resolve, reject) => {
      (fn as (r: object, md: Metadata, o: object, cb: (e: ServiceError | null, r?: Res) => void) => void).call(
        this.raw,
        req,
        md,
        { deadline: new Date(Date.now() + deadlineMs) },
        (err, res) => {
          if (err) reject(new CallError(err));
          else resolve(res as Res);
        },
      );
    });
  }

  close(): void {
    this.raw.close();
  }
}
