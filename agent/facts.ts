import { readFile, statfs } from "node:fs/promises";
import { cpus, hostname, networkInterfaces, release, uptime } from "node:os";
import type { Logger, NodeFacts__Output } from "../shared/index.js";

interface SlowFacts {
  os: string;
  kernel: string;
  cpuModel: string;
  cpuCores: number;
  disks: NodeFacts__Output["disks"];
  addresses: NodeFacts__Output["addresses"];
  collectedUnixMs: number;
}

const EMPTY_SLOW: SlowFacts = {
  os: "",
  kernel: "",
  cpuModel: "",
  cpuCores: 0,
  disks: [],
  addresses: [],
  collectedUnixMs: 0,
};

// Pseudo and container file systems say nothing about the node's disks.
const SKIP_FS =
  /^(tmpfs|devtmpfs|overlay|squashfs|proc|sysfs|cgroup2?|nsfs|fuse\..*|autofs|mqueue|debugfs|tracefs|securityfs|pstore|bpf|configfs|devpts|hugetlbfs|binfmt_misc|fusectl|ramfs|rpc_pipefs|efivarfs|selinuxfs)$/;
// A node with more mounts than this has mounts that are not its disks (containers' volumes).
const MAX_DISKS = 64;
// Memory is read at most this often, however many readers ask.
const MEMORY_TTL_MS = 1000;
// An explicit refresh within this long of the last one answers from it.
const MIN_REFRESH_MS = 5000;

/** MemTotal and MemAvailable of /proc/meminfo, in bytes. */
export function parseMeminfo(text: string): { total: number; available: number } {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(text);
    return m?.[1] ? Number(m[1]) * 1024 : 0;
  };
  return { total: kb("MemTotal"), available: kb("MemAvailable") };
}

/** The distribution's name from /etc/os-release: PRETTY_NAME, else NAME and VERSION_ID. */
export function parseOsRelease(text: string): string {
  const vars: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1]) vars[m[1]] = (m[2] ?? "").replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars.PRETTY_NAME ?? [vars.NAME, vars.VERSION_ID].filter(Boolean).join(" ");
}

/** The disk mounts of /proc/self/mounts: device-backed, not pseudo file systems, each device once. */
export function parseMounts(text: string): Array<{ mount: string; fsType: string }> {
  const seen = new Set<string>();
  const out: Array<{ mount: string; fsType: string }> = [];
  for (const line of text.split("\n")) {
    const [source, target, fsType] = line.split(" ");
    if (!source || !target || !fsType || SKIP_FS.test(fsType) || !source.startsWith("/")) continue;
    // Bind mounts repeat a device; the first mount of it stands for the disk.
    if (seen.has(source)) continue;
    seen.add(source);
    out.push({ mount: target.replace(/\\040/g, " "), fsType });
  }
  return out.slice(0, MAX_DISKS);
}

/**
 * Node facts from the kernel (/proc, statfs) and node:os. Nothing here starts a process, and nothing blocks the event
 * loop longer than a system call: a status read must never stall the agent (systeminformation ran `date` through a
 * synchronous shell on every read). The cheap facts are read per call (memory shared for a second); the slower ones
 * (OS, CPU, disks, addresses) in the background after the agent serves and then every refresh interval.
 */
export class FactsCollector {
  readonly #log: Logger;
  readonly #refreshMs: number;
  #slow: SlowFacts = EMPTY_SLOW;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #bootId: Promise<string> | undefined;
  #memory: { at: number; value: Promise<{ total: number; available: number }> } | undefined;

  constructor(opts: { log: Logger; refreshMs: number }) {
    this.#log = opts.log;
    this.#refreshMs = opts.refreshMs;
  }

  /** Begins background refreshes; the first runs at once. */
  start(): void {
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Re-reads the slower facts. Concurrent callers share one run, and a run younger than a few seconds is answered
   * from: asking for fresh facts costs nothing however often it is asked.
   */
  refresh(): Promise<void> {
    if (this.#refreshing) return this.#refreshing;
    if (Date.now() - this.#slow.collectedUnixMs < MIN_REFRESH_MS) return Promise.resolve();
    this.#refreshing = this.#collectSlow()
      .then((slow) => {
        this.#slow = slow;
      })
      .catch((err: unknown) => this.#log.warn({ err }, "collecting node facts failed"))
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** The kernel's boot id; read once, since it cannot change while this process lives. */
  bootId(): Promise<string> {
    this.#bootId ??= readBootId();
    return this.#bootId;
  }

  /** Every address of the node's interfaces but loopback, read now (getifaddrs: no process). */
  addresses(): NodeFacts__Output["addresses"] {
    return Object.entries(networkInterfaces()).flatMap(([name, list]) =>
      (list ?? [])
        .filter((a) => !a.internal)
        .map((a) => ({ interface: name, address: a.address, family: a.family === "IPv6" ? 6 : 4 })),
    );
  }

  /** The facts now: cheap ones fresh, slow ones from the last background run. */
  async current(): Promise<NodeFacts__Output> {
    const [mem, bootId] = await Promise.all([this.#mem(), this.bootId()]);
    const uptimeSeconds = Math.floor(uptime());
    return {
      hostname: hostname(),
      bootId,
      uptimeSeconds,
      bootedUnixMs: Date.now() - uptimeSeconds * 1000,
      os: this.#slow.os,
      kernel: this.#slow.kernel,
      cpuModel: this.#slow.cpuModel,
      cpuCores: this.#slow.cpuCores,
      memoryTotalBytes: mem.total,
      memoryAvailableBytes: mem.available,
      disks: this.#slow.disks,
      addresses: this.#slow.addresses,
      factsCollectedUnixMs: this.#slow.collectedUnixMs,
    };
  }

  #mem(): Promise<{ total: number; available: number }> {
    const now = Date.now();
    if (!this.#memory || now - this.#memory.at > MEMORY_TTL_MS) {
      this.#memory = {
        at: now,
        value: readFile("/proc/meminfo", "utf8").then(parseMeminfo, () => ({ total: 0, available: 0 })),
      };
    }
    return this.#memory.value;
  }

  async #collectSlow(): Promise<SlowFacts> {
    const [osRelease, mounts] = await Promise.all([
      readFile("/etc/os-release", "utf8").catch(() => readFile("/usr/lib/os-release", "utf8").catch(() => "")),
      readFile("/proc/self/mounts", "utf8").catch(() => ""),
    ]);
    const disks = await Promise.all(
      parseMounts(mounts).map(async ({ mount, fsType }) => {
        try {
          const s = await statfs(mount);
          return { mount, fsType, sizeBytes: s.blocks * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize };
        } catch {
          return undefined;
        }
      }),
    );
    const cpu = cpus();
    return {
      os: parseOsRelease(osRelease),
      kernel: release(),
      cpuModel: cpu[0]?.model.trim() ?? "",
      cpuCores: cpu.length,
      disks: disks.filter((d): d is NonNullable<typeof d> => d !== undefined && d.sizeBytes > 0),
      addresses: this.addresses(),
      collectedUnixMs: Date.now(),
    };
  }
}

async function readBootId(): Promise<string> {
  try {
    return (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  } catch {
    return "";
  }
}
