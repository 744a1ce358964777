// The lab: a real multi-node cluster sandbox on one machine (SPEC.md, "The lab"). Each node is a real systemd as
// PID 1 in its own namespaces (systemd-node.ts) and its own network namespace on the lab bridge, with per-node state
// directories bound over the shared root. Masters run a real 3-member etcd laid out like KubeKey; every node runs the
// product's kubecycle-agent.service; the kube stand-ins (test/lab/kube/) plug in when present.
//
// Tests use the library: `const lab = await labUp({ masters: 3, workers: 2 })`, then lab.node(name).exec(...),
// lab.etcdctl(...), lab.agent(name), lab.poweroff/boot/reboot(name), and `await labDown()`. One lab per machine:
// everything it creates is named with LAB_PREFIX, and labDown() removes what it finds on the machine.
import { cp, lstat, mkdir, readFile, readdir, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { dirname, join, relative, sep } from "node:path";
import { stringify } from "yaml";
import { AgentConnection, createCa, issueAgentCert, issueClientCert } from "../../coordinator/index.js";
import { readTlsFiles, type TlsMaterial } from "../../shared/index.js";
import { AGENT_ENTRY, agentBinds, IN_NODE_REPO, prepareAgent, REPO_ROOT } from "./agent.js";
import {
  ETCD_ENV_FILE,
  ETCD_SSL_DIR,
  ETCD_UNIT,
  clientUrl,
  etcdCertNames,
  etcdctlArgv,
  installEtcdCerts,
  makeEtcdPki,
  writeEtcdEnv,
} from "./etcd.js";
import {
  exists,
  findNodePid1,
  mustRun,
  pidNamespaceAlive,
  run,
  waitFor,
  writeFileAtomic,
  type ProcessInfo,
  type RunOptions,
  type RunResult,
} from "./host.js";
import {
  NETNS_RUN_DIR,
  createBindTargets,
  createdPathsRecord,
  createHostSymlink,
  recordNetnsRunDir,
  removeCreatedPaths,
} from "./host-paths.js";
import { kubeAvailable, loadKube, type KubeModule, type KubeNodeSpec } from "./kube-plug.js";
import {
  AGENT_PORT,
  BRIDGE,
  BRIDGE_ADDRESS,
  CLUSTER_NAME,
  LAB_CIDR,
  LAB_PREFIX,
  OPERATOR_CLIENT,
  VIEWER_CLIENT,
  labPaths,
  planNodes,
  type LabPaths,
  type NodePlan,
} from "./layout.js";
import { checkSubnetFree, createBridge, createNodeNetwork, destroyAllNetworks, netnsPids } from "./net.js";
import { bootSystemdNode, cleanupStaleNodes, type Bind } from "./systemd-node.js";

/** How to bring a lab up. */
export interface LabOptions {
  /** etcd members; default 3. */
  masters?: number;
  /** Default 2. */
  workers?: number;
  /** Default `<repo>/.lab`. */
  stateDir?: string;
  /** Run the kube stand-ins; default: when test/lab/kube/index.ts exists. */
  kube?: boolean;
  /** The kube stand-ins' NotReady grace period; default theirs. */
  kubeNodeGraceSeconds?: number;
  /**
   * The agent runs from dist/: "auto" (default) builds when it is missing or older than the sources, "check" fails
   * then instead, "skip" uses whatever is built (only a missing build fails).
   */
  build?: "auto" | "check" | "skip";
  /** Per node, from spawn to its boot target active (etcd waits for quorum at boot); default 60000. */
  bootTimeoutMs?: number;
  /** Agent config fields merged over the lab's (nodeName, listen); e.g. where to send boot reports. Default none. */
  agentConfig?: Record<string, unknown>;
  /** Progress lines; default silent. */
  log?: (line: string) => void;
}

/** lab.json: what was asked for and how far `up` got. */
export interface LabState {
  version: 1;
  masters: number;
  workers: number;
  kube: boolean;
  /** LabOptions.agentConfig, as given. */
  agentConfig?: Record<string, unknown>;
  /** Set once every node is up, every agent serves and etcd is healthy. */
  complete: boolean;
  startedUnixMs: number;
  nodes: NodePlan[];
}

/** inventory.json: everything tests and the coordinator need to find the lab. Host paths unless said otherwise. */
export interface Inventory {
  version: 1;
  cluster: string;
  stateDir: string;
  bridge: { name: string; address: string; cidr: string };
  agentPort: number;
  pki: {
    ca: string;
    operator: { cert: string; key: string };
    viewer: { cert: string; key: string };
  };
  /** Host-side etcd client settings (the first master's admin certificate). */
  etcd: { endpoints: string[]; caFile: string; certFile: string; keyFile: string };
  kube: { enabled: boolean; kubeconfig?: string; server?: string };
  kubecycleConfig: string;
  nodes: Array<NodePlan & { agentAddress: string; stateDir: string }>;
}

/** Milliseconds spent in each phase of the last `up` (a build of the repo, if one was needed, not included). */
export interface UpTimings {
  totalMs: number;
  prepareMs: number;
  /** From the first spawn to the last node's boot target active (nodes boot concurrently). */
  bootMs: number;
  /** Per node, spawn to boot target active. */
  nodeBootMs: Record<string, number>;
  agentsMs: number;
  etcdMs: number;
  kubeMs: number;
}

/** One node's state, as `lab status` shows it. */
export interface NodeReport {
  name: string;
  role: NodePlan["role"];
  ip: string;
  running: boolean;
  /** `systemctl is-system-running`. */
  system?: string;
  bootId?: string;
  /** ActiveState of the lab's main units ("-" when the node has no such unit). */
  units: Record<string, string>;
  /** "serving", or why the agent did not answer. */
  agent: string;
}

/** The etcd cluster's health as seen from one member. */
export interface EtcdReport {
  from?: string;
  endpoints: Array<{ endpoint: string; health: boolean; error?: string }>;
  error?: string;
}

const KUBE_BIN_DIR = "/opt/kubecycle-lab";
const KUBE_PKI_DIR = "/etc/kubernetes/pki";
const BOOT_ID_UNIT = "kubecycle-lab-boot-id.service";
const STATUS_UNITS = ["kubecycle-agent", "etcd", "containerd", "kubelet"];
const AGENT_TIMEOUT_MS = 30_000;
const ETCD_TIMEOUT_MS = 30_000;
const POWEROFF_TIMEOUT_MS = 10_000;

// The kernel's boot id is one for the whole machine; each boot of a node gets its own, made in its fresh /run and
// bound over the kernel's before anything reads it (the agent reports it as the node's boot id).
const BOOT_ID_UNIT_FILE = `[Unit]
Description=kubecycle lab: a boot id of this node's own
DefaultDependencies=no
Before=sysinit.target systemd-journald.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'cat /proc/sys/kernel/random/uuid > /run/kubecycle-lab-boot-id && mount --bind -o ro /run/kubecycle-lab-boot-id /proc/sys/kernel/random/boot_id'
[Install]
WantedBy=sysinit.target
`;

// The agent's unit mounts a fresh /proc (ProtectKernelTunables and friends), which drops the node-wide bind above; a
// drop-in (the product's unit file stays as shipped) binds the node's boot id into the agent's own namespace too.
const AGENT_BOOT_ID_DROPIN = `# kubecycle lab: give the agent this node boot's id (see ${BOOT_ID_UNIT})
[Unit]
After=${BOOT_ID_UNIT}
[Service]
BindReadOnlyPaths=/run/kubecycle-lab-boot-id:/proc/sys/kernel/random/boot_id
`;

/** Per-node writable state bound over the shared root: target -> kind. Nodes share nothing writable. */
const NODE_STATE: ReadonlyArray<{ target: string; kind: "dir" | "file"; mode?: number }> = [
  { target: "/etc/kubernetes", kind: "dir" },
  { target: "/etc/ssl/etcd", kind: "dir", mode: 0o700 },
  { target: "/etc/kubecycle-lab", kind: "dir" },
  { target: "/var/lib/etcd", kind: "dir", mode: 0o700 },
  { target: "/var/lib/kubelet", kind: "dir" },
  { target: "/var/lib/containerd-lab", kind: "dir" },
  { target: "/var/log", kind: "dir" },
];
const stateName = (target: string): string => target.slice(1).replaceAll("/", "-");
// /etc/etcd.env must exist on masters only: the agent takes a readable /etc/etcd.env to mean "this node is an etcd
// member". A bind needs its target on the shared root, which workers would then see; a symlink on the host into a
// per-node directory resolves on masters and dangles on workers.
const ETCD_ENV_REAL = "/etc/kubecycle-lab/etcd.env";

/** A lab node, found on the machine each time (so a handle works across processes and reboots). */
export class LabNode {
  readonly name: string;
  readonly role: NodePlan["role"];
  readonly ip: string;
  readonly netns: string;
  readonly hostVeth: string;
  readonly etcdMember: string | undefined;
  /** host:port of its agent. */
  readonly agentAddress: string;
  /** Host directory holding the node's persistent state. */
  readonly stateDir: string;

  constructor(plan: NodePlan, paths: LabPaths) {
    this.name = plan.name;
    this.role = plan.role;
    this.ip = plan.ip;
    this.netns = plan.netns;
    this.hostVeth = plan.hostVeth;
    this.etcdMember = plan.etcdMember;
    this.agentAddress = `${plan.ip}:${AGENT_PORT}`;
    this.stateDir = paths.node(plan.name);
  }

  /** The node's systemd (PID 1) on the host, or undefined while it is powered off. */
  pid1(): Promise<ProcessInfo | undefined> {
    return findNodePid1(this.name);
  }

  async isRunning(): Promise<boolean> {
    return (await this.pid1()) !== undefined;
  }

  /** Runs argv inside all of the node's namespaces (never through a shell); does not throw on a non-zero exit. */
  async exec(argv: readonly string[], o?: RunOptions): Promise<RunResult> {
    if (argv.length === 0) throw new Error("exec: empty argv");
    const p = await this.pid1();
    if (!p) throw new Error(`node ${this.name} is powered off`);
    return run("nsenter", ["-t", String(p.pid), "-m", "-u", "-i", "-p", "-n", "--", ...argv], o);
  }

  systemctl(...args: string[]): Promise<RunResult> {
    return this.exec(["systemctl", ...args]);
  }

  /** The boot id the node's processes see. */
  async bootId(): Promise<string> {
    const r = await this.exec(["cat", "/proc/sys/kernel/random/boot_id"]);
    if (r.code !== 0) throw new Error(`node ${this.name}: reading boot_id failed: ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  toPlan(): NodePlan {
    return {
      name: this.name,
      role: this.role,
      ip: this.ip,
      netns: this.netns,
      hostVeth: this.hostVeth,
      ...(this.etcdMember !== undefined ? { etcdMember: this.etcdMember } : {}),
    };
  }
}

/** A lab that is up (or was: nodes may be powered off). */
export class Lab {
  readonly paths: LabPaths;
  readonly state: LabState;
  readonly nodes: readonly LabNode[];
  /** Set when this handle brought the lab up. */
  timings: UpTimings | undefined;
  #tls: Promise<TlsMaterial> | undefined;
  readonly #bootTimeoutMs: number;
  readonly #log: (line: string) => void;

  constructor(paths: LabPaths, state: LabState, opts: { bootTimeoutMs?: number; log?: (line: string) => void } = {}) {
    this.paths = paths;
    this.state = state;
    this.nodes = state.nodes.map((n) => new LabNode(n, paths));
    this.#bootTimeoutMs = opts.bootTimeoutMs ?? 60_000;
    this.#log = opts.log ?? (() => undefined);
  }

  get masters(): LabNode[] {
    return this.nodes.filter((n) => n.role === "master");
  }

  get workers(): LabNode[] {
    return this.nodes.filter((n) => n.role === "worker");
  }

  node(name: string): LabNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no lab node ${JSON.stringify(name)}; nodes: ${this.nodes.map((x) => x.name).join(", ")}`);
    return n;
  }

  /** The kubeconfig the lab wrote (kube stand-ins only). */
  get kubeconfigPath(): string {
    return this.paths.kubeconfig;
  }

  get kubecycleConfigPath(): string {
    return this.paths.kubecycleConfig;
  }

  /** The lab operator's client TLS material (kubecycle:operator, from the lab's kubecycle CA). */
  operatorTls(): Promise<TlsMaterial> {
    this.#tls ??= readTlsFiles({
      ca: join(this.paths.pki, "ca.crt"),
      cert: join(this.paths.pki, "clients", `${OPERATOR_CLIENT}.crt`),
      key: join(this.paths.pki, "clients", `${OPERATOR_CLIENT}.key`),
    });
    return this.#tls;
  }

  /** A new mTLS connection to a node's agent as the lab operator; close it when done. */
  async agent(name: string): Promise<AgentConnection> {
    const n = this.node(name);
    return new AgentConnection({ node: n.name, address: n.agentAddress, tls: await this.operatorTls() });
  }

  /** `etcdctl ARGS...` on a master (default: the first running one), with its own /etc/etcd.env. */
  async etcdctl(args: readonly string[], o: RunOptions & { node?: string } = {}): Promise<RunResult> {
    const name = o.node ?? (await this.#firstRunningMaster());
    return this.node(name).exec(etcdctlArgv(args), o);
  }

  /** `etcdctl endpoint health --cluster` from one member, parsed. */
  async etcdHealth(from?: string): Promise<EtcdReport> {
    let node: string;
    try {
      node = from ?? (await this.#firstRunningMaster());
    } catch (err) {
      return { endpoints: [], error: (err as Error).message };
    }
    const r = await this.etcdctl(["endpoint", "health", "--cluster", "-w", "json", "--command-timeout=3s"], {
      node,
      timeoutMs: 15_000,
    });
    try {
      const parsed = JSON.parse(r.stdout) as Array<{ endpoint: string; health: boolean; error?: string }>;
      return { from: node, endpoints: parsed.sort((a, b) => a.endpoint.localeCompare(b.endpoint)) };
    } catch {
      return { from: node, endpoints: [], error: (r.stderr || r.stdout).trim() || `etcdctl exited ${r.code}` };
    }
  }

  /** Waits until every member of the etcd cluster answers a linearizable health check. */
  async waitEtcdHealthy(timeoutMs = ETCD_TIMEOUT_MS): Promise<EtcdReport> {
    const members = this.masters.length;
    return waitFor(
      `etcd: ${members} healthy members`,
      async () => {
        const h = await this.etcdHealth();
        if (h.error !== undefined) throw new Error(h.error);
        const healthy = h.endpoints.filter((e) => e.health).length;
        if (healthy === members && h.endpoints.length === members) return h;
        throw new Error(`${healthy}/${members} healthy: ${JSON.stringify(h.endpoints)}`);
      },
      { timeoutMs, intervalMs: 200 },
    );
  }

  /** Waits until each named node's agent answers Health as serving, over mTLS from the host. */
  async waitAgents(names: readonly string[] = this.nodes.map((n) => n.name), timeoutMs = AGENT_TIMEOUT_MS) {
    await Promise.all(
      names.map(async (name) => {
        const agent = await this.agent(name);
        try {
          await waitFor(
            `the agent of ${name} to serve`,
            async () => ((await agent.health({ deadlineMs: 1000 })).state === "serving" ? true : undefined),
            { timeoutMs, intervalMs: 100 },
          );
        } finally {
          agent.close();
        }
      }),
    );
  }

  /** Ends the nodes' systemd at once, as a power cut does: every process dies, persistent state stays. */
  async poweroff(...names: string[]): Promise<void> {
    await Promise.all(
      names.map(async (name) => {
        const n = this.node(name);
        const p = await n.pid1();
        this.#log(`power off ${name}`);
        // SIGKILL to everything in the node's cgroups, PID 1 first among them; then its cgroups go.
        await cleanupStaleNodes(name);
        if (p) {
          await waitFor(
            `${name}'s processes to die`,
            async () => ((await pidNamespaceAlive(p.pidNs)) ? undefined : true),
            {
              timeoutMs: POWEROFF_TIMEOUT_MS,
            },
          );
        }
        // What entered the node from the host (nsenter) dies with it; the network stays, as the cable does.
        await waitFor(
          `${name}'s network namespace to be empty`,
          async () => ((await netnsPids(n.netns)).length === 0 ? true : undefined),
          {
            timeoutMs: POWEROFF_TIMEOUT_MS,
          },
        );
      }),
    );
  }

  /**
   * Powers nodes on with their persistent state; returns once each one's boot target is active and its agent
   * serves. Masters whose etcd is enabled must reach quorum to finish booting (etcd is Type=notify), so booting
   * them without enough members running is refused up front rather than left to time out.
   */
  async boot(...names: string[]): Promise<Record<string, number>> {
    const nodes = names.map((n) => this.node(n));
    await this.#checkQuorumForBoot(nodes);
    const bootMs: Record<string, number> = {};
    await Promise.all(
      nodes.map(async (n) => {
        if (await n.isRunning()) throw new Error(`node ${n.name} is already running`);
        this.#log(`boot ${n.name}`);
        const booted = await bootSystemdNode({
          name: n.name,
          stateDir: n.stateDir,
          netns: n.netns,
          binds: nodeBinds(n.toPlan(), this.paths, this.state.kube),
          bootTimeoutMs: this.#bootTimeoutMs,
        });
        bootMs[n.name] = booted.bootMs;
      }),
    );
    await this.waitAgents(names);
    return bootMs;
  }

  /** poweroff, then boot. */
  async reboot(...names: string[]): Promise<Record<string, number>> {
    await this.poweroff(...names);
    return this.boot(...names);
  }

  /** Every node's state, its agent, and etcd's health. */
  async status(): Promise<{ nodes: NodeReport[]; etcd: EtcdReport }> {
    const nodes = await Promise.all(this.nodes.map((n) => this.#nodeReport(n)));
    return { nodes, etcd: await this.etcdHealth() };
  }

  /** The lines `lab env` prints (shell-evaluable). */
  envLines(): string[] {
    const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    return [
      `export KUBECYCLE_CONFIG=${q(this.paths.kubecycleConfig)}`,
      ...(this.state.kube ? [`export KUBECONFIG=${q(this.paths.kubeconfig)}`] : []),
      `export KUBECYCLE_LAB_INVENTORY=${q(this.paths.inventory)}`,
    ];
  }

  /** Tears the whole lab down (see {@link labDown}). */
  down(): Promise<void> {
    return labDown({ stateDir: this.paths.root, log: this.#log });
  }

  async #firstRunningMaster(): Promise<string> {
    for (const m of this.masters) if (await m.isRunning()) return m.name;
    throw new Error("no master is running");
  }

  async #checkQuorumForBoot(booting: readonly LabNode[]): Promise<void> {
    // The link points into the node's /etc (dangling on the host): lstat, not access.
    const enabled = (n: LabNode) =>
      lstat(join(n.stateDir, "etc/systemd/system/multi-user.target.wants/etcd.service")).then(
        () => true,
        () => false,
      );
    const bootingMembers: LabNode[] = [];
    for (const n of booting) if (n.role === "master" && (await enabled(n))) bootingMembers.push(n);
    if (bootingMembers.length === 0) return;
    let up = bootingMembers.length;
    for (const m of this.masters) {
      if (booting.includes(m) || !(await m.isRunning())) continue;
      const s = (await m.systemctl("is-active", "etcd")).stdout.trim();
      if (s === "active" || s === "activating") up++;
    }
    const quorum = Math.floor(this.masters.length / 2) + 1;
    if (up < quorum) {
      throw new Error(
        `booting ${bootingMembers.map((n) => n.name).join(", ")} cannot finish: etcd (Type=notify) waits for quorum ` +
          `(${quorum} of ${this.masters.length} members) and only ${up} would run; boot the masters together`,
      );
    }
  }

  async #nodeReport(n: LabNode): Promise<NodeReport> {
    const report: NodeReport = {
      name: n.name,
      role: n.role,
      ip: n.ip,
      running: false,
      units: {},
      agent: "powered off",
    };
    if (!(await n.isRunning())) return report;
    report.running = true;
    report.system = (await n.systemctl("is-system-running")).stdout.trim();
    report.bootId = await n.bootId().catch(() => undefined);
    for (const u of STATUS_UNITS) {
      const r = await n.exec(["systemctl", "show", "-p", "LoadState,ActiveState", "--value", `${u}.service`]);
      const [load, active] = r.stdout.trim().split("\n");
      report.units[u] = load === "not-found" ? "-" : (active ?? "?");
    }
    const agent = await this.agent(n.name);
    try {
      report.agent = (await agent.health({ deadlineMs: 2000 })).state;
    } catch (err) {
      report.agent = (err as Error).message.split("\n")[0] ?? "unreachable";
    } finally {
      agent.close();
    }
    return report;
  }
}

/**
 * Brings the lab up and returns its handle. Idempotent: a complete lab of the same shape (masters, workers, kube,
 * agentConfig) is kept, and its powered-off nodes are booted; anything else on the machine that looks like a lab (a crashed run, another shape) is torn down first.
 */
export async function labUp(opts: LabOptions = {}): Promise<Lab> {
  const log = opts.log ?? (() => undefined);
  await checkPrerequisites();
  await ensureBuilt(opts.build ?? "auto", log);
  // Timings start here: a build is not part of bringing the lab up.
  const t0 = Date.now();
  const paths = labPaths(opts.stateDir);
  const masters = opts.masters ?? 3;
  const workers = opts.workers ?? 2;
  const kube = opts.kube ?? (await kubeAvailable());
  const plan = planNodes(masters, workers);
  const handleOpts = { log, ...(opts.bootTimeoutMs !== undefined ? { bootTimeoutMs: opts.bootTimeoutMs } : {}) };

  const current = await readLabState(paths);
  if (
    current?.complete === true &&
    current.masters === masters &&
    current.workers === workers &&
    current.kube === kube &&
    JSON.stringify(current.agentConfig ?? {}) === JSON.stringify(opts.agentConfig ?? {}) &&
    (await infrastructurePresent(paths, current))
  ) {
    const lab = new Lab(paths, current, handleOpts);
    const off: string[] = [];
    for (const n of lab.nodes) if (!(await n.isRunning())) off.push(n.name);
    log(off.length === 0 ? "the lab is already up" : `the lab is up; booting ${off.join(", ")}`);
    if (off.length > 0) await lab.boot(...off);
    return lab;
  }

  log("removing whatever is left of a previous lab");
  await labDown({ stateDir: paths.root, log });
  await checkSubnetFree();
  const state: LabState = {
    version: 1,
    masters,
    workers,
    kube,
    ...(opts.agentConfig ? { agentConfig: opts.agentConfig } : {}),
    complete: false,
    startedUnixMs: t0,
    nodes: plan,
  };
  await mkdir(paths.root, { recursive: true, mode: 0o700 });
  await writeLabState(paths, state);
  const lab = new Lab(paths, state, handleOpts);

  // Host paths first (recorded before they are made), then everything independent at once.
  const record = createdPathsRecord("lab");
  await createBindTargets(record, hostBindTargets(paths, plan, kube));
  await createHostSymlink(record, ETCD_ENV_FILE, relative("/etc", ETCD_ENV_REAL));
  await recordNetnsRunDir(record);
  const kubeMod = kube ? await loadKube() : undefined;
  const masterList = plan.filter((n) => n.role === "master").map((n) => ({ name: n.name, ip: n.ip }));
  log(`preparing ${plan.length} nodes (${masters} masters, ${workers} workers${kube ? ", kube stand-ins" : ""})`);
  const [, , kubePki] = await Promise.all([
    makeKubecyclePki(paths, plan),
    makeEtcdPki(paths.etcdPki, plan),
    kubeMod
      ? Promise.all([kubeMod.bundleKube(paths.kubeBin), kubeMod.createKubePki(paths.kubePki, masterList)]).then(
          ([, pki]) => pki,
        )
      : undefined,
    setUpNetwork(plan),
  ]);
  const setups = await Promise.all(plan.map((n) => prepareNode(n, plan, paths, kubeMod, opts)));
  const tPrepared = Date.now();

  log(`booting ${plan.map((n) => n.name).join(", ")}`);
  const nodeBootMs: Record<string, number> = {};
  await Promise.all(
    plan.map(async (n, i) => {
      const setup = setups[i];
      if (!setup) throw new Error(`no setup for ${n.name}`);
      const node = await bootSystemdNode({
        name: n.name,
        stateDir: paths.node(n.name),
        netns: n.netns,
        binds: setup.binds,
        unitFiles: setup.unitFiles,
        enable: setup.enable,
        bootTimeoutMs: opts.bootTimeoutMs ?? 60_000,
      });
      nodeBootMs[n.name] = node.bootMs;
      log(`  ${n.name} booted in ${node.bootMs} ms`);
    }),
  );
  const tBooted = Date.now();
  await lab.waitAgents();
  const tAgents = Date.now();
  const etcd = await lab.waitEtcdHealthy();
  log(`etcd: ${etcd.endpoints.length} healthy members`);
  const tEtcd = Date.now();

  let server: string | undefined;
  if (kubeMod && kubePki) {
    const first = plan[0];
    if (!first) throw new Error("no master");
    server = `https://${first.ip}:6443`;
    const text = kubePki.kubeconfig(server);
    await writeFileAtomic(paths.kubeconfig, text, 0o600);
    await waitForTcp(first.ip, 6443, 30_000);
    log("seeding the workload");
    await kubeMod.seedWorkload(text);
  }
  const tKube = Date.now();

  await writeInventory(paths, plan, kube, server);
  state.complete = true;
  await writeLabState(paths, state);
  lab.timings = {
    totalMs: Date.now() - t0,
    prepareMs: tPrepared - t0,
    bootMs: tBooted - tPrepared,
    nodeBootMs,
    agentsMs: tAgents - tBooted,
    etcdMs: tEtcd - tAgents,
    kubeMs: tKube - tEtcd,
  };
  log(`the lab is up in ${lab.timings.totalMs} ms`);
  return lab;
}

/** A handle on the lab described by the state directory (it may be partly or wholly powered off). */
export async function openLab(opts: Pick<LabOptions, "stateDir" | "log" | "bootTimeoutMs"> = {}): Promise<Lab> {
  const paths = labPaths(opts.stateDir);
  const state = await readLabState(paths);
  if (!state) throw new Error(`no lab in ${paths.root}; run \`npm run lab -- up\``);
  return new Lab(paths, state, {
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.bootTimeoutMs !== undefined ? { bootTimeoutMs: opts.bootTimeoutMs } : {}),
  });
}

/**
 * Removes every trace of a lab from the machine, working from what is there (names with the lab prefix), not from
 * the state file: the nodes' processes and cgroups, network namespaces, veths, the bridge, the paths the lab created
 * on the host, and the state directory's contents.
 */
export async function labDown(opts: Pick<LabOptions, "stateDir" | "log"> = {}): Promise<void> {
  const log = opts.log ?? (() => undefined);
  const paths = labPaths(opts.stateDir);
  // SIGKILL every process in the lab's cgroups (each node's PID 1 with them), then remove the cgroups depth-first.
  await cleanupStaleNodes(LAB_PREFIX);
  // Anything else that entered a node's network (an nsenter, the harness's unshare) goes with the namespaces.
  await destroyAllNetworks();
  // A process that was being started into a node while it was killed may have recreated a cgroup.
  await cleanupStaleNodes(LAB_PREFIX);
  // The host paths of a test's lone agent node that a crash left behind go as well.
  const kept = [
    ...(await removeCreatedPaths(createdPathsRecord("lab"))),
    ...(await removeCreatedPaths(createdPathsRecord("agent-test"))),
  ];
  if (kept.length > 0) log(`left in place (in use or not empty): ${kept.join(", ")}`);
  await removeStateDir(paths);
}

// ---------------------------------------------------------------------------------------------------------------

interface NodeSetup {
  binds: Bind[];
  unitFiles: Record<string, string>;
  enable: string[];
}

/** The binds of a node at every boot: the agent's, the per-node state, and read-only shared files. */
function nodeBinds(n: NodePlan, paths: LabPaths, kube: boolean): Bind[] {
  const dir = paths.node(n.name);
  const binds: Bind[] = [...agentBinds(dir)];
  // The repo is visible read-only at /opt/kubecycle; the lab state in it (every node's keys) must not be.
  const rel = relative(REPO_ROOT, paths.root);
  if (rel !== "" && !rel.startsWith("..") && !rel.startsWith(sep)) {
    binds.push({ source: join(dir, "hidden"), target: join(IN_NODE_REPO, rel), readOnly: true });
  }
  for (const s of NODE_STATE) binds.push({ source: join(dir, stateName(s.target)), target: s.target });
  if (kube) binds.push({ source: paths.kubeBin, target: KUBE_BIN_DIR, readOnly: true });
  return binds;
}

/**
 * Every host path the lab may create (bind targets on the shared root, /etc/etcd.env, /run/netns) and their
 * parents: what must look the same before `up` and after `down`.
 */
export function labHostPaths(stateDir?: string): string[] {
  const paths = labPaths(stateDir);
  const out = new Set<string>();
  const targets = [...hostBindTargets(paths, planNodes(1, 0), true).map((t) => t.path), ETCD_ENV_FILE, NETNS_RUN_DIR];
  for (const t of targets) for (let p = t; p !== "/"; p = dirname(p)) out.add(p);
  return [...out].sort();
}

/** Bind targets that lie on the host's root (not inside another bind), i.e. must exist on the host. */
function hostBindTargets(paths: LabPaths, plan: readonly NodePlan[], kube: boolean) {
  const first = plan[0];
  if (!first) return [];
  const binds = nodeBinds(first, paths, kube);
  const out: Array<{ path: string; kind: "dir" | "file" }> = [];
  binds.forEach((b, i) => {
    const inside = binds.slice(0, i).some((o) => b.target.startsWith(`${o.target}/`));
    if (!inside) out.push({ path: b.target, kind: NODE_STATE.find((s) => s.target === b.target)?.kind ?? "dir" });
  });
  return out;
}

async function prepareNode(
  n: NodePlan,
  plan: readonly NodePlan[],
  paths: LabPaths,
  kube: KubeModule | undefined,
  opts: LabOptions,
): Promise<NodeSetup> {
  const dir = paths.node(n.name);
  await mkdir(dir, { recursive: true });
  const agent = await prepareAgent({
    stateDir: dir,
    nodeName: n.name,
    pkiDir: paths.pki,
    listenAddress: n.ip,
    port: AGENT_PORT,
    ...(opts.agentConfig ? { config: opts.agentConfig } : {}),
  });
  await mkdir(join(dir, "hidden"), { recursive: true });
  for (const s of NODE_STATE) {
    const p = join(dir, stateName(s.target));
    if (s.kind === "dir") await mkdir(p, { recursive: true, mode: s.mode ?? 0o755 });
    else await writeFile(p, "", { flag: "a" });
  }
  const masters = plan.filter((m) => m.role === "master");
  await installEtcdCerts(paths.etcdPki, n, join(dir, stateName("/etc/ssl/etcd")));
  const unitFiles: Record<string, string> = { ...agent.unitFiles, [BOOT_ID_UNIT]: BOOT_ID_UNIT_FILE };
  const dropIns = join(dir, "etc/systemd/system/kubecycle-agent.service.d");
  await mkdir(dropIns, { recursive: true });
  await writeFile(join(dropIns, "kubecycle-lab-boot-id.conf"), AGENT_BOOT_ID_DROPIN);
  const enable = ["kubecycle-agent.service", BOOT_ID_UNIT];
  if (n.role === "master") {
    await writeEtcdEnv(join(dir, stateName("/etc/kubecycle-lab"), "etcd.env"), n, masters);
    unitFiles["etcd.service"] = ETCD_UNIT;
    enable.push("etcd.service");
  }
  const binds = nodeBinds(n, paths, kube !== undefined);
  if (kube) {
    await cp(paths.kubePki, join(dir, stateName("/etc/kubernetes"), "pki"), { recursive: true });
    const nodeCert = etcdCertNames.node(n.name);
    const spec: KubeNodeSpec = {
      name: n.name,
      role: n.role,
      ip: n.ip,
      masters: masters.map((m) => ({ name: m.name, ip: m.ip })),
      etcd: {
        endpoints: masters.map((m) => clientUrl(m.ip)),
        caFile: `${ETCD_SSL_DIR}/${etcdCertNames.ca}`,
        certFile: `${ETCD_SSL_DIR}/${nodeCert.cert}`,
        keyFile: `${ETCD_SSL_DIR}/${nodeCert.key}`,
      },
      kubePkiDir: KUBE_PKI_DIR,
      binDir: KUBE_BIN_DIR,
      ...(opts.kubeNodeGraceSeconds !== undefined ? { nodeGraceSeconds: opts.kubeNodeGraceSeconds } : {}),
    };
    for (const f of kube.kubeNodeFiles(spec)) {
      const host = hostPathOf(binds, f.path, n.name);
      await mkdir(join(host, ".."), { recursive: true });
      await writeFile(host, f.content, { mode: f.mode });
    }
    for (const [unit, content] of Object.entries(kube.kubeUnitFiles(spec))) {
      unitFiles[unit] = content;
      if (/^\[Install\]/m.test(content)) enable.push(unit);
    }
  }
  return { binds, unitFiles, enable };
}

/** The host path behind an in-node path, through the node's writable binds. */
function hostPathOf(binds: readonly Bind[], inNode: string, node: string): string {
  const b = binds
    .filter((x) => !x.readOnly && (inNode === x.target || inNode.startsWith(`${x.target}/`)))
    .sort((x, y) => y.target.length - x.target.length)[0];
  if (!b) {
    const targets = binds.filter((x) => !x.readOnly).map((x) => x.target);
    throw new Error(`node ${node}: ${inNode} is not under a per-node writable directory (${targets.join(", ")})`);
  }
  return join(b.source, inNode.slice(b.target.length));
}

async function makeKubecyclePki(paths: LabPaths, plan: readonly NodePlan[]): Promise<void> {
  await createCa(paths.pki, { commonName: "kubecycle-lab-ca" });
  await Promise.all([
    ...plan.map((n) => issueAgentCert(paths.pki, { node: n.name, ips: [n.ip] })),
    issueClientCert(paths.pki, { name: OPERATOR_CLIENT, role: "operator" }),
    issueClientCert(paths.pki, { name: VIEWER_CLIENT, role: "viewer" }),
  ]);
}

async function setUpNetwork(plan: readonly NodePlan[]): Promise<void> {
  await createBridge();
  // Namespaces one at a time: the first `ip netns add` bind-mounts /run/netns, and concurrent ones would stack binds.
  for (const n of plan) await mustRun("ip", ["netns", "add", n.netns]);
  await Promise.all(plan.map((n) => createNodeNetwork(n)));
}

async function infrastructurePresent(paths: LabPaths, state: LabState): Promise<boolean> {
  const links = (await run("ip", ["-o", "link", "show"])).stdout;
  if (!links.includes(` ${BRIDGE}:`)) return false;
  for (const n of state.nodes) {
    if (!(await exists(`/var/run/netns/${n.netns}`))) return false;
    if (!new RegExp(` ${n.hostVeth}@`).test(links)) return false;
  }
  return (await exists(paths.inventory)) && (await exists(paths.kubecycleConfig));
}

async function writeInventory(paths: LabPaths, plan: readonly NodePlan[], kube: boolean, server?: string) {
  const first = plan[0];
  if (!first) throw new Error("no nodes");
  const admin = etcdCertNames.admin(first.name);
  const inventory: Inventory = {
    version: 1,
    cluster: CLUSTER_NAME,
    stateDir: paths.root,
    bridge: { name: BRIDGE, address: BRIDGE_ADDRESS, cidr: LAB_CIDR },
    agentPort: AGENT_PORT,
    pki: {
      ca: join(paths.pki, "ca.crt"),
      operator: {
        cert: join(paths.pki, "clients", `${OPERATOR_CLIENT}.crt`),
        key: join(paths.pki, "clients", `${OPERATOR_CLIENT}.key`),
      },
      viewer: {
        cert: join(paths.pki, "clients", `${VIEWER_CLIENT}.crt`),
        key: join(paths.pki, "clients", `${VIEWER_CLIENT}.key`),
      },
    },
    etcd: {
      endpoints: plan.filter((n) => n.role === "master").map((n) => clientUrl(n.ip)),
      caFile: join(paths.etcdPki, etcdCertNames.ca),
      certFile: join(paths.etcdPki, admin.cert),
      keyFile: join(paths.etcdPki, admin.key),
    },
    kube: { enabled: kube, ...(kube ? { kubeconfig: paths.kubeconfig } : {}), ...(server ? { server } : {}) },
    kubecycleConfig: paths.kubecycleConfig,
    nodes: plan.map((n) => ({ ...n, agentAddress: `${n.ip}:${AGENT_PORT}`, stateDir: paths.node(n.name) })),
  };
  await writeFileAtomic(paths.inventory, `${JSON.stringify(inventory, null, 2)}\n`);
  // coordinator/config.ts's format (strict: no field of the lab's own here; those are in inventory.json).
  const config = {
    cluster: CLUSTER_NAME,
    kubeconfig: paths.kubeconfig,
    stateDir: paths.coordinatorState,
    agents: {
      port: AGENT_PORT,
      tls: { ca: inventory.pki.ca, cert: inventory.pki.operator.cert, key: inventory.pki.operator.key },
    },
    nodes: Object.fromEntries(plan.map((n) => [n.name, { address: n.ip }])),
  };
  await mkdir(paths.coordinatorState, { recursive: true, mode: 0o700 });
  await writeFileAtomic(
    paths.kubecycleConfig,
    `# kubecycle coordinator config for the lab (written by \`npm run lab -- up\`)\n${stringify(config)}`,
  );
}

/** Reads the lab's inventory.json. */
export async function readInventory(stateDir?: string): Promise<Inventory> {
  return JSON.parse(await readFile(labPaths(stateDir).inventory, "utf8")) as Inventory;
}

async function readLabState(paths: LabPaths): Promise<LabState | undefined> {
  const text = await readFile(paths.state, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const s = JSON.parse(text) as LabState;
    return s.version === 1 ? s : undefined;
  } catch {
    return undefined;
  }
}

async function writeLabState(paths: LabPaths, state: LabState): Promise<void> {
  await writeFileAtomic(paths.state, `${JSON.stringify(state, null, 2)}\n`);
}

/** Removes what the lab keeps in its state directory, and the directory itself if nothing else is in it. */
async function removeStateDir(paths: LabPaths): Promise<void> {
  const owned = [
    paths.nodes,
    paths.pki,
    paths.etcdPki,
    paths.kubePki,
    paths.kubeBin,
    paths.coordinatorState,
    paths.inventory,
    paths.kubecycleConfig,
    paths.kubeconfig,
    paths.state,
  ];
  for (const p of owned) await rm(p, { recursive: true, force: true });
  if ((await readdir(paths.root).catch(() => ["?"])).length === 0) await rmdir(paths.root);
}

/** Fails with what is missing and how to get it. */
export async function checkPrerequisites(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the lab needs root (namespaces, cgroups, bridges): run it as root");
  const needs: Array<[string, string]> = [
    ["/usr/bin/etcd", "etcd-server"],
    ["/usr/bin/etcdctl", "etcd-client"],
    ["/lib/systemd/systemd", "systemd"],
    ["/usr/bin/openssl", "openssl"],
    ["/usr/bin/nsenter", "util-linux"],
    ["/usr/bin/unshare", "util-linux"],
    ["/usr/bin/node", "nodejs (>= 20.19, at /usr/bin/node: the nodes run the agent with it)"],
  ];
  const missing: string[] = [];
  for (const [path, pkg] of needs) if (!(await exists(path))) missing.push(`${path} (${pkg})`);
  if ((await run("ip", ["-V"]).catch(() => ({ code: 127 }))).code !== 0) missing.push("ip (iproute2)");
  if (missing.length > 0) {
    throw new Error(
      `the lab needs: ${missing.join(", ")}.\n  On Debian: apt-get install systemd iproute2 util-linux openssl etcd-server etcd-client`,
    );
  }
}

/** Builds the repo when the agent's shipped entry is missing or older than the sources it is built from. */
export async function ensureBuilt(
  build: "auto" | "check" | "skip" = "auto",
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const target = join(REPO_ROOT, AGENT_ENTRY);
  const built = await stat(target).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
  if (build === "skip" && built !== undefined) return;
  // What the lab runs: the agent bundle in the nodes and the CLI bundle on the host, both made by one `npm run build`
  // from these sources (and the locked dependencies); the agent's stands for both.
  const newest = await newestSource(
    ["agent", "coordinator", "shared", "proto", "package-lock.json"].map((d) => join(REPO_ROOT, d)),
  );
  if (built !== undefined && built >= newest.mtimeMs) return;
  const why = built === undefined ? `${AGENT_ENTRY} is missing` : `${newest.path} is newer than the build`;
  if (build === "check") throw new Error(`${why}: run \`npm run build\` first`);
  log(`building (${why})`);
  const r = await run("npm", ["run", "build"], {
    cwd: REPO_ROOT,
    timeoutMs: 300_000,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" },
  });
  if (r.code !== 0) throw new Error(`npm run build failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
}

async function newestSource(roots: readonly string[]): Promise<{ path: string; mtimeMs: number }> {
  let newest = { path: "", mtimeMs: 0 };
  const walk = async (dir: string): Promise<void> => {
    const st = await stat(dir).catch(() => undefined);
    if (st?.isFile()) {
      if (st.mtimeMs > newest.mtimeMs) newest = { path: relative(REPO_ROOT, dir), mtimeMs: st.mtimeMs };
      return;
    }
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\.(ts|proto)$/.test(e.name) && !e.name.endsWith(".test.ts")) {
        const m = (await stat(p)).mtimeMs;
        if (m > newest.mtimeMs) newest = { path: relative(REPO_ROOT, p), mtimeMs: m };
      }
    }
  };
  for (const r of roots) await walk(r);
  return newest;
}

function waitForTcp(host: string, port: number, timeoutMs: number): Promise<true> {
  return waitFor(
    `${host}:${port} to accept connections`,
    () =>
      new Promise<true | undefined>((resolve) => {
        const s = connect({ host, port, timeout: 1000 });
        s.once("connect", () => {
          s.destroy();
          resolve(true);
        });
        s.once("error", () => resolve(undefined));
        s.once("timeout", () => {
          s.destroy();
          resolve(undefined);
        });
      }),
    { timeoutMs, intervalMs: 200 },
  );
}
