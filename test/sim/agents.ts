// The simulated nodes' agents: the real Agent service from the contract (loadAgentProto), over real mutual TLS, one
// gRPC server per node on the node's own loopback address, answering from the model (model.ts) with the field
// meanings the proto's comments give. Roles come from the client certificate's Organization, as the real agent's do
// (roleFromSubject); mutating calls are validated, recorded by operation id and run one at a time per node.
import {
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type StatusObject,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  DEFAULT_ALLOWED_UNITS,
  KubecycleError,
  MAX_ETCD_PROBE_MS,
  MAX_POD_SANDBOXES_MS,
  MAX_UNIT_SETTLE_MS,
  allowedUnit,
  identityFromSubject,
  loadAgentProto,
  roleFromSubject,
  toGrpcStatus,
  validateOperationId,
  type AgentHandlers,
  type CertSubject,
  type ComponentHealth__Output,
  type EtcdLayout__Output,
  type EtcdMemberStatus__Output,
  type NetworkProbe__Output,
  type NodeStatus__Output,
  type PathUsage__Output,
  type Outcome__Output,
  type PodSandbox__Output,
  type PodScope__Output,
  type Role,
  type UnitOutcome__Output,
  type UnitsResult__Output,
  type UnitStatus__Output,
} from "../../shared/index.js";
import { runtimeUnits, type CallRecord, type SimCluster, type SimMember, type SimNode, type SimUnit } from "./model.js";

/**
 * The units a simulated agent may touch: the agent's default allow-list and the runtime's socket units and
 * cri-dockerd's unit as its package names it (cri-docker.service), which the coordinator stops and starts with the
 * runtime. (The real agent's default list has neither yet.)
 */
export const SIM_ALLOWED_UNITS: readonly string[] = [
  ...DEFAULT_ALLOWED_UNITS,
  "docker.socket",
  "cri-docker.service",
  "cri-docker.socket",
];

/** The agent's defaults (agent/config.ts), where a request leaves a value at 0. */
const DEFAULTS = { settleMs: 90_000, etcdMs: 10_000, podsMs: 120_000, powerOffDelayMs: 1000 } as const;
const MUTATING = new Set(["StopUnits", "StartUnits", "SetAutoStart", "StopPodSandboxes", "PowerOff"]);
const SUCCESS: ReadonlySet<Outcome__Output> = new Set(["OUTCOME_DONE", "OUTCOME_ALREADY", "OUTCOME_MISSING_IGNORED"]);
const SNAPSHOT_BYTES = 256 * 1024;
const CHUNK_BYTES = 64 * 1024;

interface Caller {
  identity: string;
  role: Role;
}

/** A node's agent certificate and key, and the CA every peer must be signed by. */
export interface SimAgentTls {
  ca: Buffer;
  certFor(node: string): { cert: Buffer; key: Buffer };
}

/** The running agents of a simulated cluster: one gRPC server per node, all on one port. */
export class SimAgents {
  readonly cluster: SimCluster;
  readonly port: number;
  readonly #tls: SimAgentTls;
  readonly #servers = new Map<string, Server>();

  private constructor(cluster: SimCluster, tls: SimAgentTls, port: number) {
    this.cluster = cluster;
    this.#tls = tls;
    this.port = port;
  }

  /**
   * Starts every node's agent. The port is the first node's free one (or `port`); binding is retried on another
   * port if some other process holds it on one of the addresses.
   */
  static async start(cluster: SimCluster, tls: SimAgentTls, opts: { port?: number } = {}): Promise<SimAgents> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const [first] = cluster.nodes.values();
      if (!first) throw new Error("a simulated cluster needs nodes");
      const probe = new SimAgents(cluster, tls, 0);
      let port: number;
      try {
        port = await probe.#bind(first, attempt === 0 ? (opts.port ?? 0) : 0);
      } catch (err) {
        lastError = err;
        continue;
      }
      const agents = new SimAgents(cluster, tls, port);
      agents.#servers.set(first.name, probe.#servers.get(first.name) as Server);
      try {
        const rest = [...cluster.nodes.values()].slice(1);
        // Bound in batches: thousands of listens at once only queue up in libuv anyway.
        for (let i = 0; i < rest.length; i += 100) {
          await Promise.all(rest.slice(i, i + 100).map((n) => agents.#bind(n, port)));
        }
        return agents;
      } catch (err) {
        lastError = err;
        agents.close();
      }
    }
    throw new Error(`could not bind the simulated agents: ${String(lastError)}`);
  }

  /** The node's agent stops (its process is gone): connections to it are refused until `startAgent`. */
  stopAgent(node: string): void {
    this.#servers.get(node)?.forceShutdown();
    this.#servers.delete(node);
  }

  async startAgent(node: string): Promise<void> {
    if (!this.#servers.has(node)) await this.#bind(this.cluster.node(node), this.port);
  }

  /**
   * The node got a new address (DHCP, a moved VM): its agent listens there and reports it, the API's InternalIP
   * follows (kubelet updates it); etcd's peer URLs keep the old one, as etcd's member list does.
   */
  async moveNode(node: string, address: string): Promise<void> {
    const n = this.cluster.node(node);
    this.stopAgent(node);
    n.address = address;
    n.addresses = [address];
    await this.#bind(n, this.port);
  }

  close(): void {
    for (const s of this.#servers.values()) s.forceShutdown();
    this.#servers.clear();
  }

  async #bind(node: SimNode, port: number): Promise<number> {
    const server = new Server({ "grpc.max_concurrent_streams": 256 });
    server.addService(loadAgentProto().kubecycle.v1.Agent.service, agentHandlers(node));
    const { cert, key } = this.#tls.certFor(node.name);
    const creds = ServerCredentials.createSsl(this.#tls.ca, [{ private_key: key, cert_chain: cert }], true);
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${node.address}:${port}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.#servers.set(node.name, server);
    return bound;
  }
}

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

/** The Agent service of one simulated node. */
export function agentHandlers(node: SimNode): AgentHandlers {
  const cluster = node.cluster;
  const t = cluster.timing;

  /**
   * Authorization, the call record and the answer in one place. A node that is off or off the network never
   * answers: the call hangs until its deadline, as on a real network.
   */
  function unary<Req, Res>(
    rpc: string,
    fn: (req: Req, caller: Caller, rec: CallRecord) => Promise<Res>,
  ): (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void {
    return (call, cb) => {
      if (!node.answering) return;
      if (node.dropWhen?.(rpc, call.request)) {
        node.setReachable(false);
        return;
      }
      const rec: CallRecord = {
        node: node.name,
        rpc,
        at: Date.now(),
        workMs: 0,
        mutating: MUTATING.has(rpc),
        role: "",
      };
      cluster.calls.push(rec);
      void (async () => {
        let answer: () => void;
        try {
          const caller = callerOf(call);
          rec.role = caller.role;
          if (rec.mutating && caller.role !== "operator") {
            throw new KubecycleError(
              "PERMISSION_DENIED",
              `${caller.identity} is a ${caller.role}; only operators may change units`,
              { hint: "use an operator certificate (O=kubecycle:operator)" },
            );
          }
          const res = await fn(call.request, caller, rec);
          answer = () => cb(null, res);
        } catch (err) {
          rec.refused = err instanceof KubecycleError ? err.code : "INTERNAL";
          answer = () => cb(toGrpcStatus(err));
        }
        rec.workMs = Date.now() - rec.at;
        // The node went away while it worked: the answer is lost with it.
        if (!node.answering) return;
        rec.answeredAt = Date.now();
        answer();
      })();
    };
  }

  const read = async () => sleep(cluster.delay(t.agentRead));

  return {
    Health: unary("Health", async (_req, caller) => {
      await read();
      return {
        state: "serving",
        nodeName: node.name,
        agentVersion: "sim",
        startedUnixMs: node.bootedAt + 2000,
        callerIdentity: caller.identity,
        callerRole: caller.role === "operator" ? "ROLE_OPERATOR" : "ROLE_VIEWER",
      };
    }),

    GetStatus: unary("GetStatus", async (req) => {
      await read();
      return status(node, req.includeEtcd ? await etcdStatus(node, undefined, DEFAULTS.etcdMs) : null);
    }),

    WatchStatus: (call: ServerWritableStream<{ intervalMs?: number }, NodeStatus__Output>) => void watch(node, call),

    StopUnits: unary("StopUnits", async (req, _c, rec) => {
      const plan = unitPlan(req, rec);
      return unitsCall(node, "StopUnits", plan, {}, (u, ms) => stopOne(node, u, ms, plan.ignoreMissing));
    }),

    StartUnits: unary("StartUnits", async (req, _c, rec) => {
      const plan = unitPlan(req, rec);
      const noBlock = req.noBlock === true;
      return unitsCall(node, "StartUnits", plan, { noBlock }, (u, ms) =>
        startOne(node, u, ms, plan.ignoreMissing, noBlock),
      );
    }),

    SetAutoStart: unary("SetAutoStart", async (req, _c, rec) => {
      const plan = unitPlan({ ...req, units: req.units.map((name) => ({ name })) }, rec);
      const enabled = req.enabled === true;
      return unitsCall(node, "SetAutoStart", plan, { enabled }, (u) =>
        autoStartOne(node, u, plan.ignoreMissing, enabled),
      );
    }),

    EtcdStatus: unary("EtcdStatus", async (req, _c, rec) => {
      rec.about = req.memberId || undefined;
      return etcdStatus(node, req.memberId || undefined, timeout(req.timeoutMs, DEFAULTS.etcdMs, MAX_ETCD_PROBE_MS));
    }),

    EtcdSnapshot: (call: ServerWritableStream<{ timeoutMs?: number }, unknown>) => void snapshot(node, call),

    StopPodSandboxes: unary("StopPodSandboxes", async (req, _c, rec) => {
      const opId = validateOperationId(req.operationId);
      const scope = req.scope;
      const timeoutMs = timeout(req.timeoutMs, DEFAULTS.podsMs, MAX_POD_SANDBOXES_MS);
      Object.assign(rec, { opId, about: scope });
      const { result, replayed } = await node.mutate(opId, "StopPodSandboxes", scope, () =>
        stopSandboxes(node, scope, timeoutMs).then((r) => ({
          operationId: opId,
          ok: r.remaining.length === 0,
          replayed: false,
          ...r,
        })),
      );
      rec.replayed = replayed;
      return { ...result, replayed };
    }),

    GetNodeLayout: unary("GetNodeLayout", async () => {
      await read();
      const member = cluster.etcd.memberOn(node.name);
      return {
        nodeName: node.name,
        etcd: etcdLayout(node, member),
        runtime: {
          kind: node.spec.runtime,
          units: runtimeUnits(node.spec.runtime).map((u) => ({ service: u.service, socket: u.socket ?? "" })),
        },
        kubeletUnit: "kubelet.service",
        staticPods: [
          ...(node.spec.controlPlane ? ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] : []),
          ...(node.spec.etcd === "static-pod" ? ["etcd"] : []),
        ],
        addresses: node.addresses.map((address) => ({ interface: "lo", address, family: 4 })),
        bootId: node.bootId,
      };
    }),

    ProbeComponents: unary("ProbeComponents", async () => {
      await read();
      return { components: probe(node) };
    }),

    GetCertificates: unary("GetCertificates", async () => {
      await read();
      return { certificates: node.certificates.map((c) => ({ ...c, error: "" })) };
    }),

    ReadJournal: unary("ReadJournal", async (req) => {
      await read();
      const unit = allowedUnit(req.unit, SIM_ALLOWED_UNITS);
      const asked = req.lines ?? 0;
      if (asked > 500) throw new KubecycleError("INVALID_REQUEST", `lines: at most 500, got ${asked}`);
      return { unit, lines: journal(node, unit).slice(-(asked || 50)) };
    }),

    GetClock: unary("GetClock", async () => {
      await read();
      return { unixMs: Date.now() + node.clockOffsetMs, timeSynchronized: node.timeSynchronized, timeSyncKnown: true };
    }),

    GetDiskUsage: unary("GetDiskUsage", async () => {
      await read();
      return { paths: diskUsage(node) };
    }),

    ProbeNetwork: unary("ProbeNetwork", async (req) => {
      const timeoutMs = timeout(req.timeoutMs, 2000, 10_000);
      return { probes: await probeNetwork(node, timeoutMs) };
    }),

    // etcd restore and rejoin act on etcd's files: the simulation has none; the lab's real etcd tests them.
    StageSnapshot: (_call: unknown, cb: (err: Partial<StatusObject>) => void) => cb(notSimulated("StageSnapshot")),
    EtcdRestore: unary("EtcdRestore", () => Promise.reject(notSimulatedError("EtcdRestore"))),
    EtcdReplaceMember: unary("EtcdReplaceMember", () => Promise.reject(notSimulatedError("EtcdReplaceMember"))),
    EtcdRejoin: unary("EtcdRejoin", () => Promise.reject(notSimulatedError("EtcdRejoin"))),

    PowerOff: unary("PowerOff", async (req, _c, rec) => {
      const opId = validateOperationId(req.operationId);
      const delayMs = req.delayMs || DEFAULTS.powerOffDelayMs;
      if (delayMs > 60_000) {
        throw new KubecycleError("INVALID_REQUEST", `delay_ms: at most 60000, got ${delayMs}`, { op: opId });
      }
      rec.opId = opId;
      const { result, replayed } = await node.mutate(opId, "PowerOff", String(delayMs), () => {
        const at = Date.now() + delayMs;
        cluster.after(delayMs, () => node.powerOff());
        return Promise.resolve({ operationId: opId, replayed: false, powerOffUnixMs: at, bootId: node.bootId });
      });
      rec.replayed = replayed;
      return { ...result, replayed };
    }),
  };
}

function notSimulatedError(rpc: string): KubecycleError {
  return new KubecycleError("INVALID_REQUEST", `${rpc}: the simulated agent does not restore etcd`);
}

function notSimulated(rpc: string): Partial<StatusObject> {
  return { code: GrpcStatus.UNIMPLEMENTED, details: notSimulatedError(rpc).message };
}

// ---- diagnostics -------------------------------------------------------------------------------------------------

/** systemd's lines for the unit's state changes, with what the unit itself wrote (a test's injection), in time order. */
function journal(node: SimNode, unit: string): string[] {
  const u = node.units.get(unit);
  const stamp = (at: number) => new Date(at).toISOString().replace(/\.\d+Z$/, "+0000");
  const systemd = (u?.history ?? []).map((e) => {
    const what =
      e.active === "active"
        ? `Started ${unit}.`
        : e.active === "activating"
          ? `Starting ${unit}...`
          : e.active === "deactivating"
            ? `Stopping ${unit}...`
            : e.active === "failed"
              ? `${unit}: Failed with result '${e.result}'.`
              : `Stopped ${unit}.`;
    return { at: e.at, line: `${stamp(e.at)} ${node.name} systemd[1]: ${what}` };
  });
  const own = (node.journal.get(unit) ?? []).map((line) => ({
    at: u?.changedAt ?? Date.now(),
    line: `${stamp(u?.changedAt ?? Date.now())} ${node.name} ${line}`,
  }));
  return [...systemd, ...own].sort((a, b) => a.at - b.at).map((l) => l.line);
}

function diskUsage(node: SimNode): PathUsage__Output[] {
  const member = node.cluster.etcd.memberOn(node.name);
  const dirs: Array<[string, string]> = [
    ...(member ? ([["etcd-data", "/var/lib/etcd"]] as Array<[string, string]>) : []),
    node.spec.runtime === "containerd" ? ["containerd", "/var/lib/containerd"] : ["docker", "/var/lib/docker"],
    ["kubelet", "/var/lib/kubelet"],
  ];
  return dirs.map(([purpose, path]) => {
    const free = node.diskFree.get(purpose) ?? { availableBytes: 80 * 2 ** 30, inodesFree: 6_000_000 };
    return {
      purpose,
      path,
      exists: true,
      measured: path,
      sizeBytes: 100 * 2 ** 30,
      availableBytes: free.availableBytes,
      inodes: 6_553_600,
      inodesFree: free.inodesFree,
      etcdWalFiles: purpose === "etcd-data" ? 3 : 0,
      etcdDbBytes: purpose === "etcd-data" && member ? member.dbSizeBytes : 0,
      error: "",
    };
  });
}

/**
 * TCP connections from the node to the API servers (every control-plane node's :6443) and, on an etcd member, to
 * its peers (:2380). A firewall rule on either end for the port, or a node off the network, loses the SYN (a timeout);
 * a node that answers with nothing listening refuses.
 */
async function probeNetwork(node: SimNode, timeoutMs: number): Promise<NetworkProbe__Output[]> {
  const cluster = node.cluster;
  const targets: Array<{ purpose: string; to: SimNode; port: number; name: string; listening: () => boolean }> = [];
  for (const n of cluster.nodes.values()) {
    if (n.spec.controlPlane) {
      targets.push({ purpose: "kube-apiserver", to: n, port: 6443, name: n.name, listening: () => n.apiserverUp });
    }
  }
  const self = cluster.etcd.memberOn(node.name);
  if (self) {
    for (const m of cluster.etcd.members) {
      if (m === self) continue;
      targets.push({
        purpose: "etcd-peer",
        to: m.node,
        port: 2380,
        name: `etcd member ${m.name}`,
        listening: () => cluster.etcd.processUp(m),
      });
    }
  }
  return Promise.all(
    targets.map(async (t) => {
      const target = `${t.to.address}:${t.port}`;
      const lost = node.blockedPorts.has(t.port) || t.to.blockedPorts.has(t.port) || !t.to.answering;
      const latency = cluster.delay(cluster.timing.agentRead);
      if (lost) {
        await sleep(timeoutMs);
        return {
          purpose: t.purpose,
          target,
          name: t.name,
          reachable: false,
          latencyMs: timeoutMs,
          error: `timed out after ${timeoutMs} ms`,
        };
      }
      await sleep(latency);
      const up = t.listening();
      return {
        purpose: t.purpose,
        target,
        name: t.name,
        reachable: up,
        latencyMs: latency,
        error: up ? "" : "connection refused",
      };
    }),
  );
}

/** A requested timeout, the default for 0, refused above what the agent accepts. */
function timeout(asked: number | undefined, fallback: number, max: number): number {
  if (!asked) return fallback;
  if (asked > max) throw new KubecycleError("INVALID_REQUEST", `timeout_ms: at most ${max}, got ${asked}`);
  return asked;
}

// ---- units -------------------------------------------------------------------------------------------------------

interface UnitPlan {
  opId: string;
  units: Array<{ name: string; settleTimeoutMs: number }>;
  ignoreMissing: boolean;
}

/** Validates a unit request completely before anything happens, as the real agent does. */
function unitPlan(
  req: { operationId?: string; units?: Array<{ name?: string; settleTimeoutMs?: number }>; ignoreMissing?: boolean },
  rec: CallRecord,
): UnitPlan {
  const opId = validateOperationId(req.operationId);
  rec.opId = opId;
  const units = req.units ?? [];
  if (units.length === 0) throw new KubecycleError("INVALID_REQUEST", "units: at least one unit is required");
  if (units.length > 16) throw new KubecycleError("INVALID_REQUEST", `units: at most 16 units per call`);
  const planned = units.map((u) => {
    const name = allowedUnit(u.name, SIM_ALLOWED_UNITS);
    const asked = u.settleTimeoutMs ?? 0;
    if (asked > MAX_UNIT_SETTLE_MS) {
      throw new KubecycleError("INVALID_REQUEST", `units[${name}].settle_timeout_ms: at most ${MAX_UNIT_SETTLE_MS}`);
    }
    return { name, settleTimeoutMs: asked > 0 ? asked : DEFAULTS.settleMs };
  });
  const names = planned.map((u) => u.name);
  if (new Set(names).size !== names.length)
    throw new KubecycleError("INVALID_REQUEST", "units: a unit is listed twice");
  rec.about = names.join(",");
  return { opId, units: planned, ignoreMissing: req.ignoreMissing === true };
}

async function unitsCall(
  node: SimNode,
  rpc: string,
  plan: UnitPlan,
  extra: Record<string, unknown>,
  one: (unit: string, timeoutMs: number) => Promise<UnitOutcome__Output>,
): Promise<UnitsResult__Output> {
  // As the agent: the units, not their settle timeouts (a resumed step asks with the time it has left).
  const fingerprint = JSON.stringify({
    units: plan.units.map((u) => u.name),
    ignoreMissing: plan.ignoreMissing,
    ...extra,
  });
  const { result, replayed } = await node.mutate(plan.opId, rpc, fingerprint, async () => {
    const startedUnixMs = Date.now();
    const outcomes: UnitOutcome__Output[] = [];
    for (const { name, settleTimeoutMs } of plan.units) {
      if (outcomes.some((o) => !SUCCESS.has(o.outcome))) {
        outcomes.push(
          outcome(name, "OUTCOME_SKIPPED", undefined, "not attempted: an earlier unit in this call failed"),
        );
        continue;
      }
      outcomes.push(await one(name, settleTimeoutMs));
    }
    return {
      operationId: plan.opId,
      ok: outcomes.every((o) => SUCCESS.has(o.outcome)),
      replayed: false,
      outcomes,
      startedUnixMs,
      finishedUnixMs: Date.now(),
    };
  });
  return replayed ? { ...result, replayed: true } : result;
}

const stopped = (u: SimUnit) => (u.active === "inactive" || u.active === "failed") && !u.job;

async function stopOne(node: SimNode, name: string, timeoutMs: number, ignoreMissing: boolean) {
  const t0 = Date.now();
  const u = node.units.get(name);
  if (!u) return missing(name, ignoreMissing);
  if (stopped(u)) return outcome(name, "OUTCOME_ALREADY", u, "already stopped", t0);
  node.stopUnit(name);
  if (await node.until(() => stopped(u), timeoutMs)) return outcome(name, "OUTCOME_DONE", u, "stopped", t0);
  return failure(node, u, "OUTCOME_TIMED_OUT", `did not stop within ${timeoutMs} ms`, t0);
}

async function startOne(node: SimNode, name: string, timeoutMs: number, ignoreMissing: boolean, noBlock: boolean) {
  const t0 = Date.now();
  const u = node.units.get(name);
  if (!u) return missing(name, ignoreMissing);
  if (u.active === "active" && !u.job) return outcome(name, "OUTCOME_ALREADY", u, "already active", t0);
  if (noBlock && u.active === "activating") return outcome(name, "OUTCOME_ALREADY", u, "already activating", t0);
  node.startUnit(name);
  const settled = () =>
    u.active === "failed" ||
    (noBlock && (u.active === "activating" || u.active === "active")) ||
    (u.active === "active" && !u.job) ||
    (u.active === "inactive" && !u.job);
  if (!(await node.until(settled, timeoutMs))) {
    return failure(node, u, "OUTCOME_TIMED_OUT", `did not become active within ${timeoutMs} ms`, t0);
  }
  if (u.active === "failed" || u.active === "inactive") {
    return failure(node, u, "OUTCOME_FAILED", `failed to start (ActiveState=${u.active} Result=${u.result})`, t0);
  }
  return noBlock
    ? outcome(name, "OUTCOME_DONE", u, `start queued, unit is ${u.active}`, t0)
    : outcome(name, "OUTCOME_DONE", u, "started", t0);
}

async function autoStartOne(node: SimNode, name: string, ignoreMissing: boolean, enabled: boolean) {
  const t0 = Date.now();
  const u = node.units.get(name);
  if (!u) return missing(name, ignoreMissing);
  await sleep(node.cluster.delay(node.cluster.timing.agentRead));
  const want = enabled ? "enabled" : "disabled";
  if (u.enabled === want) return outcome(name, "OUTCOME_ALREADY", u, `already ${want}`, t0);
  node.setEnabled(name, enabled);
  return outcome(name, "OUTCOME_DONE", u, want, t0);
}

function missing(name: string, ignore: boolean): UnitOutcome__Output {
  return ignore
    ? outcome(name, "OUTCOME_MISSING_IGNORED", undefined, "unit does not exist on this node; ignored as asked")
    : outcome(name, "OUTCOME_NOT_FOUND", undefined, "unit does not exist on this node");
}

function outcome(
  name: string,
  kind: Outcome__Output,
  u: SimUnit | undefined,
  message: string,
  t0?: number,
): UnitOutcome__Output {
  return {
    unit: name,
    outcome: kind,
    state: u ? unitStatus(u) : absent(name),
    message,
    journal: [],
    durationMs: t0 === undefined ? 0 : Date.now() - t0,
  };
}

/** A failure carries the unit's last journal lines, as systemd would show them. */
function failure(node: SimNode, u: SimUnit, kind: Outcome__Output, message: string, t0: number): UnitOutcome__Output {
  const etcd = node.cluster.etcd;
  const up = etcd.members.filter((m) => etcd.processUp(m)).length;
  const journal =
    u.name === "etcd.service"
      ? [
          `etcd[${u.pid}]: waiting for a leader: ${up} of ${etcd.members.length} members running, no quorum`,
          `etcd[${u.pid}]: health check for peers failed: connection refused`,
        ]
      : [`systemd[1]: ${u.name}: ${u.active} (${u.sub}), result ${u.result}`];
  return { ...outcome(u.name, kind, u, message, t0), journal };
}

function unitStatus(u: SimUnit): UnitStatus__Output {
  return {
    name: u.name,
    exists: true,
    loadState: "loaded",
    activeState: u.active,
    subState: u.sub,
    result: u.result,
    unitFileState: u.enabled,
    mainPid: u.pid,
    restarts: u.restarts,
    stateChangeUnixMs: u.changedAt,
  };
}

function absent(name: string): UnitStatus__Output {
  return {
    name,
    exists: false,
    loadState: "not-found",
    activeState: "inactive",
    subState: "dead",
    result: "success",
    unitFileState: "",
    mainPid: 0,
    restarts: 0,
    stateChangeUnixMs: 0,
  };
}

// ---- status ------------------------------------------------------------------------------------------------------

function status(node: SimNode, etcd: EtcdMemberStatus__Output | null): NodeStatus__Output {
  const now = Date.now();
  return {
    nodeName: node.name,
    collectedUnixMs: now,
    facts: {
      hostname: node.name,
      bootId: node.bootId,
      uptimeSeconds: Math.floor((now - node.bootedAt) / 1000),
      bootedUnixMs: node.bootedAt,
      os: "Debian GNU/Linux 12 (simulated)",
      kernel: "6.1.0-sim",
      cpuModel: "simulated",
      cpuCores: 4,
      memoryTotalBytes: 8 * 2 ** 30,
      memoryAvailableBytes: 6 * 2 ** 30,
      disks: [{ mount: "/", fsType: "ext4", sizeBytes: 100 * 2 ** 30, usedBytes: 20 * 2 ** 30 }],
      addresses: node.addresses.map((address) => ({ interface: "lo", address, family: 4 })),
      factsCollectedUnixMs: node.bootedAt + 5000,
    },
    // One entry per allow-listed unit, in allow-list order, including units this node does not have.
    units: SIM_ALLOWED_UNITS.map((name) => {
      const u = node.units.get(name);
      return u ? unitStatus(u) : absent(name);
    }),
    etcd,
  };
}

async function watch(node: SimNode, call: ServerWritableStream<{ intervalMs?: number }, NodeStatus__Output>) {
  try {
    const role = roleFromSubject(call.getAuthContext()?.sslPeerCertificate?.subject);
    if (!role) throw new KubecycleError("PERMISSION_DENIED", "this certificate grants no kubecycle role");
  } catch (err) {
    call.emit("error", toGrpcStatus(err));
    return;
  }
  const asked = call.request.intervalMs ?? 0;
  const intervalMs = asked === 0 ? 10_000 : Math.min(Math.max(asked, 1000), 3_600_000);
  let open = true;
  call.on("cancelled", () => (open = false));
  const print = () => [...node.units.values()].map((u) => `${u.name}|${u.active}|${u.sub}|${u.enabled}`).join("\n");
  while (open) {
    if (node.answering) call.write(status(node, null));
    const before = print();
    await node.until(() => !open || print() !== before, intervalMs);
  }
}

// ---- etcd --------------------------------------------------------------------------------------------------------

function etcdLayout(node: SimNode, member: SimMember | undefined): EtcdLayout__Output {
  const empty = {
    unit: "",
    configFile: "",
    name: "",
    advertiseClientUrls: [],
    advertisePeerUrls: [],
    dataDir: "",
    caFile: "",
    certFile: "",
    keyFile: "",
    error: "",
    quotaBackendBytes: 0,
    initialCluster: "",
  };
  if (!member) return { ...empty, mode: "ETCD_MODE_NONE" };
  const urls = {
    name: member.name,
    advertiseClientUrls: member.clientUrls,
    advertisePeerUrls: member.peerUrls,
    quotaBackendBytes: member.quotaBackendBytes,
    initialCluster: node.cluster.etcd.members.map((m) => `${m.name}=${m.peerUrls[0] ?? ""}`).join(","),
  };
  if (node.spec.etcd === "systemd") {
    const ssl = "/etc/ssl/etcd/ssl";
    return {
      ...empty,
      ...urls,
      mode: "ETCD_MODE_SYSTEMD",
      unit: "etcd.service",
      configFile: "/etc/etcd.env",
      dataDir: "/var/lib/etcd",
      caFile: `${ssl}/ca.pem`,
      certFile: `${ssl}/admin-${node.name}.pem`,
      keyFile: `${ssl}/admin-${node.name}-key.pem`,
    };
  }
  const pki = "/etc/kubernetes/pki/etcd";
  return {
    ...empty,
    ...urls,
    mode: "ETCD_MODE_STATIC_POD",
    configFile: "/etc/kubernetes/manifests/etcd.yaml",
    dataDir: "/var/lib/etcd",
    caFile: `${pki}/ca.crt`,
    certFile: `${pki}/healthcheck-client.crt`,
    keyFile: `${pki}/healthcheck-client.key`,
  };
}

/**
 * What etcdctl says about a member (the local one, or `memberId` through the local member's credentials): health
 * is a linearizable read, so without a leader it waits for one until the timeout; status is the member's own view;
 * the member list needs the leader too. A member whose process is down refuses the connection at once.
 */
async function etcdStatus(
  node: SimNode,
  memberId: string | undefined,
  timeoutMs: number,
): Promise<EtcdMemberStatus__Output> {
  const etcd = node.cluster.etcd;
  const local = etcd.memberOn(node.name);
  const out: EtcdMemberStatus__Output = {
    isMember: local !== undefined,
    endpoint: "",
    healthy: false,
    healthError: "",
    memberId: "",
    leaderId: "",
    raftTerm: 0,
    raftIndex: 0,
    raftAppliedIndex: 0,
    revision: 0,
    dbSizeBytes: 0,
    dbSizeInUseBytes: 0,
    version: "",
    errors: [],
    statusError: "",
    members: [],
    membersError: "",
    clusterId: "",
  };
  if (!local) {
    if (memberId)
      throw new KubecycleError("INVALID_REQUEST", "this node runs no etcd member (no etcd environment file)");
    return out;
  }
  const m = memberId ? etcd.members.find((x) => x.id === memberId) : local;
  if (!m) throw new KubecycleError("INVALID_REQUEST", `member_id ${memberId}: not in the member list`);
  const t0 = Date.now();
  out.endpoint = m.clientUrls[0] ?? "";
  await sleep(node.cluster.delay(node.cluster.timing.etcdctl));
  if (!etcd.processUp(m)) {
    const refused = `dial tcp ${new URL(out.endpoint).host}: connect: connection refused`;
    return { ...out, healthError: refused, statusError: refused, membersError: refused };
  }
  if (!etcd.healthy(m)) await m.node.until(() => etcd.healthy(m), timeoutMs - (Date.now() - t0));
  const healthy = etcd.healthy(m);
  const now = Date.now();
  return {
    ...out,
    healthy,
    healthError: healthy ? "" : "context deadline exceeded",
    memberId: m.id,
    leaderId: etcd.leader?.id ?? "0",
    raftTerm: etcd.term,
    raftIndex: etcd.appliedIndex(m, now),
    raftAppliedIndex: etcd.appliedIndex(m, now),
    revision: etcd.appliedIndex(m, now) - 900,
    dbSizeBytes: m.dbSizeBytes,
    dbSizeInUseBytes: m.dbSizeInUseBytes,
    errors: m.alarms.map((a) => `memberID:${m.id} alarm:${a}`),
    version: "3.5.13",
    clusterId: etcd.clusterId,
    members: healthy
      ? etcd.members.map((x) => ({
          id: x.id,
          name: x.name,
          peerUrls: x.peerUrls,
          clientUrls: x.clientUrls,
          isLearner: false,
        }))
      : [],
    membersError: healthy ? "" : "context deadline exceeded",
  };
}

/** A snapshot of the local member, streamed in chunks, the last message with its sha256. Operators only. */
async function snapshot(node: SimNode, call: ServerWritableStream<{ timeoutMs?: number }, unknown>): Promise<void> {
  if (!node.answering) return;
  const rec: CallRecord = {
    node: node.name,
    rpc: "EtcdSnapshot",
    at: Date.now(),
    workMs: 0,
    mutating: false,
    role: "",
  };
  node.cluster.calls.push(rec);
  try {
    const caller = callerOf(call);
    rec.role = caller.role;
    if (caller.role !== "operator") {
      throw new KubecycleError("PERMISSION_DENIED", `${caller.identity} is a viewer; a snapshot holds every secret`);
    }
    const etcd = node.cluster.etcd;
    const m = etcd.memberOn(node.name);
    if (!m) throw new KubecycleError("INVALID_REQUEST", "this node runs no etcd member (no etcd environment file)");
    if (!etcd.healthy(m)) {
      throw new KubecycleError("SYSTEMD_FAILED", "etcdctl snapshot save failed: context deadline exceeded");
    }
    await sleep(node.cluster.delay(node.cluster.timing.snapshot));
    const data = Buffer.alloc(SNAPSHOT_BYTES);
    for (let i = 0; i < data.length; i += 32) createHash("sha256").update(`${i}`).digest().copy(data, i);
    for (let i = 0; i < data.length; i += CHUNK_BYTES) call.write({ data: data.subarray(i, i + CHUNK_BYTES) });
    const revision = etcd.commitIndex();
    call.write({
      data: Buffer.alloc(0),
      summary: {
        sha256: createHash("sha256").update(data).digest("hex"),
        sizeBytes: data.length,
        revision,
        totalKeys: 1000 + node.cluster.nodes.size * 10,
        memberName: m.name,
        takenUnixMs: Date.now(),
      },
    });
    rec.workMs = Date.now() - rec.at;
    rec.answeredAt = Date.now();
    call.end();
  } catch (err) {
    rec.refused = err instanceof KubecycleError ? err.code : "INTERNAL";
    rec.workMs = Date.now() - rec.at;
    call.emit("error", toGrpcStatus(err));
  }
}

// ---- pods and probes ---------------------------------------------------------------------------------------------

const SCOPES: Record<PodScope__Output, (s: { scope: string }) => boolean> = {
  POD_SCOPE_ALL: () => true,
  POD_SCOPE_WORKLOAD: (s) => s.scope === "workload",
  POD_SCOPE_CONTROL_PLANE: (s) => s.scope === "control-plane",
  POD_SCOPE_ETCD: (s) => s.scope === "etcd",
  POD_SCOPE_ALL_BUT_ETCD: (s) => s.scope !== "etcd",
};

/** crictl stopp on each ready sandbox of the scope, one after the other, each within its pod's grace period. */
async function stopSandboxes(node: SimNode, scope: PodScope__Output, timeoutMs: number) {
  // crictl talks to the runtime's CRI socket: with the runtime stopped it cannot even list the pods.
  if (!node.runtimeUp) {
    throw new KubecycleError(
      "SYSTEMD_FAILED",
      `crictl pods failed: connect: connection refused (the ${node.spec.runtime} CRI socket is not served)`,
    );
  }
  const deadline = Date.now() + timeoutMs;
  const wire = (s: { id: string; name: string; namespace: string; ready: boolean }): PodSandbox__Output => ({
    id: s.id,
    name: s.name,
    namespace: s.namespace,
    state: s.ready ? "SANDBOX_READY" : "SANDBOX_NOTREADY",
  });
  const before = node.sandboxes.filter((s) => s.ready && SCOPES[scope](s));
  const stoppedPods: PodSandbox__Output[] = [];
  for (const s of before) {
    const ms = node.cluster.delay(node.cluster.timing.podStop);
    if (Date.now() + ms > deadline) break;
    await sleep(ms);
    node.stopSandbox(s);
    stoppedPods.push(wire(s));
  }
  const remaining = node.sandboxes.filter((s) => s.ready && SCOPES[scope](s)).map(wire);
  return {
    stopped: stoppedPods,
    remaining,
    message:
      remaining.length === 0
        ? `stopped ${stoppedPods.length} pod sandbox(es)`
        : `${remaining.length} pod sandbox(es) still ready: the ${timeoutMs} ms were not enough`,
  };
}

/** The control plane's health endpoints, asked on the node: present when the node has the static pod. */
function probe(node: SimNode): ComponentHealth__Output[] {
  const now = Date.now();
  const podsUp = node.componentsSince !== undefined && now >= node.componentsSince;
  const cp = node.spec.controlPlane;
  const refused = (port: number) =>
    `Get "https://127.0.0.1:${port}/healthz": dial tcp 127.0.0.1:${port}: connect: connection refused`;
  const apiserver = !podsUp
    ? refused(6443)
    : node.componentsHealthy(now)
      ? "ok"
      : "[-]etcd failed: reason withheld\nreadyz check failed";
  return [
    {
      component: "kube-apiserver",
      url: "https://127.0.0.1:6443/readyz",
      present: cp,
      healthy: cp && apiserver === "ok",
      detail: cp ? apiserver : "",
    },
    {
      component: "kube-scheduler",
      url: "https://127.0.0.1:10259/healthz",
      present: cp,
      healthy: cp && podsUp,
      detail: cp ? (podsUp ? "ok" : refused(10259)) : "",
    },
    {
      component: "kube-controller-manager",
      url: "https://127.0.0.1:10257/healthz",
      present: cp,
      healthy: cp && podsUp,
      detail: cp ? (podsUp ? "ok" : refused(10257)) : "",
    },
    {
      component: "kubelet",
      url: "http://127.0.0.1:10248/healthz",
      present: true,
      healthy: node.kubeletUp,
      detail: node.kubeletUp ? "ok" : refused(10248),
    },
  ];
}
