import {
  Server,
  ServerCredentials,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from "@grpc/grpc-js";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import {
  KubecycleError,
  identityFromSubject,
  loadAgentProto,
  roleFromSubject,
  toGrpcStatus,
  type AgentHandlers,
  type CertSubject,
  type Logger,
  type Role,
  type TlsMaterial,
  type PodSandboxesResult__Output,
  type SnapshotChunk,
  type UnitsResult__Output,
} from "../shared/index.js";
import type { CompiledAgentConfig } from "./config.js";
import type { Lifecycle } from "./lifecycle.js";
import type { EtcdProbe } from "./etcd.js";
import type { Mutations } from "./mutations.js";
import { validateOperationId } from "./op-records.js";
import { nodeCertificates } from "./certificates.js";
import { probeComponents } from "./components.js";
import { KUBELET_UNIT, type NodeLayoutReader } from "./layout.js";
import type { StaticPodReader } from "./manifests.js";
import { podScope, type PodSandboxes } from "./pods.js";
import { powerOffDelay, type PowerControl } from "./power.js";
import { unitsFingerprint, type StatusReader } from "./status.js";
import type { UnitController } from "./units.js";

/** Who is calling, from the client certificate the TLS handshake verified. */
export interface Caller {
  identity: string;
  role: Role;
}

/** What the server needs from the rest of the agent. */
export interface ServerDeps {
  config: Readonly<CompiledAgentConfig>;
  nodeName: string;
  version: string;
  startedUnixMs: number;
  tls: TlsMaterial;
  lifecycle: Lifecycle;
  units: UnitController;
  status: StatusReader;
  etcd: EtcdProbe;
  pods: PodSandboxes;
  layout: NodeLayoutReader;
  staticPods: StaticPodReader;
  power: PowerControl;
  mutations: Mutations;
  log: Logger;
  /** Aborted when the agent begins draining: status streams end. */
  drainSignal: AbortSignal;
}

type Access = "read" | "write";

/** Reads the verified peer certificate; a certificate that grants no kubecycle role is refused. */
function callerOf(call: { getAuthContext(): { sslPeerCertificate?: { subject?: unknown } } | null }): Caller {
  const subject = call.getAuthContext()?.sslPeerCertificate?.subject as CertSubject | undefined;
  if (!subject) throw new KubecycleError("UNAUTHENTICATED", "no client certificate");
  const identity = identityFromSubject(subject);
  const role = roleFromSubject(subject);
  if (!role) {
    throw new KubecycleError("PERMISSION_DENIED", `certificate ${identity || "(no CN)"} grants no kubecycle role`, {
      hint: "use a client certificate issued by `kubecycle pki client --role operator|viewer`",
    });
  }
  return { identity, role };
}

/** The gRPC service implementation: authorization, error mapping and audit in one place, the work elsewhere. */
export function buildHandlers(deps: ServerDeps): AgentHandlers {
  const { log, lifecycle } = deps;

  function permit(caller: Caller, access: Access): void {
    if (access === "write" && caller.role !== "operator") {
      throw new KubecycleError(
        "PERMISSION_DENIED",
        `${caller.identity} is a ${caller.role}; only operators may change units`,
        {
          hint: "use an operator certificate (O=kubecycle:operator)",
        },
      );
    }
    if (access === "write" && lifecycle.state !== "serving") {
      throw new KubecycleError("AGENT_DRAINING", `agent is ${lifecycle.state}; not accepting changes`);
    }
  }

  function unary<Req, Res>(
    rpc: string,
    access: Access,
    fn: (req: Req, caller: Caller) => Promise<Res>,
  ): (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void {
    return (call, cb) => {
      let caller: Caller | undefined;
      const t0 = Date.now();
      void (async () => {
        try {
          caller = callerOf(call);
          permit(caller, access);
          const res = await fn(call.request, caller);
          if (access === "write") audit(rpc, call.request, caller, t0, res);
          cb(null, res);
        } catch (err) {
          if (access === "write") audit(rpc, call.request, caller ?? peerOf(call), t0, undefined, err);
          else if (!(err instanceof KubecycleError)) log.error({ err, rpc }, "read call failed");
          cb(toGrpcStatus(err));
        }
      })();
    };
  }

  function audit(rpc: string, req: unknown, caller: Partial<Caller>, t0: number, res?: unknown, err?: unknown): void {
    const r = req as { operationId?: unknown; units?: unknown; scope?: unknown; delayMs?: unknown };
    const units = Array.isArray(r.units)
      ? r.units.map((u: unknown) => (typeof u === "string" ? u : (u as { name?: unknown })?.name)).map(String)
      : [];
    const result = res as Partial<UnitsResult__Output & PodSandboxesResult__Output> | undefined;
    log.info(
      {
        audit: true,
        rpc,
        caller: caller.identity ?? "",
        role: caller.role ?? "none",
        op: typeof r.operationId === "string" ? r.operationId.slice(0, 128) : "",
        units: units.slice(0, 32).map((u) => u.slice(0, 64)),
        ...(typeof r.scope === "string" ? { scope: r.scope.slice(0, 32) } : {}),
        ...(typeof r.delayMs === "number" ? { delayMs: r.delayMs } : {}),
        result: err ? "refused" : result?.ok || (result && !("ok" in result)) ? "ok" : "failed",
        replayed: result?.replayed ?? false,
        outcomes: result?.outcomes?.map((o) => `${o.unit}=${o.outcome.replace("OUTCOME_", "")}`),
        stopped: result?.stopped?.map((p) => `${p.namespace}/${p.name}`),
        code: err instanceof KubecycleError ? err.code : err ? "INTERNAL" : undefined,
        err: err instanceof KubecycleError ? err.message : err,
        durationMs: Date.now() - t0,
      },
      "audit",
    );
  }

  return {
    Health: unary("Health", "read", (_req, caller) =>
      Promise.resolve({
        state: lifecycle.state,
        nodeName: deps.nodeName,
        agentVersion: deps.version,
        startedUnixMs: deps.startedUnixMs,
        callerIdentity: caller.identity,
        callerRole: caller.role === "operator" ? "ROLE_OPERATOR" : "ROLE_VIEWER",
      }),
    ),

    GetStatus: unary("GetStatus", "read", (req) =>
      deps.status.status({ refreshFacts: req.refreshFacts === true, includeEtcd: req.includeEtcd === true }),
    ),

    EtcdStatus: unary("EtcdStatus", "read", (req) =>
      deps.etcd.status(timeout(req.timeoutMs, deps.config.etcd.timeoutMs), undefined, req.memberId ?? ""),
    ),

    StopPodSandboxes: unary("StopPodSandboxes", "write", async (req) => {
      const opId = validateOperationId(req.operationId);
      const scope = podScope(req.scope);
      const timeoutMs = timeout(req.timeoutMs, deps.config.pods.timeoutMs);
      // The scope is part of the request's identity: the same id reused for another scope is a conflict.
      const fingerprint = JSON.stringify({ scope });
      const { result, replayed } = await deps.mutations.run(opId, "StopPodSandboxes", fingerprint, async () => {
        log.debug({ op: opId, scope }, "pod sandboxes: stopping");
        const r = await deps.pods.stop(scope, timeoutMs);
        return {
          operationId: opId,
          ok: r.remaining.length === 0,
          replayed: false,
          stopped: r.stopped,
          remaining: r.remaining,
          message: r.message,
          containersStopped: r.containersStopped,
        };
      });
      return replayed ? { ...result, replayed } : result;
    }),

    GetNodeLayout: unary("GetNodeLayout", "read", () => deps.layout.layout()),

    ProbeComponents: unary("ProbeComponents", "read", async (req) => {
      const asked = req.timeoutMs ?? 0;
      if (asked > deps.config.probes.maxTimeoutMs) {
        throw new KubecycleError(
          "INVALID_REQUEST",
          `timeout_ms: at most ${deps.config.probes.maxTimeoutMs}, got ${asked}`,
          { field: "timeout_ms" },
        );
      }
      const components = await probeComponents(
        {
          staticPods: async () => (await deps.staticPods.read()).pods,
          kubeletPresent: () => unitExists(KUBELET_UNIT),
          kubeletHealthzPort: deps.config.kubernetes.kubeletHealthzPort,
        },
        asked > 0 ? asked : deps.config.probes.timeoutMs,
      );
      return { components };
    }),

    GetCertificates: unary("GetCertificates", "read", async () => {
      const [etcd, pods, kubeletPresent] = await Promise.all([
        deps.layout.etcd(),
        deps.staticPods.read(),
        unitExists(KUBELET_UNIT),
      ]);
      const certificates = await nodeCertificates({
        etcd,
        staticPods: pods.pods,
        kubeletKubeconfig: deps.config.kubernetes.kubeletKubeconfig,
        kubeletPresent,
        agentCert: deps.config.tls.cert,
      });
      return { certificates };
    }),

    PowerOff: unary("PowerOff", "write", (req) =>
      deps.power.powerOff(validateOperationId(req.operationId), powerOffDelay(req.delayMs)),
    ),

    EtcdSnapshot: (call) => void snapshot(call),

    StopUnits: unary("StopUnits", "write", (req) => deps.units.stop(deps.units.plan(req, req.units ?? []))),

    StartUnits: unary("StartUnits", "write", (req) =>
      deps.units.start(deps.units.plan(req, req.units ?? []), req.noBlock === true),
    ),

    SetAutoStart: unary("SetAutoStart", "write", (req) =>
      deps.units.setAutoStart(deps.units.plan(req, req.units ?? []), req.enabled === true),
    ),

    WatchStatus: (call) => void watch(call),
  };

  /** Whether an allow-listed unit exists on this node (a unit off the list counts as absent: it is not ours). */
  async function unitExists(unit: string): Promise<boolean> {
    if (!deps.config.units.allow.includes(unit)) return false;
    const [s] = await deps.status.unitStatesOf([unit]);
    return s !== undefined && s.loadState !== "not-found";
  }

  /** Streams a snapshot of the local member: data chunks, then the summary with the sha256 of all bytes sent. */
  async function snapshot(call: ServerWritableStream<{ timeoutMs?: number }, SnapshotChunk>): Promise<void> {
    const t0 = Date.now();
    let caller: Caller | undefined;
    const ac = new AbortController();
    const stop = () => ac.abort();
    call.on("cancelled", stop);
    try {
      caller = callerOf(call);
      // A snapshot holds every secret in the cluster: operators only.
      permit(caller, "write");
      await deps.etcd.snapshot(
        timeout(call.request.timeoutMs, deps.config.etcd.snapshotTimeoutMs),
        ac.signal,
        async (path, summary) => {
          for await (const data of createReadStream(path, { highWaterMark: 256 * 1024 })) {
            if (ac.signal.aborted) throw new KubecycleError("CANCELLED", "snapshot stream cancelled by the client");
            if (!call.write({ data: data as Buffer })) await once(call, "drain", { signal: ac.signal });
          }
          call.write({ data: Buffer.alloc(0), summary });
          audit("EtcdSnapshot", {}, caller ?? {}, t0, { ok: true, replayed: false });
        },
      );
      call.end();
    } catch (err) {
      audit("EtcdSnapshot", {}, caller ?? peerOf(call), t0, undefined, err);
      if (!ac.signal.aborted) call.emit("error", toGrpcStatus(err));
    } finally {
      call.off("cancelled", stop);
    }
  }

  async function watch(call: ServerWritableStream<{ intervalMs?: number }, unknown>): Promise<void> {
    const ac = new AbortController();
    const stop = () => ac.abort();
    call.on("cancelled", stop);
    deps.drainSignal.addEventListener("abort", stop);
    try {
      permit(callerOf(call), "read");
      const asked = call.request.intervalMs ?? 0;
      const intervalMs = asked === 0 ? 10_000 : Math.min(Math.max(asked, 1000), 3_600_000);
      let lastSent = 0;
      let lastPrint = "";
      while (!ac.signal.aborted) {
        const units = await deps.status.unitStates(ac.signal);
        const print = unitsFingerprint(units);
        if (print !== lastPrint || Date.now() - lastSent >= intervalMs) {
          call.write(await deps.status.status({ units, signal: ac.signal }));
          lastSent = Date.now();
          lastPrint = print;
        }
        await sleep(deps.config.status.pollIntervalMs, undefined, { signal: ac.signal });
      }
      call.end();
    } catch (err) {
      if (ac.signal.aborted) {
        call.end();
      } else {
        if (!(err instanceof KubecycleError)) log.error({ err, rpc: "WatchStatus" }, "status stream failed");
        call.emit("error", toGrpcStatus(err));
      }
    } finally {
      call.off("cancelled", stop);
      deps.drainSignal.removeEventListener("abort", stop);
    }
  }
}

/** A requested timeout, or the default when none (0) was asked. */
function timeout(asked: number | undefined, fallback: number): number {
  return asked && asked > 0 ? Math.min(asked, 3_600_000) : fallback;
}

function peerOf(call: { getPeer(): string }): Partial<Caller> {
  return { identity: call.getPeer() };
}

/** A gRPC server with mTLS always on: clients without a certificate from our CA fail the handshake. */
export function createServer(deps: ServerDeps): Server {
  const server = new Server({
    "grpc.max_receive_message_length": deps.config.limits.maxMessageBytes,
    "grpc.max_concurrent_streams": 256,
    "grpc.keepalive_time_ms": 60_000,
  });
  server.addService(loadAgentProto().kubecycle.v1.Agent.service, buildHandlers(deps));
  return server;
}

/** Server credentials for the agent: its own certificate, and client certificates required and checked against the CA. */
export function serverCredentials(tls: TlsMaterial): ServerCredentials {
  return ServerCredentials.createSsl(tls.ca, [{ private_key: tls.key, cert_chain: tls.cert }], true);
}
