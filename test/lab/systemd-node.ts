// A real systemd as PID 1 in fresh PID+mount+UTS+IPC namespaces (optionally inside a named network namespace):
// the lab's node. systemd sees only the lab's minimal units plus the caller's, runs in its own cgroup subtree
// /sys/fs/cgroup/<hierarchy>/<name>, and keeps every mount in the node's private mount namespace. The mount and
// cgroup set-up is done by systemd-node-init.sh, which then execs systemd; see the traps it documents.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  access,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  rm,
  rmdir,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { isAbsolute, join, posix, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  PATH_ENV,
  cgroupHierarchies,
  cgroupPids,
  exists,
  firstChild,
  killQuietly,
  pidNamespaceAlive,
  run,
  sleep,
  subtree,
} from "./host.js";

/** A host path made visible inside the node before systemd starts. */
export interface Bind {
  source: string;
  /** Absolute path inside the node; created if missing (on the shared root that leaves an empty mount point). */
  target: string;
  /** Default false. */
  readOnly?: boolean;
}

/** How to boot a node. */
export interface BootOptions {
  /** Cgroup subtree name (and the host name, unless `hostname`), [a-z0-9-]; unique among running nodes. */
  name: string;
  /** The node's UTS host name (at most 64 characters); default `name`. */
  hostname?: string;
  /** Host directory for the node's writable state (created if missing); keeps /etc/systemd/system across boots. */
  stateDir: string;
  /** Extra bind mounts, applied in the node's mount namespace before systemd starts. */
  binds?: Bind[];
  /** Unit name -> content, written to the node's /etc/systemd/system before boot. */
  unitFiles?: Record<string, string>;
  /** Units enabled before boot (symlinks as `systemctl enable` makes them, per [Install]), so they start at boot. */
  enable?: string[];
  /** Name of a network namespace in /var/run/netns to boot in; default: the host's network namespace. */
  netns?: string;
  /** Time allowed from spawn to the boot target being active; default 10000. */
  bootTimeoutMs?: number;
}

/** Outcome of a command run inside a node. */
export interface ExecResult {
  /** Exit code; 128+N when killed by signal N. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link SystemdNode.exec}. */
export interface ExecOptions {
  /** Written to the command's stdin; default: empty stdin. */
  input?: string;
  /** The command (and everything it started in its process group) is killed after this; default 30000. */
  timeoutMs?: number;
  /** Added to the minimal environment (PATH, LANG). */
  env?: Record<string, string>;
}

/** A booted node. */
export interface SystemdNode {
  readonly name: string;
  /** Host pid of the node's PID 1 (systemd). */
  readonly pid: number;
  /** The node's PID namespace, as readlink /proc/<pid>/ns/pid shows it ("pid:[4026532...]"). */
  readonly pidNamespace: string;
  /** Milliseconds from spawn to the boot target being active. */
  readonly bootMs: number;
  /** Host path of the log that receives the init script's and systemd's console output. */
  readonly consoleLog: string;
  /** Runs argv inside all the node's namespaces; never through a shell. Does not throw on a non-zero exit. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** `systemctl ARGS...` inside the node. */
  systemctl(...args: string[]): Promise<ExecResult>;
  /** `systemctl show -p A,B unit`, parsed; throws if systemctl fails. */
  show(unit: string, props: string[]): Promise<Record<string, string>>;
  /** Polls {@link show} until pred holds; throws with the last state after timeoutMs. */
  waitFor(
    unit: string,
    pred: (p: Record<string, string>) => boolean,
    props: string[],
    timeoutMs: number,
  ): Promise<Record<string, string>>;
  /** Writes a file as seen inside the node; refuses paths on the root file system shared with the host. */
  writeFile(pathInNode: string, content: string, mode?: number): Promise<void>;
  /** `systemctl daemon-reload`; throws if it fails. */
  daemonReload(): Promise<void>;
  /** Kills everything in the node, waits until its PID namespace is gone, removes its cgroups; idempotent. */
  shutdown(): Promise<void>;
}

/** The unit the node boots; it pulls in multi-user.target, so [Install] WantedBy=multi-user.target works. */
export const BOOT_TARGET = "kubecycle-lab.target";

const INIT_SCRIPT = fileURLToPath(new URL("./systemd-node-init.sh", import.meta.url));
const NODE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]+\.(service|socket|target|timer|path|mount|slice|scope)$/;
const TEARDOWN_TIMEOUT_MS = 10_000;
const POLL_MS = 10;

/** Boots a node and resolves once its boot target is active. */
export async function bootSystemdNode(opts: BootOptions): Promise<SystemdNode> {
  const started = Date.now();
  const { name } = opts;
  if (!NODE_NAME.test(name)) throw new Error(`node name ${JSON.stringify(name)} must match ${NODE_NAME}`);
  if (opts.netns !== undefined && !/^[A-Za-z0-9_.-]+$/.test(opts.netns)) {
    throw new Error(`netns ${JSON.stringify(opts.netns)} is not a plain name`);
  }
  const stateDir = resolve(opts.stateDir);
  const bootTimeoutMs = opts.bootTimeoutMs ?? 10_000;
  const deadline = started + bootTimeoutMs;

  await ensureNoRunningNode(name);
  await prepareStateDir(stateDir, name, opts);
  const bindArgs: string[] = [];
  for (const b of opts.binds ?? []) {
    if (!isAbsolute(b.target)) throw new Error(`bind target ${b.target} is not absolute`);
    const source = resolve(b.source);
    await access(source).catch(() => {
      throw new Error(`bind source ${source} does not exist`);
    });
    bindArgs.push(b.readOnly ? "--ro-bind" : "--bind", source, b.target);
  }

  const consoleLog = join(stateDir, "console.log");
  const log = await open(consoleLog, "a");
  // Its own time namespace, its clocks since boot set back to about zero: the node's uptime and boot time are its
  // own (what kubecycle status shows), not the host's.
  const sinceHostBoot = `-${Math.floor(Number((await readFile("/proc/uptime", "utf8")).split(" ")[0]))}`;
  const argv = [
    ...(opts.netns !== undefined ? ["nsenter", `--net=/var/run/netns/${opts.netns}`] : []),
    "unshare",
    "--pid",
    "--fork",
    "--mount",
    "--uts",
    "--ipc",
    "--mount-proc",
    "--time",
    "--boottime",
    sinceHostBoot,
    "--monotonic",
    sinceHostBoot,
    "/bin/sh",
    INIT_SCRIPT,
    name,
    stateDir,
    BOOT_TARGET,
    ...bindArgs,
  ];
  const [cmd, ...args] = argv as [string, ...string[]];
  // Own session: a Ctrl-C aimed at the test runner must not reach the node half-way; teardown is explicit.
  const child = spawn(cmd, args, {
    cwd: "/",
    stdio: ["ignore", log.fd, log.fd],
    detached: true,
    env: { PATH: PATH_ENV },
  });
  await log.close();
  child.unref();
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = signal ? `signal ${signal}` : `code ${code}`));
  child.once("error", (err) => (exited = String(err)));

  const fail = async (why: string): Promise<never> => {
    const tail = (await readFile(consoleLog, "utf8").catch(() => "")).split("\n").slice(-40).join("\n");
    if (child.pid !== undefined && exited === undefined) {
      const pid1 = await firstChild(child.pid);
      if (pid1 !== undefined) killQuietly(pid1);
    }
    await removeNode(name, Date.now() + TEARDOWN_TIMEOUT_MS).catch(() => undefined);
    throw new Error(`node ${name}: ${why}\n--- ${consoleLog} (tail) ---\n${tail}`);
  };

  if (child.pid === undefined) return fail(`could not spawn ${cmd}: ${exited ?? "unknown error"}`);
  // unshare --fork: the node's PID 1 is unshare's only child.
  let pid: number | undefined;
  while (pid === undefined) {
    if (exited !== undefined) return fail(`init exited early (${exited})`);
    if (Date.now() > deadline) return fail(`no PID 1 within ${bootTimeoutMs} ms`);
    pid = await firstChild(child.pid);
    if (pid === undefined) await sleep(2);
  }
  const pidNamespace = await readlink(`/proc/${pid}/ns/pid`);

  // systemctl needs systemd's private socket; until it exists, any systemctl call fails at once.
  const privateSocket = `/proc/${pid}/root/run/systemd/private`;
  for (;;) {
    if (exited !== undefined) return fail(`init exited during boot (${exited})`);
    if (Date.now() > deadline) return fail(`systemd did not open its private socket within ${bootTimeoutMs} ms`);
    const st = await stat(privateSocket).catch(() => undefined);
    if (st?.isSocket()) break;
    await sleep(POLL_MS);
  }

  const node = makeNode({
    name,
    pid,
    pidNamespace,
    netns: opts.netns,
    consoleLog,
  });
  let why: string | undefined;
  try {
    // Returns once the boot job queue is empty: "running", or "degraded" if some unit failed.
    const wait = await node.exec(["systemctl", "is-system-running", "--wait"], {
      timeoutMs: Math.max(deadline - Date.now(), 1),
    });
    const target = await node.exec(["systemctl", "is-active", BOOT_TARGET]);
    if (target.stdout.trim() !== "active") {
      const failed = await node.exec(["systemctl", "list-units", "--failed", "--no-legend", "--plain"]);
      why = `${BOOT_TARGET} is ${target.stdout.trim() || "unknown"} (system ${wait.stdout.trim() || wait.stderr.trim()}); failed units:\n${failed.stdout}`;
    }
  } catch (err) {
    why = `${BOOT_TARGET} not reached within ${bootTimeoutMs} ms: ${String(err)}`;
  }
  if (why !== undefined) return fail(why);
  node.setBootMs(Date.now() - started);
  return node;
}

/**
 * Kills the processes and removes the cgroups of every node whose name starts with prefix, e.g. left behind by a
 * test runner that was SIGKILLed. Finds them through /sys/fs/cgroup/<hierarchy>/<prefix>*.
 */
export async function cleanupStaleNodes(namePrefix: string): Promise<void> {
  // An empty or odd prefix would match the host's own cgroups (e.g. /sys/fs/cgroup/memory/process_api).
  if (!NODE_NAME.test(namePrefix)) throw new Error(`prefix ${JSON.stringify(namePrefix)} must match ${NODE_NAME}`);
  const names = new Set<string>();
  for (const h of await cgroupHierarchies()) {
    for (const e of await readdir(h, { withFileTypes: true })) {
      if (e.isDirectory() && e.name.startsWith(namePrefix) && NODE_NAME.test(e.name)) names.add(e.name);
    }
  }
  const deadline = Date.now() + TEARDOWN_TIMEOUT_MS;
  await Promise.all([...names].map((n) => removeNode(n, deadline)));
}

// ---------------------------------------------------------------------------------------------------------------

interface NodeInit {
  name: string;
  pid: number;
  pidNamespace: string;
  netns: string | undefined;
  consoleLog: string;
}

function makeNode(init: NodeInit): SystemdNode & { setBootMs(ms: number): void } {
  const { name, pid, pidNamespace, netns } = init;
  let bootMs = Number.NaN;
  let stopping: Promise<void> | undefined;

  const exec = async (argv: string[], o: ExecOptions = {}): Promise<ExecResult> => {
    if (argv.length === 0) throw new Error("exec: empty argv");
    const ns = ["-t", String(pid), "-m", "-u", "-i", "-p", "-T", ...(netns !== undefined ? ["-n"] : [])];
    return run("nsenter", [...ns, "--", ...argv], o);
  };
  const systemctl = (...args: string[]): Promise<ExecResult> => exec(["systemctl", ...args]);
  const show = async (unit: string, props: string[]): Promise<Record<string, string>> => {
    const r = await exec(["systemctl", "show", "-p", props.join(","), "--", unit]);
    if (r.code !== 0) throw new Error(`node ${name}: systemctl show ${unit} failed (${r.code}): ${r.stderr.trim()}`);
    const out: Record<string, string> = {};
    for (const line of r.stdout.split("\n")) {
      const i = line.indexOf("=");
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  };

  return {
    name,
    pid,
    pidNamespace,
    get bootMs() {
      return bootMs;
    },
    consoleLog: init.consoleLog,
    setBootMs(ms: number) {
      bootMs = ms;
    },
    exec,
    systemctl,
    show,
    async waitFor(unit, pred, props, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const p = await show(unit, props);
        if (pred(p)) return p;
        if (Date.now() > deadline) {
          throw new Error(
            `node ${name}: ${unit} not in the expected state after ${timeoutMs} ms; last: ${JSON.stringify(p)}`,
          );
        }
        await sleep(20);
      }
    },
    async writeFile(pathInNode, content, mode = 0o644) {
      const path = posix.normalize(pathInNode);
      if (!posix.isAbsolute(path)) throw new Error(`writeFile: ${pathInNode} is not absolute`);
      const mnt = await mountPointOf(pid, path);
      if (mnt === "/") {
        throw new Error(
          `node ${name}: ${path} is on the root file system shared with the host and every node; bind a per-node directory over its parent`,
        );
      }
      // Inside the node, so that its mounts and symlinks resolve as the node sees them.
      const r = await exec(["/bin/sh", "-c", 'cat > "$1" && chmod "$2" "$1"', "sh", path, mode.toString(8)], {
        input: content,
      });
      if (r.code !== 0) throw new Error(`node ${name}: writing ${path} failed (${r.code}): ${r.stderr.trim()}`);
    },
    async daemonReload() {
      const r = await systemctl("daemon-reload");
      if (r.code !== 0) throw new Error(`node ${name}: daemon-reload failed (${r.code}): ${r.stderr.trim()}`);
    },
    shutdown() {
      stopping ??= (async () => {
        const deadline = Date.now() + TEARDOWN_TIMEOUT_MS;
        // Only if pid is still our PID 1: after the node died the number may belong to someone else.
        if ((await readlink(`/proc/${pid}/ns/pid`).catch(() => undefined)) === pidNamespace) {
          // SIGKILL to a PID namespace's init kills every process in the namespace.
          killQuietly(pid);
        }
        while (await pidNamespaceAlive(pidNamespace)) {
          if (Date.now() > deadline) throw new Error(`node ${name}: processes of ${pidNamespace} survive SIGKILL`);
          await sleep(POLL_MS);
        }
        await removeNode(name, deadline);
      })();
      return stopping;
    },
  };
}

async function prepareStateDir(stateDir: string, name: string, opts: BootOptions): Promise<void> {
  const etcUnits = join(stateDir, "etc/systemd/system");
  await mkdir(etcUnits, { recursive: true });
  await mkdir(join(stateDir, "var/lib/systemd"), { recursive: true });
  await mkdir(join(stateDir, "empty"), { recursive: true });
  // The lab's own units are regenerated on every boot; the caller's live in etc/systemd/system.
  const units = join(stateDir, "units");
  await rm(units, { recursive: true, force: true });
  await mkdir(units);
  for (const [file, content] of Object.entries(LAB_UNITS)) await writeFile(join(units, file), content);
  await symlink(BOOT_TARGET, join(units, "default.target"));

  const hostname = opts.hostname ?? name;
  if (!/^[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?$/.test(hostname)) {
    throw new Error(`host name ${JSON.stringify(hostname)} is not a Linux host name of at most 64 characters`);
  }
  await writeFile(join(stateDir, "hostname"), `${hostname}\n`);
  const machineId = join(stateDir, "machine-id");
  // Kept across boots, like a real machine's; the journal directory is named after it.
  if (!(await exists(machineId))) await writeFile(machineId, `${randomBytes(16).toString("hex")}\n`);
  await writeFile(join(stateDir, "journald.conf"), JOURNALD_CONF);
  await writeFile(join(stateDir, "console.log"), "");

  for (const [unit, content] of Object.entries(opts.unitFiles ?? {})) {
    if (!UNIT_NAME.test(unit)) throw new Error(`unit file name ${JSON.stringify(unit)} is not a unit name`);
    await writeFile(join(etcUnits, unit), content);
  }
  for (const unit of opts.enable ?? []) await enableOffline(etcUnits, unit);
}

/** What `systemctl enable` does for [Install] WantedBy=/RequiredBy= (no Alias=/Also=); without [Install], the boot target wants it. */
async function enableOffline(etcUnits: string, unit: string): Promise<void> {
  if (!UNIT_NAME.test(unit)) throw new Error(`enable: ${JSON.stringify(unit)} is not a unit name`);
  const instance = /^([^@]+@)[^@]+(\.[a-z]+)$/.exec(unit);
  const file = instance ? `${instance[1]}${instance[2]}` : unit;
  const content = await readFile(join(etcUnits, file), "utf8").catch(() => {
    throw new Error(`enable: ${file} is neither in unitFiles nor in ${etcUnits}`);
  });
  const wants = installTargets(content);
  const links = wants.length > 0 ? wants : [{ target: BOOT_TARGET, kind: "wants" }];
  for (const { target, kind } of links) {
    const dir = join(etcUnits, `${target}.${kind}`);
    await mkdir(dir, { recursive: true });
    await rm(join(dir, unit), { force: true });
    await symlink(`/etc/systemd/system/${file}`, join(dir, unit));
  }
}

function installTargets(content: string): { target: string; kind: "wants" | "requires" }[] {
  const out: { target: string; kind: "wants" | "requires" }[] = [];
  let inInstall = false;
  for (const raw of content.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) inInstall = line === "[Install]";
    else if (inInstall) {
      const m = /^(WantedBy|RequiredBy)\s*=\s*(.*)$/.exec(line);
      if (m) {
        for (const t of (m[2] ?? "").split(/\s+/).filter(Boolean)) {
          out.push({ target: t, kind: m[1] === "WantedBy" ? "wants" : "requires" });
        }
      }
    }
  }
  return out;
}

/** Refuses to boot over a live node of the same name; removes empty leftovers of a dead one. */
async function ensureNoRunningNode(name: string): Promise<void> {
  const pids = await cgroupPids(name);
  if (pids.length > 0) {
    throw new Error(`node ${name} is already running (pids ${pids.join(" ")}); shut it down or call cleanupStaleNodes`);
  }
  await removeCgroups(name, Date.now() + TEARDOWN_TIMEOUT_MS);
}

/** Kills every process in the node's cgroups until none is left, then removes the cgroups depth-first. */
async function removeNode(name: string, deadline: number): Promise<void> {
  for (;;) {
    const pids = await cgroupPids(name);
    if (pids.length === 0) break;
    if (Date.now() > deadline) throw new Error(`node ${name}: pids ${pids.join(" ")} survive SIGKILL`);
    pids.forEach((pid) => killQuietly(pid));
    await sleep(POLL_MS);
  }
  await removeCgroups(name, deadline);
}

async function removeCgroups(name: string, deadline: number): Promise<void> {
  for (const h of await cgroupHierarchies()) {
    const dirs = await subtree(join(h, name));
    // Deepest first: a cgroup with children cannot be removed.
    dirs.sort((a, b) => b.length - a.length);
    for (const d of dirs) {
      for (;;) {
        try {
          await rmdir(d);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === "ENOENT") break;
          // EBUSY while the last tasks of a SIGKILLed node are still exiting.
          if (code !== "EBUSY" || Date.now() > deadline) throw new Error(`rmdir ${d}: ${String(err)}`);
          await sleep(POLL_MS);
        }
      }
    }
  }
}

/** The mount point (as the node sees it) holding path, from the node's mountinfo; symlinks are not followed. */
async function mountPointOf(pid: number, path: string): Promise<string> {
  const info = await readFile(`/proc/${pid}/mountinfo`, "utf8");
  let best = "/";
  for (const line of info.split("\n")) {
    const mp = line.split(" ")[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp && (path === mp || path.startsWith(mp.endsWith("/") ? mp : `${mp}/`)) && mp.length > best.length) best = mp;
  }
  return best;
}

function unit(description: string, unitLines: string[], rest = ""): string {
  return `[Unit]\nDescription=${description}\n${unitLines.join("\n")}\n${rest}`;
}

function plainTargets(descriptions: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [file, description] of Object.entries(descriptions)) out[file] = unit(description, []);
  return out;
}

// The whole unit search path of the node's systemd, besides the caller's /etc/systemd/system: the targets units
// reference through default dependencies (a Requires= on a missing sysinit.target would fail every service) and
// journald, so that `journalctl -u` works. Nothing here touches the host.
const LAB_UNITS: Record<string, string> = {
  [BOOT_TARGET]: unit("kubecycle lab node", [
    "Requires=basic.target",
    "Wants=multi-user.target",
    "After=basic.target multi-user.target",
    "AllowIsolate=yes",
  ]),
  "multi-user.target": unit("Multi-User System", ["Requires=basic.target", "After=basic.target", "AllowIsolate=yes"]),
  "basic.target": unit("Basic System", [
    "Requires=sysinit.target",
    "Wants=sockets.target timers.target paths.target slices.target",
    "After=sysinit.target sockets.target timers.target paths.target slices.target",
  ]),
  "sysinit.target": unit("System Initialization", [
    "Wants=local-fs.target swap.target systemd-journald.service",
    "After=local-fs.target swap.target",
  ]),
  "sockets.target": unit("Sockets", ["Wants=systemd-journald.socket"]),
  "local-fs.target": unit("Local File Systems", ["After=local-fs-pre.target"]),
  ...plainTargets({
    "timers.target": "Timers",
    "paths.target": "Path Units",
    "slices.target": "Slice Units",
    "swap.target": "Swaps",
    "local-fs-pre.target": "Preparation for Local File Systems",
    "remote-fs.target": "Remote File Systems",
    "network-pre.target": "Preparation for Network",
    "network.target": "Network",
    "network-online.target": "Network is Online",
    "nss-lookup.target": "Host and Network Name Lookups",
    "time-set.target": "System Time Set",
    "time-sync.target": "System Time Synchronized",
  }),
  "shutdown.target": unit("System Shutdown", ["DefaultDependencies=no", "RefuseManualStart=yes"]),
  // `systemctl poweroff` (and halt) as on a real machine: every unit stopped, then the rest killed; systemd-shutdown
  // then ends PID 1, which in a PID namespace ends the node (reboot(2)). What is left is a powered-off node.
  "poweroff.target": unit("Power-Off", [
    "DefaultDependencies=no",
    "Requires=systemd-poweroff.service",
    "After=systemd-poweroff.service",
    "AllowIsolate=yes",
    "JobTimeoutSec=30min",
    "JobTimeoutAction=poweroff-force",
  ]),
  "systemd-poweroff.service": unit("Power-Off", [
    "DefaultDependencies=no",
    "Requires=shutdown.target umount.target final.target",
    "After=shutdown.target umount.target final.target",
    "SuccessAction=poweroff-force",
  ]),
  "halt.target": unit("System Halt", [
    "DefaultDependencies=no",
    "Requires=systemd-halt.service",
    "After=systemd-halt.service",
    "AllowIsolate=yes",
  ]),
  "systemd-halt.service": unit("System Halt", [
    "DefaultDependencies=no",
    "Requires=shutdown.target umount.target final.target",
    "After=shutdown.target umount.target final.target",
    "SuccessAction=halt-force",
  ]),
  "final.target": unit("Late Shutdown Services", [
    "DefaultDependencies=no",
    "RefuseManualStart=yes",
    "After=shutdown.target umount.target",
  ]),
  "umount.target": unit("Unmount All Filesystems", ["DefaultDependencies=no", "RefuseManualStart=yes"]),
  "systemd-journald.socket": unit(
    "Journal Socket",
    ["DefaultDependencies=no", "Before=sockets.target"],
    `[Socket]
ListenStream=/run/systemd/journal/stdout
ListenDatagram=/run/systemd/journal/socket
SocketMode=0666
PassCredentials=yes
PassSecurity=yes
ReceiveBuffer=8M
Service=systemd-journald.service
`,
  ),
  "systemd-journald.service": unit(
    "Journal Service",
    [
      "DefaultDependencies=no",
      "Requires=systemd-journald.socket",
      "After=systemd-journald.socket",
      "Before=sysinit.target",
    ],
    `[Service]
Type=notify
Sockets=systemd-journald.socket
ExecStart=/lib/systemd/systemd-journald
Restart=always
RestartSec=0
StandardOutput=null
FileDescriptorStoreMax=4224
`,
  ),
};

// Volatile (the host has /var/log/journal), and nothing forwarded to the host's kmsg, console or terminals.
// No rate limit: tests read back bursts of output.
const JOURNALD_CONF = `[Journal]
Storage=volatile
RuntimeMaxUse=32M
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitIntervalSec=0
`;
