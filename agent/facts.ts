import { readFile } from "node:fs/promises";
import { hostname, networkInterfaces } from "node:os";
import type si from "systeminformation";
import type { Logger, NodeFacts__Output } from "../shared/index.js";

type Systeminformation = typeof si;

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
const SKIP_FS = /^(tmpfs|devtmpfs|overlay|squashfs|proc|sysfs|cgroup2?|nsfs|fuse\..*)$/;

/**
 * Node facts from systeminformation. The cheap ones (uptime, memory, boot id) are read on every call; the slow
 * probes (OS, CPU, disks, addresses) run in the background after the agent serves and then every refresh interval,
 * so they never delay start-up or a status call.
 */
export class FactsCollector {
  readonly #log: Logger;
  readonly #refreshMs: number;
  #slow: SlowFacts = EMPTY_SLOW;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #si: Promise<Systeminformation> | undefined;
  #bootId: Promise<string> | undefined;

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

  /** Re-runs the slow probes; concurrent callers share one run. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#collectSlow()
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

  /** Every address of the node's interfaces but loopback, read now (no process, no blocking). */
  addresses(): NodeFacts__Output["addresses"] {
    return Object.entries(networkInterfaces()).flatMap(([name, list]) =>
      (list ?? [])
        .filter((a) => !a.internal)
        .map((a) => ({ interface: name, address: a.address, family: a.family === "IPv6" ? 6 : 4 })),
    );
  }

  /** The facts now: cheap ones fresh, slow ones from the last background run. */
  async current(): Promise<NodeFacts__Output> {
    const si = await this.#lib();
    const [osTime, mem, bootId] = await Promise.all([Promise.resolve(si.time()), si.mem(), this.bootId()]);
    const uptimeSeconds = Math.floor(Number(osTime.uptime) || 0);
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

  async #collectSlow(): Promise<SlowFacts> {
    const si = await this.#lib();
    const [os, cpu, fs, nics] = await Promise.all([si.osInfo(), si.cpu(), si.fsSize(), si.networkInterfaces()]);
    const interfaces = Array.isArray(nics) ? nics : [nics];
    return {
      os: [os.distro, os.release].filter(Boolean).join(" "),
      kernel: os.kernel,
      cpuModel: [cpu.manufacturer, cpu.brand].filter(Boolean).join(" "),
      cpuCores: cpu.cores,
      disks: fs
        .filter((d) => !SKIP_FS.test(d.type))
        .map((d) => ({ mount: d.mount, fsType: d.type, sizeBytes: d.size, usedBytes: d.used })),
      addresses: interfaces
        .filter((n) => !n.internal)
        .flatMap((n) => [
          ...(n.ip4 ? [{ interface: n.iface, address: n.ip4, family: 4 }] : []),
          ...(n.ip6 ? [{ interface: n.iface, address: n.ip6, family: 6 }] : []),
        ]),
      collectedUnixMs: Date.now(),
    };
  }

  /** systeminformation is loaded on first use, off the start-up path. */
  #lib(): Promise<Systeminformation> {
    this.#si ??= import("systeminformation").then((m) => m.default);
    return this.#si;
  }
}

async function readBootId(): Promise<string> {
  try {
    return (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  } catch {
    return "";
  }
}
