// What `kubecycle doctor` asks a node that the other reads do not tell: a unit's journal, the node's clock, how full
// the disks under its data directories are, and whether it reaches the endpoints its own configuration names. Every
// target here comes from the node (the allow-list, the layout, the kubelet's kubeconfig, etcd's initial cluster),
// never from the caller: a read must not become a way to look at any file or dial any address.
import { access, readdir, readFile, stat, statfs } from "node:fs/promises";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import {
  KubecycleError,
  allowedUnit,
  type Clock__Output,
  type NetworkProbe__Output,
  type PathUsage__Output,
} from "../shared/index.js";
import type { EtcdConfig } from "./layout.js";
import type { UnitManager } from "./systemd/unit-manager.js";

/** The most journal lines one ReadJournal may ask for: enough to see a crash loop, never a dump of the journal. */
export const MAX_JOURNAL_LINES = 500;

/** The newest `lines` (default `fallback`, at most {@link MAX_JOURNAL_LINES}) of an allow-listed unit's journal. */
export async function readJournal(
  manager: UnitManager,
  allow: readonly string[],
  raw: { unit?: string; lines?: number },
  fallback: number,
  signal?: AbortSignal,
): Promise<{ unit: string; lines: string[] }> {
  const unit = allowedUnit(raw.unit, allow);
  const asked = raw.lines ?? 0;
  if (asked > MAX_JOURNAL_LINES) {
    throw new KubecycleError("INVALID_REQUEST", `lines: at most ${MAX_JOURNAL_LINES}, got ${asked}`, {
      field: "lines",
    });
  }
  return { unit, lines: await manager.journal(unit, asked > 0 ? asked : fallback, signal) };
}

// systemd-timesyncd's own state: the directory exists while it runs, the file once it has synchronized.
const TIMESYNC_DIR = "/run/systemd/timesync";

/** The node's wall clock now, and whether systemd-timesyncd says it is synchronized (when it runs). */
export async function readClock(timesyncDir = TIMESYNC_DIR): Promise<Clock__Output> {
  const exists = (p: string) =>
    access(p).then(
      () => true,
      () => false,
    );
  const [known, synchronized] = await Promise.all([exists(timesyncDir), exists(join(timesyncDir, "synchronized"))]);
  return { unixMs: Date.now(), timeSynchronized: synchronized, timeSyncKnown: known };
}

/** Where the node keeps its data, as its layout and the runtimes' own configuration say. */
export interface DataDirSources {
  etcd: EtcdConfig;
  /** The runtime's kind from the layout: "containerd", "docker" or "". */
  runtimeKind: string;
  /** The kubelet's unit exists. */
  kubelet: boolean;
  /** Read a runtime's config file (injected for tests). Default: the file system. */
  readConfig?: (path: string) => Promise<string>;
}

/** containerd's `root` (top-level key of /etc/containerd/config.toml), else its default. */
export function containerdRoot(toml: string): string {
  // The root key sits before the first [section]; a TOML parser is not needed for one string key.
  const top = toml.split(/^\s*\[/m)[0] ?? "";
  const m = /^\s*root\s*=\s*(["'])(.+?)\1\s*$/m.exec(top);
  return m?.[2] ?? "/var/lib/containerd";
}

/** docker's `data-root` of /etc/docker/daemon.json (or the older `graph`), else its default. */
export function dockerRoot(json: string): string {
  try {
    const doc = JSON.parse(json) as Record<string, unknown>;
    const root = doc["data-root"] ?? doc.graph;
    return typeof root === "string" && root.startsWith("/") ? root : "/var/lib/docker";
  } catch {
    return "/var/lib/docker";
  }
}

/** The data directories of this node, by purpose: etcd's (from its layout), the runtime's, the kubelet's. */
export async function dataDirs(src: DataDirSources): Promise<Array<{ purpose: string; path: string }>> {
  const read = src.readConfig ?? ((p: string) => readFile(p, "utf8"));
  const out: Array<{ purpose: string; path: string }> = [];
  if (src.etcd.mode !== "none" && src.etcd.dataDir) out.push({ purpose: "etcd-data", path: src.etcd.dataDir });
  if (src.runtimeKind === "docker") {
    out.push({ purpose: "docker", path: dockerRoot(await read("/etc/docker/daemon.json").catch(() => "")) });
  }
  // docker nodes run containerd too (docker's own), under containerd's root.
  if (src.runtimeKind === "containerd" || src.runtimeKind === "docker") {
    out.push({
      purpose: "containerd",
      path: containerdRoot(await read("/etc/containerd/config.toml").catch(() => "")),
    });
  }
  if (src.kubelet) out.push({ purpose: "kubelet", path: "/var/lib/kubelet" });
  return out;
}

/** The nearest existing directory at or above `path`. */
async function nearestExisting(path: string): Promise<{ dir: string; exists: boolean }> {
  for (let p = path; ; p = dirname(p)) {
    try {
      if ((await stat(p)).isDirectory()) return { dir: p, exists: p === path };
    } catch {
      // not there: try its parent
    }
    if (dirname(p) === p) return { dir: p, exists: false };
  }
}

/** Disk and inode usage of the file system holding `path` (or its nearest existing parent); etcd's files for etcd. */
export async function pathUsage(purpose: string, path: string): Promise<PathUsage__Output> {
  const base: PathUsage__Output = {
    purpose,
    path,
    exists: false,
    measured: "",
    sizeBytes: 0,
    availableBytes: 0,
    inodes: 0,
    inodesFree: 0,
    etcdWalFiles: 0,
    etcdDbBytes: 0,
    error: "",
  };
  try {
    const { dir, exists } = await nearestExisting(path);
    const fs = await statfs(dir);
    const out: PathUsage__Output = {
      ...base,
      exists,
      measured: dir,
      sizeBytes: fs.blocks * fs.bsize,
      availableBytes: fs.bavail * fs.bsize,
      inodes: fs.files,
      inodesFree: fs.ffree,
    };
    if (purpose === "etcd-data" && exists) {
      const wal = await readdir(join(path, "member", "wal")).catch(() => []);
      out.etcdWalFiles = wal.filter((f) => f.endsWith(".wal")).length;
      out.etcdDbBytes = await stat(join(path, "member", "snap", "db")).then(
        (s) => s.size,
        () => 0,
      );
    }
    return out;
  } catch (err) {
    return { ...base, error: (err as Error).message };
  }
}

/** Host and port of a URL; the port by its scheme when it names none (https 443, http 80). */
export function hostPort(url: string): { host: string; port: number } | undefined {
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
    if (host === "") return undefined;
    return { host, port: u.port ? Number(u.port) : u.protocol === "http:" ? 80 : 443 };
  } catch {
    return undefined;
  }
}

/** The server of a kubeconfig's current context (else its first cluster's). */
export function kubeconfigServer(text: string): string | undefined {
  try {
    const doc = parse(text, { maxAliasCount: 50 }) as {
      "current-context"?: string;
      contexts?: Array<{ name?: string; context?: { cluster?: string } }>;
      clusters?: Array<{ name?: string; cluster?: { server?: string } }>;
    };
    const ctx = doc.contexts?.find((c) => c.name === doc["current-context"])?.context;
    const cluster = doc.clusters?.find((c) => c.name === ctx?.cluster) ?? doc.clusters?.[0];
    const server = cluster?.cluster?.server;
    return typeof server === "string" ? server : undefined;
  } catch {
    return undefined;
  }
}

/** The peers of an initial cluster ("name=url,name=url"), the local member's own URLs left out. */
export function initialClusterPeers(
  initialCluster: string,
  ownUrls: readonly string[],
): Array<{ name: string; url: string }> {
  return initialCluster
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.includes("="))
    .map((entry) => ({ name: entry.slice(0, entry.indexOf("=")), url: entry.slice(entry.indexOf("=") + 1) }))
    .filter((p) => !ownUrls.includes(p.url));
}

/** A TCP connection to host:port within `timeoutMs`: whether it was accepted, and how fast. */
export function tcpProbe(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<{ ok: boolean; ms: number; error: string }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean, error: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, ms: Date.now() - t0, error });
    };
    const timer = setTimeout(() => done(false, `timed out after ${timeoutMs} ms`), timeoutMs);
    socket.once("connect", () => done(true, ""));
    socket.once("error", (err: NodeJS.ErrnoException) =>
      done(
        false,
        err.code === "ECONNREFUSED"
          ? "connection refused"
          : err.code === "EHOSTUNREACH"
            ? "no route to host"
            : err.message,
      ),
    );
  });
}

/** What ProbeNetwork dials: the kubelet's API server and the local etcd member's peers, as the node names them. */
export async function networkTargets(src: {
  etcd: EtcdConfig;
  kubeletKubeconfig: string;
  kubelet: boolean;
}): Promise<Array<{ purpose: string; name: string; host: string; port: number }>> {
  const out: Array<{ purpose: string; name: string; host: string; port: number }> = [];
  if (src.kubelet) {
    const server = kubeconfigServer(await readFile(src.kubeletKubeconfig, "utf8").catch(() => ""));
    const hp = server ? hostPort(server) : undefined;
    if (hp) out.push({ purpose: "kube-apiserver", name: server ?? "", ...hp });
  }
  if (src.etcd.mode !== "none") {
    for (const peer of initialClusterPeers(src.etcd.initialCluster, src.etcd.peerUrls)) {
      const hp = hostPort(peer.url);
      if (hp) out.push({ purpose: "etcd-peer", name: `etcd member ${peer.name}`, ...hp });
    }
  }
  return out;
}

/** Dials every target at once. */
export async function probeNetwork(
  targets: ReadonlyArray<{ purpose: string; name: string; host: string; port: number }>,
  timeoutMs: number,
): Promise<NetworkProbe__Output[]> {
  return Promise.all(
    targets.map(async (t) => {
      const r = await tcpProbe(t.host, t.port, timeoutMs);
      const target = t.host.includes(":") ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
      return { purpose: t.purpose, target, name: t.name, reachable: r.ok, latencyMs: r.ms, error: r.error };
    }),
  );
}

/** What {@link NodeDiagnostics} reads from the rest of the agent. */
export interface DiagnosticsDeps {
  manager: UnitManager;
  allow: readonly string[];
  journalLines: number;
  kubeletKubeconfig: string;
  /** The node's layout now: etcd's configuration, the runtime's kind, whether the kubelet's unit exists. */
  layout: (signal?: AbortSignal) => Promise<{ etcd: EtcdConfig; runtimeKind: string; kubelet: boolean }>;
}

/** The doctor's reads on one node. */
export class NodeDiagnostics {
  readonly #d: DiagnosticsDeps;

  constructor(deps: DiagnosticsDeps) {
    this.#d = deps;
  }

  journal(req: { unit?: string; lines?: number }, signal?: AbortSignal): Promise<{ unit: string; lines: string[] }> {
    return readJournal(this.#d.manager, this.#d.allow, req, this.#d.journalLines, signal);
  }

  clock(): Promise<Clock__Output> {
    return readClock();
  }

  async diskUsage(signal?: AbortSignal): Promise<PathUsage__Output[]> {
    const l = await this.#d.layout(signal);
    const dirs = await dataDirs({ etcd: l.etcd, runtimeKind: l.runtimeKind, kubelet: l.kubelet });
    return Promise.all(dirs.map((d) => pathUsage(d.purpose, d.path)));
  }

  async network(timeoutMs: number, signal?: AbortSignal): Promise<NetworkProbe__Output[]> {
    const l = await this.#d.layout(signal);
    const targets = await networkTargets({
      etcd: l.etcd,
      kubelet: l.kubelet,
      kubeletKubeconfig: this.#d.kubeletKubeconfig,
    });
    return probeNetwork(targets, timeoutMs);
  }
}
