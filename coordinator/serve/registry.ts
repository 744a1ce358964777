import { Server, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import {
  AGENT_ORGANIZATION,
  KubecycleError,
  hasOrganization,
  identityFromSubject,
  loadRegistryProto,
  roleFromSubject,
  toGrpcStatus,
  type BootReport__Output,
  type CertSubject,
  type ListReportsRequest__Output,
  type Logger,
  type RegistryHandlers,
  type ReportAck,
  type ReportList,
  type StartOnBoot,
} from "../../shared/index.js";
import type { ReportStore } from "./store.js";

/** The caller of a call, from the client certificate the TLS handshake verified against the cluster's CA. */
export interface RegistryCaller {
  /** The certificate's common name. */
  identity: string;
  subject: string;
  organizations: string[];
  peer: string;
  raw: CertSubject | undefined;
}

interface CallWithPeer {
  getAuthContext(): { sslPeerCertificate?: { subject?: unknown } } | null;
  getPeer(): string;
}

function callerOf(call: CallWithPeer): RegistryCaller {
  const raw = call.getAuthContext()?.sslPeerCertificate?.subject as
    (CertSubject & Record<string, string | string[] | undefined>) | undefined;
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return {
    identity: identityFromSubject(raw),
    subject: raw
      ? Object.entries(raw)
          .flatMap(([k, v]) => list(v).map((x) => `${k}=${x}`))
          .join(", ")
      : "",
    organizations: list(raw?.O),
    peer: call.getPeer(),
    raw,
  };
}

const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
/** More units than any allow-list holds is not a report. */
const MAX_UNITS = 64;

/**
 * Who may report what: only an agent's certificate (O=kubecycle:agent, from the cluster's CA, which the handshake
 * checked), and only about the node its common name names. A report of another node is refused, whoever signs it:
 * a compromised node must not be able to stand in for another one and start the cluster on its say-so.
 */
export function authorizeReport(caller: RegistryCaller, report: BootReport__Output): void {
  if (!hasOrganization(caller.raw, AGENT_ORGANIZATION)) {
    throw new KubecycleError(
      "PERMISSION_DENIED",
      `only an agent's certificate (O=${AGENT_ORGANIZATION}) may report; this one is ${caller.subject || "without a subject"}`,
      { caller: caller.identity },
    );
  }
  if (caller.identity !== report.nodeName) {
    throw new KubecycleError(
      "PERMISSION_DENIED",
      `the certificate of node ${caller.identity} may not report about node ${report.nodeName || "(none)"}`,
      { caller: caller.identity, node: report.nodeName },
    );
  }
  if (!NODE_NAME.test(report.nodeName)) {
    throw new KubecycleError("INVALID_REQUEST", `"${report.nodeName}" is not a node name`, { field: "node_name" });
  }
  if (report.bootId === "") {
    throw new KubecycleError("INVALID_REQUEST", "a report needs its node's boot id", { field: "boot_id" });
  }
  if (report.units.length > MAX_UNITS) {
    throw new KubecycleError("INVALID_REQUEST", `a report names at most ${MAX_UNITS} units`, { field: "units" });
  }
}

/** Who may read the reports: operators and viewers, as on the agents. */
export function authorizeRead(caller: RegistryCaller): void {
  if (roleFromSubject(caller.raw) === undefined) {
    throw new KubecycleError(
      "PERMISSION_DENIED",
      `reading the reports needs an operator or viewer certificate; this one is ${caller.subject || "without a subject"}`,
      { caller: caller.identity },
    );
  }
}

/** What the Registry service works with. */
export interface RegistryDeps {
  store: ReportStore;
  log: Logger;
  version: string;
  /** The armed start, as ListReports tells it (undefined: none). */
  startOnBoot: () => StartOnBoot | undefined;
  /** Every report's outcome, for the metrics. */
  onReport?: (outcome: "stored" | "duplicate" | "refused", node: string) => void;
}

/** The Registry service: Report and ListReports, each authorized, errors mapped in the one shared place. */
export function registryHandlers(d: RegistryDeps): RegistryHandlers {
  return {
    Report(call: ServerUnaryCall<BootReport__Output, ReportAck>, callback: sendUnaryData<ReportAck>) {
      const caller = callerOf(call);
      const report = call.request;
      void (async () => {
        try {
          authorizeReport(caller, report);
          const r = await d.store.accept(report, caller.peer);
          d.onReport?.(r.stored ? "stored" : "duplicate", report.nodeName);
          d.log.debug(
            {
              node: report.nodeName,
              bootId: report.bootId,
              reason: report.reason,
              seq: report.sequence,
              stored: r.stored,
            },
            "report",
          );
          callback(null, { receivedUnixMs: r.receivedUnixMs, stored: r.stored });
        } catch (err) {
          if (err instanceof KubecycleError && err.code !== "INTERNAL") {
            d.onReport?.("refused", report.nodeName);
            // An audit line, as the agents write for refused calls: who, from where, about what.
            d.log.warn(
              {
                caller: caller.identity,
                subject: caller.subject,
                peer: caller.peer,
                node: report.nodeName,
                code: err.code,
              },
              `report refused: ${err.message}`,
            );
          } else {
            d.log.error({ err, node: report.nodeName }, "keeping a report failed");
          }
          callback(toGrpcStatus(err));
        }
      })();
    },
    ListReports(call: ServerUnaryCall<ListReportsRequest__Output, ReportList>, callback: sendUnaryData<ReportList>) {
      try {
        authorizeRead(callerOf(call));
        const sob = d.startOnBoot();
        callback(null, {
          reports: d.store.all().map((k) => ({ report: k.report, receivedUnixMs: k.receivedUnixMs, peer: k.peer })),
          nowUnixMs: Date.now(),
          serveVersion: d.version,
          ...(sob ? { startOnBoot: sob } : {}),
        });
      } catch (err) {
        callback(toGrpcStatus(err));
      }
    },
  };
}

/** The gRPC server of `kubecycle serve`, with the Registry service. */
export function createRegistryServer(d: RegistryDeps): Server {
  const server = new Server({
    "grpc.max_receive_message_length": 1024 * 1024,
    "grpc.keepalive_time_ms": 60_000,
  });
  server.addService(loadRegistryProto().kubecycle.v1.Registry.service, registryHandlers(d));
  return server;
}
