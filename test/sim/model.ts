// The simulated cluster's state and how it moves: nodes with systemd-like units, pod sandboxes, certificates and
// addresses; etcd members whose health depends on how many of them run. The agents (agents.ts) and the Kubernetes
// API (api.ts) are two views of this one model, as the real agents and API server are views of the real nodes.
// It behaves like the real thing where kubecycle's correctness depends on it:
// - stopping kubelet or the runtime does not stop the pods' sandboxes (KillMode=process);
// - etcd is Type=notify: a member's start is not done until a majority of members run and have elected a leader,
//   so members started one by one each wait out systemd's start timeout (the deadlock kubecycle avoids);
// - a member's linearizable read needs a leader; the API server needs etcd's quorum and its own pod;
// - a node that stops answering keeps its state; a node powered off loses its processes and gets a new boot id.
import { randomBytes, randomUUID } from "node:crypto";
import { KubecycleError } from "../../shared/index.js";
import type { Delay, SimClusterSpec, SimNodeSpec, SimTiming } from "./spec.js";

export type ActiveState = "inactive" | "activating" | "active" | "deactivating" | "failed";

/** One change of a unit's state, as the node's own systemd would log it: the proof of order in tests. */
export interface UnitEvent {
  at: number;
  active: ActiveState;
  sub: string;
  result: string;
}

/** simple: active once forked; notify: active once it says READY (etcd: once it has a leader); socket: listening. */
type UnitKind = "simple" | "notify" | "socket";

/** A unit on a node. */
export class SimUnit {
  readonly name: string;
  readonly kind: UnitKind;
  active: ActiveState = "active";
  sub = "running";
  result = "success";
  /** systemd's UnitFileState. */
  enabled = "enabled";
  pid = 0;
  restarts = 0;
  changedAt = 0;
  invocation = 0;
  job: "start" | "stop" | undefined;
  /** Its main process runs (a notify unit's while still activating, too). */
  running = true;
  /** Bumped by every new job: a stale timer of an earlier job does nothing. */
  gen = 0;
  readonly history: UnitEvent[] = [];

  constructor(name: string, kind: UnitKind, at: number) {
    this.name = name;
    this.kind = kind;
    this.sub = kind === "socket" ? "listening" : "running";
    this.changedAt = at;
    this.pid = nextPid();
    this.invocation = 1;
    this.history.push({ at, active: this.active, sub: this.sub, result: this.result });
  }

  /** When the unit last entered `state` (undefined: never). */
  lastEntered(state: ActiveState): number | undefined {
    for (let i = this.history.length - 1; i >= 0; i--) {
      const e = this.history[i];
      if (e?.active === state) return e.at;
    }
    return undefined;
  }
}

let pids = 1000;
const nextPid = () => ++pids;

/** What a pod sandbox belongs to: which StopPodSandboxes scope ends it. */
export type SandboxScope = "workload" | "control-plane" | "etcd";

/** A pod sandbox on a node, and the pod the API shows for it. */
export interface SimSandbox {
  id: string;
  name: string;
  namespace: string;
  scope: SandboxScope;
  ready: boolean;
  labels: Record<string, string>;
  /** ReplicaSet, DaemonSet, or Node (a static pod's mirror). */
  owner: { kind: string; name: string };
  restarts: number;
  /** Its container keeps exiting (CrashLoopBackOff): how it last ended. The sandbox itself stays up. */
  crashLoop?: { reason: string; exitCode: number; message: string; finishedAt: number };
}

/** A certificate a node's agent reports (path, subject, validity; never a key). */
export interface SimCertificate {
  purpose: string;
  path: string;
  subject: string;
  issuer: string;
  notBeforeUnixMs: number;
  notAfterUnixMs: number;
}

/** One RPC a node's agent answered (or refused): the simulated world's own record of what was asked of it. */
export interface CallRecord {
  node: string;
  rpc: string;
  /** When it arrived, and when it was answered (undefined: never, the node stopped answering). */
  at: number;
  answeredAt?: number;
  /** How long the simulated node itself took (unit transitions, pod grace periods, etcdctl, waiting for quorum). */
  workMs: number;
  mutating: boolean;
  role: string;
  opId?: string;
  /** Units, scope, member id: what it was about. */
  about?: string;
  /** The error code it was refused with. */
  refused?: string;
  replayed?: boolean;
  /** The JSON bytes a list answered or a watch sent, when the API measures them (SimClusterApi.measureBytes). */
  bytes?: number;
}

/** A moment when something the coordinator waits for became true in the simulation (for the benchmark's floors). */
export interface Instant {
  node: string;
  what: "etcd-healthy" | "components-healthy" | "node-ready" | "pods-ready";
  at: number;
}

const DAY = 86_400_000;
const KUBELET = "kubelet.service";
const ETCD = "etcd.service";

/** The runtime's units, in start order: each part's socket before its service. */
export function runtimeUnits(runtime: SimNodeSpec["runtime"]): Array<{ service: string; socket?: string }> {
  return runtime === "containerd"
    ? [{ service: "containerd.service" }]
    : [
        { service: "containerd.service" },
        { service: "docker.service", socket: "docker.socket" },
        { service: "cri-docker.service", socket: "cri-docker.socket" },
      ];
}

/** A node: its units, sandboxes, certificates, addresses, boot, and whether it can be reached. */
export class SimNode {
  readonly spec: SimNodeSpec;
  readonly name: string;
  readonly cluster: SimCluster;
  /** Where its agent listens and the API's InternalIP; changes only when a test moves the node. */
  address: string;
  /** The addresses its agent reports (its interfaces). */
  addresses: string[];
  powered = true;
  /** False: packets to it are lost (a link down); calls hang until their deadline. */
  reachable = true;
  bootId = randomUUID();
  bootedAt: number;
  readonly units = new Map<string, SimUnit>();
  sandboxes: SimSandbox[] = [];
  certificates: SimCertificate[];
  /** Recorded results of mutating calls, by operation id (they survive reboots, as the agent's state directory does). */
  readonly records = new Map<string, { key: string; result: Promise<unknown> }>();
  /** Asked on every call's arrival: true makes the node stop answering from then on (it drops off the network). */
  dropWhen: ((rpc: string, request: unknown) => boolean) | undefined;
  /** When kubelet last came up (plus its first status update), and when it last went away. */
  readyAt = 0;
  downAt: number | undefined;
  /** Since when the control plane's health endpoints answer ok (its pods ran long enough); undefined: they do not. */
  componentsSince: number | undefined;
  /** Its wall clock minus the real one (a drifted clock), and whether timesyncd says it is synchronized. */
  clockOffsetMs = 0;
  timeSynchronized = true;
  /** Lines its units wrote to the journal beyond systemd's own state changes (a test's injected failure), by unit. */
  readonly journal = new Map<string, string[]>();
  /** Free space and inodes of its data directories' file systems, by purpose ("etcd-data", "containerd", ...). */
  readonly diskFree = new Map<string, { availableBytes: number; inodesFree: number }>();
  /** Destination ports its firewall drops outgoing packets to (an nftables rule): connections there time out. */
  readonly blockedPorts = new Set<number>();
  #mutations: Promise<unknown> = Promise.resolve();
  #waiters = new Set<() => void>();
  #podGen = 0;
  #podsPending = false;
  #componentsHealthy = true;
  #podsReady = true;

  constructor(cluster: SimCluster, spec: SimNodeSpec, t0: number) {
    this.cluster = cluster;
    this.spec = spec;
    this.name = spec.name;
    this.address = spec.address;
    this.addresses = [spec.address];
    this.bootedAt = t0 - 3_600_000;
    this.componentsSince = spec.controlPlane ? this.bootedAt : undefined;
    this.readyAt = this.bootedAt;
    const add = (name: string, kind: UnitKind) => this.units.set(name, new SimUnit(name, kind, this.bootedAt));
    add(KUBELET, "simple");
    if (spec.etcd === "systemd") add(ETCD, "notify");
    for (const u of runtimeUnits(spec.runtime)) {
      if (u.socket) add(u.socket, "socket");
      add(u.service, "simple");
    }
    this.sandboxes = initialSandboxes(spec);
    this.certificates = initialCertificates(spec, t0);
  }

  unit(name: string): SimUnit {
    const u = this.units.get(name);
    if (!u) throw new Error(`${this.name} has no unit ${name}`);
    return u;
  }

  /** Calls reach the node and get answers. */
  get answering(): boolean {
    return this.powered && this.reachable;
  }

  /** The container runtime's CRI endpoint answers (containerd, or cri-dockerd over docker). */
  get runtimeUp(): boolean {
    const need = this.spec.runtime === "containerd" ? ["containerd.service"] : ["docker.service", "cri-docker.service"];
    return need.every((n) => this.units.get(n)?.active === "active");
  }

  get kubeletUp(): boolean {
    return this.powered && this.units.get(KUBELET)?.active === "active";
  }

  /** The API server on this node answers (its pod runs); whether it is ready is etcd's to say too. */
  get apiserverUp(): boolean {
    return this.answering && this.sandboxes.some((s) => s.ready && s.labels.component === "kube-apiserver");
  }

  /** The control plane's health endpoints on this node answer ok (the apiserver's /readyz also needs etcd). */
  componentsHealthy(now = Date.now()): boolean {
    return this.componentsSince !== undefined && now >= this.componentsSince && this.cluster.etcd.leader !== undefined;
  }

  // ---- units ---------------------------------------------------------------------------------------------------

  #set(u: SimUnit, active: ActiveState, sub: string, result = u.result): void {
    const at = Date.now();
    Object.assign(u, { active, sub, result, changedAt: at });
    u.history.push({ at, active, sub, result });
  }

  /** systemctl start: the job is queued at once; the unit settles after its delay (a notify unit: once ready). */
  startUnit(name: string): void {
    const u = this.unit(name);
    if ((u.active === "active" && !u.job) || u.job === "start" || !this.powered) return;
    const gen = ++u.gen;
    u.job = "start";
    u.invocation++;
    u.pid = nextPid();
    this.#set(u, "activating", "start", "success");
    const t = this.cluster.timing;
    if (u.kind === "notify") {
      this.cluster.after(this.cluster.delay(t.etcdExec), () => {
        if (u.gen !== gen) return;
        u.running = true;
        this.cluster.changed(this);
      });
      // systemd gives up on a notify unit that never says READY: TimeoutStartSec, then the unit fails.
      this.cluster.after(t.etcdStartTimeoutMs, () => {
        if (u.gen !== gen || u.active !== "activating") return;
        u.job = undefined;
        u.running = false;
        u.pid = 0;
        this.#set(u, "failed", "failed", "timeout");
        this.cluster.changed(this);
      });
    } else {
      this.cluster.after(this.cluster.delay(t.unitStart), () => {
        if (u.gen !== gen) return;
        u.job = undefined;
        u.running = true;
        this.#set(u, "active", u.kind === "socket" ? "listening" : "running");
        this.cluster.changed(this);
      });
    }
    this.cluster.changed(this);
  }

  /** A notify unit's READY=1 (etcd has joined a cluster with a leader). */
  ready(name: string): void {
    const u = this.units.get(name);
    if (!u || u.active !== "activating" || !u.running) return;
    u.gen++;
    u.job = undefined;
    this.#set(u, "active", "running");
    this.notify();
  }

  /** systemctl stop: SIGTERM to the main process only (KillMode=process: the pods' containers stay). */
  stopUnit(name: string): void {
    const u = this.unit(name);
    if ((u.active === "inactive" || u.active === "failed") && !u.job) return;
    if (u.job === "stop") return;
    const gen = ++u.gen;
    u.job = "stop";
    this.#set(u, "deactivating", "stop-sigterm");
    this.cluster.after(this.cluster.delay(this.cluster.timing.unitStop), () => {
      if (u.gen !== gen) return;
      u.job = undefined;
      u.running = false;
      u.pid = 0;
      this.#set(u, "inactive", "dead", "success");
      this.cluster.changed(this);
    });
    this.cluster.changed(this);
  }

  /** The unit's process dies on its own (a crashed etcd). */
  crash(name: string): void {
    const u = this.unit(name);
    u.gen++;
    u.job = undefined;
    u.running = false;
    u.pid = 0;
    u.restarts++;
    this.#set(u, "failed", "failed", "exit-code");
    this.cluster.changed(this);
  }

  setEnabled(name: string, enabled: boolean): void {
    this.unit(name).enabled = enabled ? "enabled" : "disabled";
    this.notify();
  }

  // ---- pods ----------------------------------------------------------------------------------------------------

  /** Stops one sandbox (its containers first, within the pod's grace period). */
  stopSandbox(s: SimSandbox): void {
    s.ready = false;
    if (s.scope === "control-plane") this.componentsSince = undefined;
    this.cluster.changed(this);
  }

  /**
   * kubelet's job: with kubelet and the runtime running, the node's pods come back (new sandboxes) after a while;
   * the control plane's health endpoints answer a while later.
   */
  #reconcilePods(): void {
    const canRun = this.kubeletUp && this.runtimeUp;
    if (!canRun) {
      if (this.#podsPending) this.#podGen++;
      this.#podsPending = false;
      return;
    }
    if (this.#podsPending || this.sandboxes.every((s) => s.ready)) return;
    const gen = ++this.#podGen;
    this.#podsPending = true;
    this.cluster.after(this.cluster.delay(this.cluster.timing.podStart), () => {
      if (gen !== this.#podGen) return;
      this.#podsPending = false;
      for (const s of this.sandboxes) {
        if (s.ready) continue;
        Object.assign(s, { ready: true, id: sandboxId(), restarts: s.restarts + 1 });
      }
      if (this.spec.controlPlane) {
        const since = Date.now() + this.cluster.delay(this.cluster.timing.componentStart);
        this.componentsSince = since;
        this.cluster.after(Math.max(0, since - Date.now()), () => this.cluster.changed(this));
      }
      this.cluster.changed(this);
    });
  }

  // ---- power ---------------------------------------------------------------------------------------------------

  /** The machine goes off: every process ends at once, nothing answers. */
  powerOff(): void {
    if (!this.powered) return;
    for (const u of this.units.values()) {
      u.gen++;
      u.job = undefined;
      u.running = false;
      u.pid = 0;
      if (u.active !== "inactive") this.#set(u, "inactive", "dead", "success");
    }
    for (const s of this.sandboxes) s.ready = false;
    this.componentsSince = undefined;
    this.powered = false;
    this.cluster.changed(this);
  }

  /** The machine boots: a new boot id, and systemd starts the enabled units. */
  powerOn(): void {
    if (this.powered) return;
    this.powered = true;
    this.bootId = randomUUID();
    this.bootedAt = Date.now();
    for (const u of this.units.values()) if (u.enabled === "enabled") this.startUnit(u.name);
    this.cluster.changed(this);
  }

  /** The node drops off the network (or comes back): its state is untouched, only nobody hears it. */
  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    this.cluster.changed(this);
  }

  // ---- what the agent does with it -----------------------------------------------------------------------------

  /**
   * Runs a mutating call once per operation id and one at a time, as the agent does: a repeated id gets the recorded
   * result; an id reused for another request is refused.
   */
  async mutate<R>(
    opId: string,
    rpc: string,
    fingerprint: string,
    act: () => Promise<R>,
  ): Promise<{ result: R; replayed: boolean }> {
    const key = `${rpc}:${fingerprint}`;
    const known = this.records.get(opId);
    if (known) {
      if (known.key !== key) {
        throw new KubecycleError(
          "OPERATION_ID_CONFLICT",
          `operation id ${opId} was already used for a different request (${known.key.split(":")[0] ?? "?"})`,
          { op: opId, hint: "use a new operation id for a new request" },
        );
      }
      return { result: (await known.result) as R, replayed: true };
    }
    const run = this.#mutations.then(act, act);
    this.#mutations = run.catch(() => undefined);
    this.records.set(opId, { key, result: run });
    try {
      return { result: await run, replayed: false };
    } catch (err) {
      // Only results are recorded: a call that failed may be asked again.
      this.records.delete(opId);
      throw err;
    }
  }

  /** Resolves true once `ready()` holds (checked on every change of this node or of etcd), false at `timeoutMs`. */
  until(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!ready()) return;
        done(true);
      };
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => done(ready()), Math.max(0, timeoutMs));
      this.#waiters.add(check);
    });
  }

  /** Something changed on this node: waiters look again, kubelet reconciles, the API's view and instants follow. */
  notify(): void {
    const now = Date.now();
    const up = this.kubeletUp && this.reachable;
    if (up && this.downAt !== undefined) {
      this.readyAt = now + this.cluster.delay(this.cluster.timing.nodeReady);
      this.downAt = undefined;
      this.cluster.instant(this.name, "node-ready", this.readyAt);
    } else if (!up && this.downAt === undefined) {
      this.downAt = now;
    }
    this.#reconcilePods();
    if (this.spec.controlPlane) {
      const healthy = this.componentsHealthy(now);
      if (healthy && !this.#componentsHealthy) this.cluster.instant(this.name, "components-healthy", now);
      this.#componentsHealthy = healthy;
    }
    const podsReady = this.sandboxes.every((s) => s.ready);
    if (podsReady && !this.#podsReady) this.cluster.instant(this.name, "pods-ready", now);
    this.#podsReady = podsReady;
    for (const w of [...this.#waiters]) w();
  }
}

/** etcd's members and what they say together. */
export interface SimMember {
  id: string;
  name: string;
  node: SimNode;
  peerUrls: string[];
  clientUrls: string[];
  /** Caught up and serving in the current leader's term. */
  joined: boolean;
  /** The raft index it had applied when it last stopped serving. */
  applied: number;
  /** A join is scheduled; bumping joinGen cancels it. */
  joining: boolean;
  joinGen: number;
  /** Its db file's size and what the keyspace uses of it. */
  dbSizeBytes: number;
  dbSizeInUseBytes: number;
  /** Raised alarms ("NOSPACE", "CORRUPT"): etcd refuses writes while NOSPACE is raised. */
  alarms: string[];
  /** --quota-backend-bytes of its configuration (0: etcd's 2 GiB default). */
  quotaBackendBytes: number;
}

/** Entries committed per millisecond while there is a leader (the cluster's steady writes: leases, heartbeats). */
const WRITE_EVERY_MS = 10;

/** The etcd cluster: members, leader, raft term and indexes, all following how many members' processes run. */
export class SimEtcd {
  readonly cluster: SimCluster;
  readonly clusterId = decimalId();
  readonly members: SimMember[];
  leader: SimMember | undefined;
  term = 2;
  #commitBase = 1000;
  #leaderSince = 0;
  #frozenCommit = 1000;
  #electionGen = 0;
  #electing = false;

  constructor(cluster: SimCluster, nodes: SimNode[], t0: number) {
    this.cluster = cluster;
    this.members = nodes
      .filter((n) => n.spec.etcd !== "none")
      .map((n) => ({
        id: decimalId(),
        name: n.spec.etcd === "systemd" ? `etcd-${n.name}` : n.name,
        node: n,
        peerUrls: [`https://${n.address}:2380`],
        clientUrls: [`https://${n.address}:2379`],
        joined: true,
        applied: 0,
        joining: false,
        joinGen: 0,
        dbSizeBytes: 20 * 2 ** 20,
        dbSizeInUseBytes: 16 * 2 ** 20,
        alarms: [],
        quotaBackendBytes: 0,
      }));
    this.leader = this.members[0];
    this.#leaderSince = t0 - 60_000;
  }

  /** The member whose process runs on `node`, if it is one. */
  memberOn(node: string): SimMember | undefined {
    return this.members.find((m) => m.node.name === node);
  }

  /** Its process runs: etcd.service's (activating or active), or its static pod's sandbox. */
  processUp(m: SimMember): boolean {
    const n = m.node;
    if (!n.powered) return false;
    if (n.spec.etcd === "systemd") return n.units.get(ETCD)?.running === true;
    return n.sandboxes.some((s) => s.scope === "etcd" && s.ready);
  }

  commitIndex(now = Date.now()): number {
    return this.leader ? this.#commitBase + Math.floor((now - this.#leaderSince) / WRITE_EVERY_MS) : this.#frozenCommit;
  }

  appliedIndex(m: SimMember, now = Date.now()): number {
    return this.healthy(m) ? this.commitIndex(now) : m.applied;
  }

  /** A linearizable read through this member succeeds. */
  healthy(m: SimMember): boolean {
    return m.joined && this.leader !== undefined && this.processUp(m);
  }

  get quorum(): boolean {
    return this.members.filter((m) => this.processUp(m)).length > this.members.length / 2;
  }

  /** Follows the members' processes: quorum kept or lost, elections, members joining. */
  recompute(): void {
    const now = Date.now();
    let changed = false;
    for (const m of this.members) {
      if (!this.processUp(m) && (m.joined || m.joining)) {
        if (m.joined) m.applied = this.commitIndex(now);
        m.joined = false;
        m.joining = false;
        m.joinGen++;
        changed = true;
      }
    }
    if (this.leader && (!this.quorum || !this.processUp(this.leader))) {
      this.#frozenCommit = this.commitIndex(now);
      for (const m of this.members) {
        if (m.joined) m.applied = this.#frozenCommit;
        m.joined = false;
        m.joining = false;
        m.joinGen++;
      }
      this.leader = undefined;
      changed = true;
    }
    const t = this.cluster.timing;
    if (!this.leader && this.quorum && !this.#electing) {
      const gen = ++this.#electionGen;
      this.#electing = true;
      this.cluster.after(this.cluster.delay(t.etcdElection), () => {
        if (gen !== this.#electionGen) return;
        this.#electing = false;
        const up = this.members.filter((m) => this.processUp(m));
        if (up.length <= this.members.length / 2) return this.recompute();
        this.leader = up[Math.floor(this.cluster.random() * up.length)];
        this.term++;
        this.#commitBase = this.#frozenCommit + 1;
        this.#leaderSince = Date.now();
        for (const m of up) this.#join(m);
        this.#notifyAll();
      });
    } else if (!this.quorum && this.#electing) {
      this.#electionGen++;
      this.#electing = false;
    } else if (this.leader) {
      for (const m of this.members) {
        if (m.joined || m.joining || !this.processUp(m)) continue;
        const gen = m.joinGen;
        m.joining = true;
        this.cluster.after(this.cluster.delay(t.etcdJoin), () => {
          if (gen !== m.joinGen) return;
          m.joining = false;
          if (!this.leader || !this.processUp(m) || m.joined) return this.recompute();
          this.#join(m);
          this.#notifyAll();
        });
      }
    }
    if (changed) this.#notifyAll();
  }

  #join(m: SimMember): void {
    m.joined = true;
    m.joining = false;
    m.joinGen++;
    m.node.ready(ETCD);
    this.cluster.instant(m.node.name, "etcd-healthy", Date.now());
  }

  /** Health and leadership concern every member and every control-plane node (the apiserver's /readyz). */
  #notifyAll(): void {
    for (const n of this.cluster.nodes.values()) {
      if (n.spec.controlPlane || n.spec.etcd !== "none") n.notify();
    }
  }
}

/** The whole simulated cluster: the nodes, etcd, and the records tests and the benchmark read. */
export class SimCluster {
  readonly spec: SimClusterSpec;
  readonly timing: SimTiming;
  readonly nodes = new Map<string, SimNode>();
  readonly etcd: SimEtcd;
  /** Every RPC the agents answered or refused, in arrival order. */
  readonly calls: CallRecord[] = [];
  readonly instants: Instant[] = [];
  /** Told after each change of a node's state (the simulated API's watch follows pods through it). */
  readonly observers = new Set<(node: SimNode) => void>();
  #seed: number;
  #requestSeed: number;
  #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(spec: SimClusterSpec) {
    this.spec = spec;
    this.timing = spec.timing;
    this.#seed = spec.seed >>> 0 || 1;
    this.#requestSeed = (spec.seed ^ 0x5bd1e995) >>> 0 || 1;
    const t0 = Date.now();
    for (const n of spec.nodes) this.nodes.set(n.name, new SimNode(this, n, t0));
    this.etcd = new SimEtcd(this, [...this.nodes.values()], t0);
  }

  node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no simulated node ${name}`);
    return n;
  }

  /** A deterministic random number in [0, 1) (mulberry32). */
  random(): number {
    this.#seed = (this.#seed + 0x6d2b79f5) >>> 0;
    return mulberry32(this.#seed);
  }

  delay([min, max]: Delay): number {
    return Math.round(min + (max - min) * this.random());
  }

  /**
   * An API request's latency, from a random stream of its own: how many requests a client makes does not move the
   * world's timing (when replacement pods start), so two drains that ask differently meet the same world.
   */
  requestDelay([min, max]: Delay): number {
    this.#requestSeed = (this.#requestSeed + 0x6d2b79f5) >>> 0;
    return Math.round(min + (max - min) * mulberry32(this.#requestSeed));
  }

  /** A timer the cluster owns (cleared by close). */
  after(ms: number, fn: () => void): void {
    if (this.#closed) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
  }

  /** A node's state changed: etcd follows, then the node's waiters and views. */
  changed(node: SimNode): void {
    this.etcd.recompute();
    node.notify();
    for (const o of this.observers) o(node);
  }

  instant(node: string, what: Instant["what"], at: number): void {
    this.instants.push({ node, what, at });
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

function sandboxId(): string {
  return randomBytes(32).toString("hex");
}

/** A uint64 id in decimal, as etcd's member and cluster ids travel. */
function decimalId(): string {
  return BigInt(`0x${randomBytes(8).toString("hex")}`).toString(10);
}

function initialSandboxes(spec: SimNodeSpec): SimSandbox[] {
  const pod = (
    name: string,
    namespace: string,
    scope: SandboxScope,
    labels: Record<string, string>,
    owner: SimSandbox["owner"],
  ): SimSandbox => ({ id: sandboxId(), name, namespace, scope, ready: true, labels, owner, restarts: 0 });
  const out = [pod(`kube-proxy-${spec.name}`, "kube-system", "workload", { k8s: "kube-proxy" }, ds("kube-proxy"))];
  if (spec.controlPlane) {
    for (const c of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
      out.push(
        pod(
          `${c}-${spec.name}`,
          "kube-system",
          "control-plane",
          { component: c, tier: "control-plane" },
          { kind: "Node", name: spec.name },
        ),
      );
    }
  }
  if (spec.etcd === "static-pod") {
    out.push(
      pod(
        `etcd-${spec.name}`,
        "kube-system",
        "etcd",
        { component: "etcd", tier: "control-plane" },
        { kind: "Node", name: spec.name },
      ),
    );
  }
  for (let i = 0; i < spec.workloadPods; i++) {
    out.push(pod(`web-${spec.name}-${i}`, "default", "workload", { app: "web" }, { kind: "ReplicaSet", name: "web" }));
  }
  return out;
}

function ds(name: string): SimSandbox["owner"] {
  return { kind: "DaemonSet", name };
}

function initialCertificates(spec: SimNodeSpec, t0: number): SimCertificate[] {
  const cert = (purpose: string, path: string, subject: string, days: number, issuer = "CN=kubernetes") => ({
    purpose,
    path,
    subject,
    issuer,
    notBeforeUnixMs: t0 - 30 * DAY,
    notAfterUnixMs: t0 + days * DAY,
  });
  const out = [
    cert("kubecycle-agent", "/etc/kubecycle/pki/agent.crt", `CN=${spec.name}`, 365, "CN=kubecycle-ca"),
    // The CA the agent checks clients against, as a real agent reports it.
    cert(
      "kubecycle-ca",
      "/etc/kubecycle/pki/ca.crt",
      "CN=kubecycle-ca, O=kubecycle",
      3650,
      "CN=kubecycle-ca, O=kubecycle",
    ),
    cert(
      "kubelet-client",
      "/var/lib/kubelet/pki/kubelet-client-current.pem",
      `CN=system:node:${spec.name}, O=system:nodes`,
      300,
    ),
  ];
  if (spec.controlPlane) {
    out.push(
      cert("apiserver-serving", "/etc/kubernetes/pki/apiserver.crt", "CN=kube-apiserver", 200),
      cert("apiserver-kubelet-client", "/etc/kubernetes/pki/apiserver-kubelet-client.crt", "CN=kube-apiserver", 200),
      cert("apiserver-etcd-client", "/etc/kubernetes/pki/apiserver-etcd-client.crt", "CN=kube-apiserver", 200),
    );
  }
  if (spec.etcd === "systemd") {
    const dir = "/etc/ssl/etcd/ssl";
    out.push(
      cert("etcd-server", `${dir}/member-${spec.name}.pem`, `CN=etcd-${spec.name}`, 3650, "CN=etcd-ca"),
      cert("etcd-peer", `${dir}/member-${spec.name}.pem`, `CN=etcd-${spec.name}`, 3650, "CN=etcd-ca"),
      cert("etcd-client", `${dir}/admin-${spec.name}.pem`, `CN=etcd-admin-${spec.name}`, 3650, "CN=etcd-ca"),
    );
  } else if (spec.etcd === "static-pod") {
    const dir = "/etc/kubernetes/pki/etcd";
    out.push(
      cert("etcd-server", `${dir}/server.crt`, `CN=${spec.name}`, 365, "CN=etcd-ca"),
      cert("etcd-peer", `${dir}/peer.crt`, `CN=${spec.name}`, 365, "CN=etcd-ca"),
      cert("etcd-client", `${dir}/healthcheck-client.crt`, "CN=kube-etcd-healthcheck-client", 365, "CN=etcd-ca"),
    );
  }
  return out;
}

/** mulberry32's output for a state. */
function mulberry32(state: number): number {
  let t = Math.imul(state ^ (state >>> 15), state | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
