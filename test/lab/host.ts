// Host-side helpers of the lab: running commands (argv only, never a shell), bounded waits, and reading what is
// actually on the machine (/proc, cgroups, mounts), so that teardown works from the machine and not from a state file.
import { spawn } from "node:child_process";
import { constants as fsc } from "node:fs";
import { access, mkdir, open, readdir, readFile, readlink, rename } from "node:fs/promises";
import { connect } from "node:net";
import { constants as osc } from "node:os";
import { dirname, join } from "node:path";

/** Outcome of a command. */
export interface RunResult {
  /** Exit code; 128+N when killed by signal N. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Written to stdin; default empty. */
  input?: string;
  /** The command and its process group are killed after this; default 30000. */
  timeoutMs?: number;
  /** Added to the minimal environment (PATH, LANG). */
  env?: Record<string, string>;
  /** Default "/". */
  cwd?: string;
}

export const PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const CGROUP_ROOT = "/sys/fs/cgroup";

/** Runs argv on the host, collecting output; never throws on a non-zero exit, rejects on timeout. */
export function run(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: o.cwd ?? "/",
      env: { PATH: PATH_ENV, LANG: "C.UTF-8", ...o.env },
      stdio: ["pipe", "pipe", "pipe"],
      // Own process group, so a timeout also reaches what the command forked (nsenter's child in a node).
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdin.on("error", () => undefined); // EPIPE if the command does not read its input
    child.stdin.end(o.input ?? "");
    const timeoutMs = o.timeoutMs ?? 30_000;
    let timedOut = false;
    let lastResort: NodeJS.Timeout | undefined;
    const killGroup = (): void => {
      if (child.pid !== undefined) killQuietly(-child.pid);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid === undefined) return;
      // Kill what nsenter forked first, not nsenter: an orphan of nsenter would be reparented to the host's init,
      // and the node's PID 1 could not exit before that init reaped it.
      void firstChild(child.pid).then((kid) => (kid === undefined ? killGroup() : killQuietly(kid)));
      lastResort = setTimeout(killGroup, 1000);
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      clearTimeout(lastResort);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(lastResort);
      if (timedOut) {
        killGroup();
        reject(
          new Error(
            `${[cmd, ...args].join(" ")}: timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
          ),
        );
        return;
      }
      resolvePromise({ code: code ?? 128 + (signal ? osc.signals[signal] : 0), stdout, stderr });
    });
  });
}

/** {@link run}, throwing with the command's stderr unless it exits 0; returns stdout. */
export async function mustRun(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, o);
  if (r.code !== 0) {
    throw new Error(`${[cmd, ...args].join(" ")} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}

/** Options of {@link waitFor}. */
export interface WaitOptions {
  timeoutMs: number;
  /** Pause between probes; default 50. */
  intervalMs?: number;
}

/**
 * Polls probe until it returns something other than undefined. A probe that throws counts as "not yet"; after
 * timeoutMs the wait fails naming what it waited for and the last error.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, o: WaitOptions): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last === undefined ? "" : `: ${last instanceof Error ? last.message : JSON.stringify(last)}`;
      throw new Error(`timed out after ${o.timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(o.intervalMs ?? 50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function killQuietly(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export async function exists(path: string): Promise<boolean> {
  return access(path, fsc.F_OK).then(
    () => true,
    () => false,
  );
}

/** A process on the host, as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  comm: string;
  /** argv joined with spaces. */
  cmdline: string;
  /** Lines of /proc/PID/cgroup. */
  cgroups: string[];
  /** readlink of /proc/PID/ns/pid and ns/net. */
  pidNs: string;
  netNs: string;
  /** NSpid of /proc/PID/status: the pid in each nested PID namespace, outermost first. */
  nsPids: number[];
  /** Start time in clock ticks since boot: with the pid, identifies the process (pids are reused). */
  startTime: number;
}

/** Every process on the host (those that vanish while being read are skipped). */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const out: ProcessInfo[] = [];
  const pids = (await readdir("/proc")).filter((p) => /^\d+$/.test(p));
  await Promise.all(
    pids.map(async (p) => {
      const info = await processInfo(Number(p));
      if (info) out.push(info);
    }),
  );
  return out.sort((a, b) => a.pid - b.pid);
}

export async function processInfo(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const dir = `/proc/${pid}`;
    const [stat, comm, cmdline, cgroup, status, pidNs, netNs] = await Promise.all([
      readFile(`${dir}/stat`, "utf8"),
      readFile(`${dir}/comm`, "utf8"),
      readFile(`${dir}/cmdline`, "utf8"),
      readFile(`${dir}/cgroup`, "utf8"),
      readFile(`${dir}/status`, "utf8"),
      readlink(`${dir}/ns/pid`),
      readlink(`${dir}/ns/net`),
    ]);
    const nsLine = /^NSpid:\s*(.*)$/m.exec(status)?.[1] ?? String(pid);
    return {
      pid,
      comm: comm.trim(),
      cmdline: cmdline.split("\0").filter(Boolean).join(" "),
      cgroups: cgroup.split("\n").filter(Boolean),
      pidNs,
      netNs,
      nsPids: nsLine.trim().split(/\s+/).map(Number),
      // Field 22; the fields after the command's closing parenthesis start at field 3.
      startTime: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]),
    };
  } catch {
    return undefined;
  }
}

/** The cgroup hierarchies mounted on the host (v1 controllers, name=systemd, or the unified one). */
export async function cgroupHierarchies(): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(CGROUP_ROOT, { withFileTypes: true })) {
    if (e.isDirectory() && (await exists(join(CGROUP_ROOT, e.name, "cgroup.procs"))))
      out.push(join(CGROUP_ROOT, e.name));
  }
  // cgroup v2 only: the root itself is the hierarchy.
  if (out.length === 0 && (await exists(join(CGROUP_ROOT, "cgroup.procs")))) out.push(CGROUP_ROOT);
  return out;
}

/** Top-level cgroup directories whose name starts with prefix, in every hierarchy. */
export async function cgroupDirsWithPrefix(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const h of await cgroupHierarchies()) {
    for (const e of await readdir(h, { withFileTypes: true })) {
      if (e.isDirectory() && e.name.startsWith(prefix)) out.push(join(h, e.name));
    }
  }
  return out.sort();
}

/** Pids in the cgroup subtree named `name` of every hierarchy. */
export async function cgroupPids(name: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const h of await cgroupHierarchies()) {
    for (const d of await subtree(join(h, name))) {
      const text = await readFile(join(d, "cgroup.procs"), "utf8").catch(() => "");
      for (const p of text.split("\n")) if (p) pids.add(Number(p));
    }
  }
  return [...pids];
}

/** A cgroup directory and every directory below it. */
export async function subtree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return [];
  const out = [dir];
  for (const e of entries) if (e.isDirectory()) out.push(...(await subtree(join(dir, e.name))));
  return out;
}

/**
 * The host pid of a running node's PID 1 (its systemd), found from the machine: the process in the node's cgroup
 * subtree that is pid 1 of its own PID namespace. Undefined when the node is not running.
 */
export async function findNodePid1(name: string): Promise<ProcessInfo | undefined> {
  for (const pid of await cgroupPids(name)) {
    const info = await processInfo(pid);
    if (info && info.nsPids.length > 1 && info.nsPids[info.nsPids.length - 1] === 1) return info;
  }
  return undefined;
}

/** Whether any process still lives in the given PID namespace ("pid:[...]"). */
export async function pidNamespaceAlive(ns: string): Promise<boolean> {
  for (const p of await readdir("/proc")) {
    if (/^\d+$/.test(p) && (await readlink(`/proc/${p}/ns/pid`).catch(() => undefined)) === ns) return true;
  }
  return false;
}

/** Mount points as a process sees them (default: this process), decoded. */
export async function mountPoints(pid: number | "self" = "self"): Promise<string[]> {
  const info = await readFile(`/proc/${pid}/mountinfo`, "utf8");
  return info
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((mp): mp is string => mp !== undefined)
    .map((mp) => mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPoints()).includes(path);
}

/** The first child of a process (nsenter's command, a booting node's init). */
export async function firstChild(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
  const first = text.trim().split(/\s+/)[0];
  return first ? Number(first) : undefined;
}

/** Writes a file so that a crash never leaves it half-written: temp file, fsync, rename. */
export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, "w", mode);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** Waits until host:port accepts a TCP connection. */
export function waitForTcp(host: string, port: number, timeoutMs: number): Promise<true> {
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
