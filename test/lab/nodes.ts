// A lab node: what it is made of before its first boot (the agent, its per-node state directories bound over the
// shared root, its own boot id) and the handle that finds it on the machine. The variants (the etcd layout, the
// runtime, sshd) add their parts through {@link NodeParts}; lab.ts puts them together.
import { chmod, copyFile, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { agentBinds, makeAgentDirs } from "./agent.js";
import { findNodePid1, run, type ProcessInfo, type RunOptions, type RunResult } from "./host.js";
import { AGENT_PORT, type LabPaths, type NodePlan } from "./layout.js";
import type { Bind } from "./systemd-node.js";

/** A directory (or file) of the node's own, bound over the shared root. Nodes share nothing writable. */
export interface StateDir {
  target: string;
  kind: "dir" | "file";
  mode?: number;
}

/** A file to create in a node before its first boot; its in-node path must lie under one of its writable binds. */
export interface NodeFile {
  path: string;
  mode: number;
  /** The content, or a host file to copy. */
  content?: string;
  copyFrom?: string;
}

/** What one concern (the agent, the etcd layout, the kube stand-ins, sshd) adds to a node before its first boot. */
export interface NodeParts {
  /** Unit name -> content, written to the node's /etc/systemd/system. */
  unitFiles?: Record<string, string>;
  /** Units enabled before boot (as `systemctl enable` would). */
  enable?: string[];
  files?: NodeFile[];
}

/** Everything a node is booted with the first time. */
export interface NodeSetup {
  binds: Bind[];
  unitFiles: Record<string, string>;
  enable: string[];
}

/** What every node has of its own, whatever its variant. */
export const COMMON_STATE: readonly StateDir[] = [
  { target: "/etc/kubernetes", kind: "dir" },
  { target: "/etc/kubecycle-lab", kind: "dir" },
  { target: "/var/lib/etcd", kind: "dir", mode: 0o700 },
  { target: "/var/lib/kubelet", kind: "dir" },
  { target: "/var/log", kind: "dir" },
];

/** The host directory name of a per-node state directory (`/etc/kubernetes` -> `etc-kubernetes`). */
export const stateName = (target: string): string => target.slice(1).replaceAll("/", "-");

/** Where the kube stand-ins' bundles are inside a node (read-only, shared). */
export const KUBE_BIN_DIR = "/opt/kubecycle-lab";

export const BOOT_ID_UNIT = "kubecycle-lab-boot-id.service";

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

/**
 * The binds of a node at every boot: the agent's, the per-node state directories (common ones first, then the
 * variants'), and read-only shared ones (the kube stand-ins' bundles).
 */
export function nodeBinds(n: NodePlan, paths: LabPaths, stateDirs: readonly StateDir[], kubeBin: boolean): Bind[] {
  const dir = paths.node(n.name);
  const binds: Bind[] = [...agentBinds(dir)];
  for (const s of stateDirs) binds.push({ source: join(dir, stateName(s.target)), target: s.target });
  if (kubeBin) binds.push({ source: paths.kubeBin, target: KUBE_BIN_DIR, readOnly: true });
  // Mounted in this order: a bind inside another (the agent's /root/kubecycle-install under sshd's own /root) must come
  // after it, or the outer one hides it. A stable sort by depth keeps the order of the rest.
  const depth = (b: Bind) => b.target.split("/").length;
  return binds.sort((a, b) => depth(a) - depth(b));
}

/** Bind targets that lie on the host's root (not inside another bind), i.e. must exist on the host. */
export function hostBindTargets(binds: readonly Bind[], stateDirs: readonly StateDir[]) {
  const out: Array<{ path: string; kind: "dir" | "file" }> = [];
  binds.forEach((b, i) => {
    const inside = binds.slice(0, i).some((o) => b.target.startsWith(`${o.target}/`));
    if (!inside) out.push({ path: b.target, kind: stateDirs.find((s) => s.target === b.target)?.kind ?? "dir" });
  });
  return out;
}

/**
 * The node's empty agent directories and the lab's boot-id drop-in for the agent's unit. The agent itself is installed
 * after boot from the release, as the README says (lab.ts, installAgents): nothing of the checkout is in the node.
 */
export async function agentParts(n: NodePlan, paths: LabPaths, stateDirs: readonly StateDir[]): Promise<NodeParts> {
  const dir = paths.node(n.name);
  await mkdir(dir, { recursive: true });
  await makeAgentDirs(dir);
  for (const s of stateDirs) {
    const p = join(dir, stateName(s.target));
    if (s.kind === "dir") await mkdir(p, { recursive: true, mode: s.mode ?? 0o755 });
    else await writeFile(p, "", { flag: "a" });
  }
  // An agent bind inside a per-node directory (/root/kubecycle-install in sshd's own /root) needs its mount point there.
  for (const b of agentBinds(dir)) {
    const outer = stateDirs.find((s) => b.target.startsWith(`${s.target}/`));
    if (outer) await mkdir(join(dir, stateName(outer.target), relative(outer.target, b.target)), { recursive: true });
  }
  const dropIns = join(dir, "etc/systemd/system/kubecycle-agent.service.d");
  await mkdir(dropIns, { recursive: true });
  await writeFile(join(dropIns, "kubecycle-lab-boot-id.conf"), AGENT_BOOT_ID_DROPIN);
  return { unitFiles: { [BOOT_ID_UNIT]: BOOT_ID_UNIT_FILE }, enable: [BOOT_ID_UNIT] };
}

/** Puts the parts together: writes their files through the node's writable binds; returns what to boot with. */
export async function assembleNode(n: NodePlan, binds: Bind[], parts: readonly NodeParts[]): Promise<NodeSetup> {
  const setup: NodeSetup = { binds, unitFiles: {}, enable: [] };
  for (const p of parts) {
    for (const [unit, content] of Object.entries(p.unitFiles ?? {})) {
      if (unit in setup.unitFiles) throw new Error(`node ${n.name}: two parts define ${unit}`);
      setup.unitFiles[unit] = content;
    }
    setup.enable.push(...(p.enable ?? []));
    for (const f of p.files ?? []) {
      const host = hostPathOf(binds, f.path, n.name);
      await mkdir(dirname(host), { recursive: true });
      if (f.copyFrom !== undefined) await copyFile(f.copyFrom, host);
      else await writeFile(host, f.content ?? "");
      // Explicitly: writeFile's mode only applies to a new file, and the umask applies to it.
      await chmod(host, f.mode);
    }
  }
  return setup;
}

/** The host path behind an in-node path, through the node's writable binds. */
export function hostPathOf(binds: readonly Bind[], inNode: string, node: string): string {
  const b = binds
    .filter((x) => !x.readOnly && (inNode === x.target || inNode.startsWith(`${x.target}/`)))
    .sort((x, y) => y.target.length - x.target.length)[0];
  if (!b) {
    const targets = binds.filter((x) => !x.readOnly).map((x) => x.target);
    throw new Error(`node ${node}: ${inNode} is not under a per-node writable directory (${targets.join(", ")})`);
  }
  return join(b.source, inNode.slice(b.target.length));
}

/** A lab node, found on the machine each time (so a handle works across processes and reboots). */
export class LabNode {
  /** The lab's name: cgroup, network namespace, state directory (see NodePlan). */
  readonly name: string;
  /** Its name in Kubernetes and to kubecycle (its agent's nodeName). */
  readonly kubeName: string;
  readonly role: NodePlan["role"];
  readonly ip: string;
  readonly netns: string;
  readonly hostVeth: string;
  readonly etcdMember: string | undefined;
  /** host:port of its agent. */
  readonly agentAddress: string;
  /** Host directory holding the node's persistent state. */
  readonly stateDir: string;
  readonly plan: NodePlan;

  constructor(plan: NodePlan, paths: LabPaths) {
    this.plan = plan;
    this.name = plan.name;
    this.kubeName = plan.kubeName;
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

  /** A unit's ActiveState, or "-" when the node has no such unit. */
  async unitState(unit: string): Promise<string> {
    const r = await this.exec(["systemctl", "show", "-p", "LoadState,ActiveState", "--value", unit]);
    const [load, active] = r.stdout.trim().split("\n");
    return load === "not-found" ? "-" : (active ?? "?");
  }

  toPlan(): NodePlan {
    return this.plan;
  }
}
