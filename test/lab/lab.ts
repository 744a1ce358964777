// The lab: a real multi-node cluster sandbox on one machine (SPEC.md, "The lab"). It is put together here from its
// concerns, each in a file of its own: the nodes (nodes.ts, systemd-node.ts), their network (net.ts), etcd and its
// layouts (etcd.ts, etcd-kubekey.ts), the kube stand-ins (kube-plug.ts, kube/), the records on the host (state.ts,
// host-paths.ts), power (power.ts) and the CLI's verbs (cli.ts).
//
// Tests use the library: `const lab = await labUp({ masters: 3, workers: 2 })` (variants: layout, runtime, nodeNames,
// sshd; see variants.ts), then lab.node(name).exec(...) (a node's lab name or its Kubernetes name), lab.etcdctl(...),
// lab.agent(name), lab.poweroff/boot/reboot(name), lab.waitPoweredOff(names) after a node powered itself off, and
// `await labDown()`. One lab per machine: everything it creates is named with LAB_PREFIX, and labDown() removes what
// it finds on the machine.
import { copyFile, cp, mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { AgentConnection, createCa, issueAgentCert, issueClientCert, issueServeCert } from "../../coordinator/index.js";
import { readTlsFiles, type TlsMaterial } from "../../shared/index.js";
import {
  AGENT_ENTRY,
  agentInstallArgs,
  ensureRelease,
  IN_NODE_INSTALL,
  unpackRelease,
  writeAgentConfig,
} from "./agent.js";
import { checkPrerequisites, ensureBuilt } from "./build.js";
import {
  etcdctl as etcdctlIn,
  etcdHealth as etcdHealthOf,
  waitEtcdHealthy as waitHealthy,
  type EtcdLayout,
  type EtcdReport,
} from "./etcd.js";
import { exists, waitFor, waitForTcp, writeFileAtomic, type RunOptions, type RunResult } from "./host.js";
import {
  NETNS_RUN_DIR,
  createBindTargets,
  createdPathsRecord,
  createHostSymlink,
  recordNetnsRunDir,
  removeCreatedPaths,
} from "./host-paths.js";
import {
  API_AUDIT_LOG,
  kubeAvailable,
  kubeParts,
  loadKube,
  RBAC_APPROVE_KUBELET_CSRS,
  type ApiAuditRecord,
  type KubeModule,
  type RuntimeKind,
  type RuntimeSpec,
} from "./kube-plug.js";
import {
  AGENT_PORT,
  BRIDGE_ADDRESS,
  LAB_PREFIX,
  SERVE_ENDPOINT,
  OPERATOR_CLIENT,
  SERVE_CERT_NAME,
  VIEWER_CLIENT,
  labPaths,
  planNodes,
  type LabPaths,
  type NodeNames,
  type NodePlan,
} from "./layout.js";
import { checkSubnetFree, destroyAllNetworks, networkPresent, setUpNetwork } from "./net.js";
import {
  LabNode,
  agentParts,
  assembleNode,
  hostBindTargets,
  nodeBinds,
  stateName,
  type NodeParts,
  type NodeSetup,
  type StateDir,
} from "./nodes.js";
import { checkQuorumForBoot, powerOff, powerOn, waitPoweredOff } from "./power.js";
import { readLabState, recordsPresent, removeStateDir, writeInventory, writeLabState, type LabState } from "./state.js";
import { SSHD_BINARY, makeClientKey, sshPaths, sshdParts, writeClientConfig } from "./sshd.js";
import { bootSystemdNode, cleanupStaleNodes } from "./systemd-node.js";
import { allVariantsHostNeeds, resolveVariants, variantsOf, type LabVariants, type LayoutName } from "./variants.js";

export { checkPrerequisites, ensureBuilt } from "./build.js";
export type { EtcdReport } from "./etcd.js";
export { LabNode } from "./nodes.js";
export { readInventory, type Inventory, type LabState } from "./state.js";
export { LAYOUTS, type LabVariants, type LayoutName } from "./variants.js";
export { RUNTIMES, type ApiAuditRecord, type RuntimeKind } from "./kube-plug.js";
export type { NodeNames } from "./layout.js";

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
   * The API servers authorize kubecycle's operator by deploy/rbac.yaml and, with this, by the opt-in
   * deploy/rbac-approve-kubelet-csrs.yaml too (what `--approve-kubelet-csrs` needs); default false.
   */
  approveKubeletCsrsRbac?: boolean;
  /** How etcd is laid out on the masters (see LAYOUTS); default "kubekey". "kubeadm" needs the kube stand-ins. */
  layout?: LayoutName;
  /** The nodes' container runtime (see RUNTIMES); default "containerd". */
  runtime?: RuntimeKind;
  /** The nodes' names in Kubernetes: "short" (kclab-worker-1, the default) or "cloud" (EC2's ip-...internal). */
  nodeNames?: NodeNames;
  /** openssh-server in every node, root login with the lab's key (see `lab env`); default false. */
  sshd?: boolean;
  /**
   * The agent runs from dist/: "auto" (default) builds when it is missing or older than the sources, "check" fails
   * then instead, "skip" uses whatever is built (only a missing build fails).
   */
  build?: "auto" | "check" | "skip";
  /**
   * Per node, from spawn to its boot target active (etcd waits for quorum at boot); default 60000, plus 3000 per node
   * beyond 5 (nodes boot concurrently: 15 of them took 46 s on 2 busy cores).
   */
  bootTimeoutMs?: number;
  /** Agent config fields merged over the lab's (nodeName, listen); e.g. where to send boot reports. Default none. */
  agentConfig?: Record<string, unknown>;
  /** Progress lines; default silent. */
  log?: (line: string) => void;
}

/** Milliseconds spent in each phase of the last `up` (a build of the repo, if one was needed, not included). */
export interface UpTimings {
  totalMs: number;
  prepareMs: number;
  /**
   * From the first spawn until every node has booted (its boot target active) and installed its agent; the nodes boot
   * concurrently, and each installs once it has booted.
   */
  bootMs: number;
  /** Per node, spawn to boot target active. */
  nodeBootMs: Record<string, number>;
  /** Per node, its `kubecycle-agent install` (run once it booted, within {@link bootMs}) until it returned. */
  nodeInstallMs: Record<string, number>;
  /** From every node booted and installed to every agent serving. */
  agentsMs: number;
  etcdMs: number;
  kubeMs: number;
}

/** One node's state, as `lab status` shows it. */
export interface NodeReport {
  name: string;
  /** Its Kubernetes name (the same unless cloud names). */
  kubeName: string;
  role: NodePlan["role"];
  ip: string;
  running: boolean;
  /** `systemctl is-system-running`. */
  system?: string;
  bootId?: string;
  /** ActiveState of the lab's main units ("-" when the node has no such unit); "etcd" as its layout runs it. */
  units: Record<string, string>;
  /** "serving", or why the agent did not answer. */
  agent: string;
}

const AGENT_TIMEOUT_MS = 30_000;
/** A static-pod etcd starts only once the kubelet runs, after the boot: allow for it. */
const ETCD_TIMEOUT_MS = 60_000;

/** A lab that is up (or was: nodes may be powered off). */
export class Lab {
  readonly paths: LabPaths;
  readonly state: LabState;
  readonly nodes: readonly LabNode[];
  /** What this lab is besides its size (layout, runtime, node names, sshd). */
  readonly variants: LabVariants;
  /** How etcd is laid out on its masters. */
  readonly etcdLayout: EtcdLayout;
  /** The nodes' container runtime (when the kube stand-ins run). */
  readonly runtime: RuntimeSpec;
  /** Set when this handle brought the lab up. */
  timings: UpTimings | undefined;
  #tls: Promise<TlsMaterial> | undefined;
  readonly #stateDirs: readonly StateDir[];
  readonly #bootTimeoutMs: number;
  readonly #log: (line: string) => void;

  constructor(paths: LabPaths, state: LabState, opts: { bootTimeoutMs?: number; log?: (line: string) => void } = {}) {
    this.paths = paths;
    this.state = state;
    this.nodes = state.nodes.map((n) => new LabNode(n, paths));
    this.variants = variantsOf(state);
    const v = resolveVariants(this.variants);
    this.etcdLayout = v.etcd;
    this.runtime = v.runtime;
    this.#stateDirs = v.stateDirs;
    this.#bootTimeoutMs = opts.bootTimeoutMs ?? defaultBootTimeoutMs(state.nodes.length);
    this.#log = opts.log ?? (() => undefined);
  }

  get masters(): LabNode[] {
    return this.nodes.filter((n) => n.role === "master");
  }

  get workers(): LabNode[] {
    return this.nodes.filter((n) => n.role === "worker");
  }

  /** A node by its lab name or its Kubernetes name. */
  node(name: string): LabNode {
    const n = this.nodes.find((x) => x.name === name || x.kubeName === name);
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

  /**
   * Every request the masters' API servers authorized by RBAC (deploy/rbac.yaml) so far, with the decision: what
   * kubecycle asked of the API as the kubecycle operator. Empty without the kube stand-ins.
   */
  async apiAudit(): Promise<ApiAuditRecord[]> {
    const logs = await Promise.all(
      this.masters.map((m) =>
        readFile(
          join(this.paths.node(m.name), stateName("/var/log"), API_AUDIT_LOG.slice("/var/log/".length)),
          "utf8",
        ).catch((err: NodeJS.ErrnoException) => (err.code === "ENOENT" ? "" : Promise.reject(err))),
      ),
    );
    return logs.flatMap((text) =>
      text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as ApiAuditRecord),
    );
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

  /** The lab viewer's client TLS material (kubecycle:viewer). */
  viewerTls(): Promise<TlsMaterial> {
    return readTlsFiles({
      ca: join(this.paths.pki, "ca.crt"),
      cert: join(this.paths.pki, "clients", `${VIEWER_CLIENT}.crt`),
      key: join(this.paths.pki, "clients", `${VIEWER_CLIENT}.key`),
    });
  }

  /** A new mTLS connection to a node's agent as the lab operator; close it when done. */
  async agent(name: string): Promise<AgentConnection> {
    const n = this.node(name);
    return new AgentConnection({ node: n.kubeName, address: n.agentAddress, tls: await this.operatorTls() });
  }

  /** `etcdctl ARGS...` on a master (default: the first running one), with that member's own credentials. */
  async etcdctl(args: readonly string[], o: RunOptions & { node?: string } = {}): Promise<RunResult> {
    const name = o.node ?? (await this.#firstRunningMaster());
    return etcdctlIn(this.etcdLayout, this.node(name), args, o);
  }

  /** `etcdctl endpoint health --cluster` from one member, parsed. */
  async etcdHealth(from?: string): Promise<EtcdReport> {
    let node: string;
    try {
      node = from ?? (await this.#firstRunningMaster());
    } catch (err) {
      return { endpoints: [], error: (err as Error).message };
    }
    return etcdHealthOf(this.etcdLayout, this.node(node));
  }

  /** Waits until every member of the etcd cluster answers a linearizable health check. */
  waitEtcdHealthy(timeoutMs = ETCD_TIMEOUT_MS): Promise<EtcdReport> {
    return waitHealthy(this.masters.length, () => this.etcdHealth(), timeoutMs);
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
      names.map((name) => {
        this.#log(`power off ${name}`);
        return powerOff(this.node(name));
      }),
    );
  }

  /**
   * Waits until nodes that power themselves off (`systemctl poweroff` inside them, as kubecycle's PowerOff does) are
   * gone, leaving them as a power cut would: ready to boot with their disks.
   */
  async waitPoweredOff(names: readonly string[], timeoutMs = 60_000): Promise<void> {
    await Promise.all(names.map((name) => waitPoweredOff(this.node(name), timeoutMs)));
  }

  /**
   * Powers nodes on with their persistent state; returns once each one's boot target is active and its agent
   * serves. On a layout whose masters wait for etcd's quorum to finish booting (etcd.service is Type=notify),
   * booting them without enough members running is refused up front rather than left to time out.
   */
  async boot(...names: string[]): Promise<Record<string, number>> {
    const nodes = names.map((n) => this.node(n));
    await checkQuorumForBoot(this.etcdLayout, this.masters, nodes);
    const bootMs: Record<string, number> = {};
    await Promise.all(
      nodes.map(async (n) => {
        this.#log(`boot ${n.name}`);
        const binds = nodeBinds(n.toPlan(), this.paths, this.#stateDirs, this.state.kube);
        bootMs[n.name] = await powerOn(n, binds, this.#bootTimeoutMs);
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
      ...(this.variants.sshd
        ? [
            `export KUBECYCLE_LAB_SSH_CONFIG=${q(sshPaths(this.paths).config)}`,
            `# ssh to a node as root (any of its names): ssh -F "$KUBECYCLE_LAB_SSH_CONFIG" root@${this.nodes[0]?.name ?? "NODE"}`,
          ]
        : []),
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

  async #nodeReport(n: LabNode): Promise<NodeReport> {
    const report: NodeReport = {
      name: n.name,
      kubeName: n.kubeName,
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
    const units = [
      "kubecycle-agent.service",
      ...(this.state.kube ? ["kubelet.service", ...this.runtime.services] : []),
    ];
    for (const u of units) report.units[u.replace(/\.service$/, "")] = await n.unitState(u);
    report.units.etcd = await this.etcdLayout.etcdState(n);
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
 * agentConfig) is kept, and its powered-off nodes are booted; anything else on the machine that looks like a lab (a
 * crashed run, another shape) is torn down first.
 */
export async function labUp(opts: LabOptions = {}): Promise<Lab> {
  const log = opts.log ?? (() => undefined);
  await checkPrerequisites();
  await ensureBuilt(opts.build ?? "auto", log);
  const release = await ensureRelease(log);
  // Timings start here: a build (and packing its release) is not part of bringing the lab up.
  const t0 = Date.now();
  const paths = labPaths(opts.stateDir);
  const masters = opts.masters ?? 3;
  const workers = opts.workers ?? 2;
  const variants = variantsOf({
    kube: opts.kube ?? (await kubeAvailable()),
    ...(opts.layout ? { layout: opts.layout } : {}),
    ...(opts.runtime ? { runtime: opts.runtime } : {}),
    ...(opts.nodeNames ? { nodeNames: opts.nodeNames } : {}),
    ...(opts.sshd !== undefined ? { sshd: opts.sshd } : {}),
  });
  const { kube } = variants;
  const { etcd, stateDirs } = resolveVariants(variants);
  if (etcd.needsKube && !kube)
    throw new Error(`the ${etcd.name} layout runs etcd through the kube stand-ins: not with --no-kube`);
  if (variants.sshd && !(await exists(SSHD_BINARY))) {
    throw new Error(`--sshd needs ${SSHD_BINARY}: apt-get install openssh-server`);
  }
  const plan = planNodes(masters, workers, { nodeNames: variants.nodeNames, memberName: (k) => etcd.memberName(k) });
  const handleOpts = { log, ...(opts.bootTimeoutMs !== undefined ? { bootTimeoutMs: opts.bootTimeoutMs } : {}) };

  const current = await readLabState(paths);
  if (
    current?.complete === true &&
    current.masters === masters &&
    current.workers === workers &&
    JSON.stringify(variantsOf(current)) === JSON.stringify(variants) &&
    JSON.stringify(current.agentConfig ?? {}) === JSON.stringify(opts.agentConfig ?? {}) &&
    (await networkPresent(current.nodes)) &&
    (await recordsPresent(paths))
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
    ...variants,
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
  await createBindTargets(record, hostBindTargets(nodeBinds(plan[0] ?? fail(), paths, stateDirs, kube), stateDirs));
  for (const l of etcd.hostLinks) await createHostSymlink(record, l.path, l.target);
  await recordNetnsRunDir(record);
  const kubeMod = kube ? await loadKube() : undefined;
  const masterList = plan.filter((n) => n.role === "master").map((n) => ({ name: n.kubeName, ip: n.ip }));
  log(`preparing ${plan.length} nodes (${masters} masters, ${workers} workers; ${describeVariants(variants)})`);
  const [, , kubePki] = await Promise.all([
    makeKubecyclePki(paths, plan),
    etcd.makePki(paths, plan),
    kubeMod
      ? Promise.all([
          kubeMod.bundleKube(paths.kubeBin),
          kubeMod.createKubePki(
            paths.kubePki,
            masterList,
            plan.map((n) => ({ name: n.kubeName, ip: n.ip })),
          ),
        ]).then(([, pki]) => pki)
      : undefined,
    setUpNetwork(plan),
    variants.sshd ? makeClientKey(paths) : undefined,
  ]);
  const setups = await Promise.all(plan.map((n) => prepareNode(n, plan, paths, variants, kubeMod, opts)));
  // The release, unpacked once as a user does, then copied with each node's certificates and config to the node.
  const releaseDir = join(paths.root, "release");
  await unpackRelease(release, releaseDir);
  await Promise.all(plan.map((n) => stageAgentInstall(n, paths, releaseDir, opts.agentConfig)));
  if (variants.sshd) await writeClientConfig(paths, plan);
  const tPrepared = Date.now();

  log(`booting ${plan.map((n) => n.name).join(", ")}`);
  const nodeBootMs: Record<string, number> = {};
  const nodeInstallMs: Record<string, number> = {};
  await Promise.all(
    plan.map(async (n, i) => {
      const setup = setups[i];
      if (!setup) throw new Error(`no setup for ${n.name}`);
      const node = await bootSystemdNode({
        name: n.name,
        hostname: n.hostname,
        stateDir: paths.node(n.name),
        netns: n.netns,
        ...setup,
        bootTimeoutMs: opts.bootTimeoutMs ?? defaultBootTimeoutMs(plan.length),
      });
      nodeBootMs[n.name] = node.bootMs;
      log(`  ${n.name} booted in ${node.bootMs} ms`);
      // Each node installs its agent as soon as it has booted, while the others still boot.
      const tInstall = Date.now();
      await installAgent(lab, n);
      nodeInstallMs[n.name] = Date.now() - tInstall;
      log(`  ${n.name}: kubecycle-agent installed in ${nodeInstallMs[n.name]} ms`);
    }),
  );
  const tBooted = Date.now();
  await lab.waitAgents();
  const tAgents = Date.now();
  const health = await lab.waitEtcdHealthy();
  log(`etcd: ${health.endpoints.length} healthy members`);
  const tEtcd = Date.now();

  let server: string | undefined;
  if (kubeMod && kubePki) {
    const first = plan[0] ?? fail();
    server = `https://${first.ip}:6443`;
    const text = kubePki.kubeconfig(server);
    await writeFileAtomic(paths.kubeconfig, text, 0o600);
    await writeFileAtomic(paths.operatorKubeconfig, kubePki.kubeconfig(server, "kubecycle-operator"), 0o600);
    await waitForTcp(first.ip, 6443, 30_000);
    log("seeding the workload");
    await kubeMod.seedWorkload(text);
  }
  const tKube = Date.now();

  await writeInventory(paths, plan, etcd, variants, server);
  state.complete = true;
  await writeLabState(paths, state);
  lab.timings = {
    totalMs: Date.now() - t0,
    prepareMs: tPrepared - t0,
    bootMs: tBooted - tPrepared,
    nodeBootMs,
    nodeInstallMs,
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

/**
 * Every host path the lab may create (bind targets on the shared root, the layouts' links, /run/netns) and their
 * parents: what must look the same before `up` and after `down`.
 */
export function labHostPaths(stateDir?: string): string[] {
  const paths = labPaths(stateDir);
  const out = new Set<string>();
  const { stateDirs, hostLinks } = allVariantsHostNeeds();
  const binds = nodeBinds(planNodes(1, 0)[0] ?? fail(), paths, stateDirs, true);
  // Every bind target, also those inside another bind in some variant (/root/kubecycle-install under sshd's /root):
  // without that variant they lie on the host's root.
  const targets = [...binds.map((b) => b.target), ...hostLinks.map((l) => l.path)];
  for (const t of [...targets, NETNS_RUN_DIR]) for (let p = t; p !== "/"; p = dirname(p)) out.add(p);
  return [...out].sort();
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * What an operator copies to a node to install its agent from, as the README says: the unpacked release, the node's
 * part of `kubecycle pki`'s directory (ca.crt, agents/NODE.{crt,key}, laid out as there) and its config; the node sees
 * them in its own /root/kubecycle-install. Done before the node boots: it is host-side copying only.
 */
async function stageAgentInstall(
  n: NodePlan,
  paths: LabPaths,
  releaseDir: string,
  agentConfig: Record<string, unknown> | undefined,
): Promise<void> {
  const staged = join(paths.node(n.name), "install");
  await cp(releaseDir, staged, { recursive: true });
  await mkdir(join(staged, "pki", "agents"), { recursive: true, mode: 0o700 });
  for (const file of ["ca.crt", `agents/${n.kubeName}.crt`, `agents/${n.kubeName}.key`]) {
    await copyFile(join(paths.pki, file), join(staged, "pki", file));
  }
  await writeAgentConfig(join(staged, "agent.yaml"), {
    nodeName: n.kubeName,
    listenAddress: n.ip,
    port: AGENT_PORT,
    // Every agent reports to the lab's serve endpoint; quick retries, so a serve started late hears soon.
    config: {
      report: { endpoints: [SERVE_ENDPOINT], initialBackoffMs: 500, maxBackoffMs: 5000 },
      ...agentConfig,
    },
  });
}

/**
 * Installs the agent in a booted node the way the README tells a user: the release's `kubecycle-agent install` run in
 * the node as root, from what {@link stageAgentInstall} copied there. It copies the program into the node's
 * /usr/local/bin, the config and certificates into /etc/kubecycle, writes the unit, enables it for the node's later
 * boots and starts it. Nothing of the checkout is in the node.
 */
async function installAgent(lab: Lab, n: NodePlan): Promise<void> {
  const args = agentInstallArgs({
    program: join(IN_NODE_INSTALL, "package", AGENT_ENTRY),
    nodeName: n.kubeName,
    pkiDir: join(IN_NODE_INSTALL, "pki"),
    configFile: join(IN_NODE_INSTALL, "agent.yaml"),
  });
  const r = await lab.node(n.name).exec(args, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${n.name}: ${args.join(" ")} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
}

/** One node from its parts: the agent's, the etcd layout's, the kube stand-ins' (with the runtime), sshd's. */
async function prepareNode(
  n: NodePlan,
  plan: readonly NodePlan[],
  paths: LabPaths,
  variants: LabVariants,
  kube: KubeModule | undefined,
  opts: LabOptions,
): Promise<NodeSetup> {
  const { etcd, stateDirs } = resolveVariants(variants);
  const masters = plan.filter((m) => m.role === "master");
  const parts: NodeParts[] = [await agentParts(n, paths, stateDirs), await etcd.nodeParts({ node: n, masters, paths })];
  if (kube) {
    parts.push(
      await kubeParts(kube, {
        node: n,
        masters,
        paths,
        etcd,
        runtime: variants.runtime,
        ...(opts.kubeNodeGraceSeconds !== undefined ? { nodeGraceSeconds: opts.kubeNodeGraceSeconds } : {}),
        ...(opts.approveKubeletCsrsRbac ? { rbacOptIns: [RBAC_APPROVE_KUBELET_CSRS] } : {}),
      }),
    );
  }
  if (variants.sshd) parts.push(await sshdParts(n, paths));
  return assembleNode(n, nodeBinds(n, paths, stateDirs, kube !== undefined), parts);
}

/** "kubekey layout, containerd, short names" and so on, for progress lines. */
export function describeVariants(v: LabVariants): string {
  const parts = [`${v.layout} layout`, v.kube ? v.runtime : "no kube stand-ins", `${v.nodeNames} names`];
  if (v.sshd) parts.push("sshd");
  return parts.join(", ");
}

async function makeKubecyclePki(paths: LabPaths, plan: readonly NodePlan[]): Promise<void> {
  await createCa(paths.pki, { commonName: "kubecycle-lab-ca" });
  await Promise.all([
    ...plan.map((n) => issueAgentCert(paths.pki, { node: n.kubeName, ips: [n.ip] })),
    issueClientCert(paths.pki, { name: OPERATOR_CLIENT, role: "operator" }),
    issueClientCert(paths.pki, { name: VIEWER_CLIENT, role: "viewer" }),
    issueServeCert(paths.pki, { name: SERVE_CERT_NAME, ips: [BRIDGE_ADDRESS] }),
  ]);
}

/** A node's boot budget when `nodes` boot at once on this machine's few cores. */
function defaultBootTimeoutMs(nodes: number): number {
  return 60_000 + 3_000 * Math.max(0, nodes - 5);
}

function fail(): never {
  throw new Error("a lab has at least one node");
}
