// Stand-ins for etcd members, for the fast tier: each one a gRPC server on loopback speaking the part of etcd's v3 API
// the agent asks (proto/etcd/rpc.proto) over mutual TLS, answering as told and recording who asked what. The real
// etcd is in etcd.real.test.ts; these give the answers a real one cannot be made to give on demand. Test support only.
import {
  Server,
  ServerCredentials,
  status as grpcStatus,
  type ServerUnaryCall,
  type sendUnaryData,
  type ServiceDefinition,
} from "@grpc/grpc-js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadEtcdProto } from "../../shared/index.js";
import type { EtcdMemberResponse, EtcdStatusResponse } from "../etcd-client.js";

/** How one fake member answers. */
export interface FakeEtcdMember {
  /** The linearizable read fails with this (etcd's words, as UNAVAILABLE); "" or absent: it answers. */
  healthError?: string;
  alarms?: Array<"NOSPACE" | "CORRUPT">;
  status?: Partial<EtcdStatusResponse>;
  members?: EtcdMemberResponse[];
}

/** One call a fake member received. */
export interface FakeEtcdCall {
  endpoint: string;
  method: string;
  /** The client certificate's common name. */
  client: string;
}

export interface FakeEtcd {
  /** The members' client URLs (https://127.0.0.1:PORT), in the order they were asked for. */
  endpoints: string[];
  calls: FakeEtcdCall[];
  close(): Promise<void>;
}

/**
 * Starts `count` fake members with the server certificate `member.crt`/`member.key` and the CA `ca.crt` in `ssl`
 * (SAN 127.0.0.1); each demands a client certificate from that CA. `answers` gets the endpoints, so a member list can
 * name them.
 */
export async function fakeEtcd(
  ssl: string,
  count: number,
  answers: (endpoints: string[]) => FakeEtcdMember[],
): Promise<FakeEtcd> {
  const [ca, cert, key] = await Promise.all(["ca.crt", "member.crt", "member.key"].map((f) => readFile(join(ssl, f))));
  const proto = loadEtcdProto().etcdserverpb as Record<string, { service: ServiceDefinition }>;
  const calls: FakeEtcdCall[] = [];
  const servers: Server[] = [];
  const endpoints: string[] = [];
  const told: FakeEtcdMember[] = [];

  for (let i = 0; i < count; i++) {
    const server = new Server();
    const handler =
      (method: string, answer: (m: FakeEtcdMember) => object | { error: string }) =>
      (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
        const subject = call.getAuthContext()?.sslPeerCertificate?.subject as { CN?: string } | undefined;
        calls.push({ endpoint: endpoints[i] ?? "", method, client: subject?.CN ?? "" });
        const out = answer(told[i] ?? {});
        if ("error" in out) cb({ code: grpcStatus.UNAVAILABLE, details: out.error });
        else cb(null, out);
      };
    server.addService((proto.KV as { service: ServiceDefinition }).service, {
      Range: handler("Range", (m) => (m.healthError ? { error: m.healthError } : { header: {}, count: 0 })),
    });
    server.addService((proto.Cluster as { service: ServiceDefinition }).service, {
      MemberList: handler("MemberList", (m) => ({ header: {}, members: m.members ?? [] })),
    });
    server.addService((proto.Maintenance as { service: ServiceDefinition }).service, {
      Alarm: handler("Alarm", (m) => ({
        header: {},
        alarms: (m.alarms ?? []).map((alarm) => ({ memberID: m.status?.header?.memberId ?? "0", alarm })),
      })),
      Status: handler("Status", (m) => ({ version: "3.4.23", ...m.status })),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        "127.0.0.1:0",
        ServerCredentials.createSsl(ca ?? null, [{ cert_chain: cert as Buffer, private_key: key as Buffer }], true),
        (err, p) => (err ? reject(err) : resolve(p)),
      ),
    );
    servers.push(server);
    endpoints.push(`https://127.0.0.1:${port}`);
  }
  told.push(...answers(endpoints));
  return {
    endpoints,
    calls,
    close: () =>
      Promise.all(servers.map((s) => new Promise<void>((resolve) => s.tryShutdown(() => resolve())))).then(() => {}),
  };
}
