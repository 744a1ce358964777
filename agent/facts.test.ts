import { monitorEventLoopDelay } from "node:perf_hooks";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { FactsCollector, parseMeminfo, parseMounts, parseOsRelease } from "./facts.js";

describe("fact parsers", () => {
  it("reads /proc/meminfo", () => {
    expect(
      parseMeminfo("MemTotal:        8041572 kB\nMemFree:          312000 kB\nMemAvailable:    5120000 kB\n"),
    ).toEqual({
      total: 8041572 * 1024,
      available: 5120000 * 1024,
    });
    expect(parseMeminfo("")).toEqual({ total: 0, available: 0 });
  });

  it("reads /etc/os-release", () => {
    expect(
      parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'),
    ).toBe("Debian GNU/Linux 12 (bookworm)");
    expect(parseOsRelease("NAME=Alpine\nVERSION_ID=3.20.1\n")).toBe("Alpine 3.20.1");
  });

  it("keeps disk mounts once per device, without pseudo file systems", () => {
    const mounts = [
      "/dev/sda1 / ext4 rw,relatime 0 0",
      "proc /proc proc rw 0 0",
      "tmpfs /run tmpfs rw 0 0",
      "/dev/sda1 /var/lib/kubelet/pods/x ext4 rw 0 0",
      "/dev/sdb1 /var/lib/etcd xfs rw 0 0",
      "overlay /var/lib/containerd/x overlay rw 0 0",
      "/dev/sdc1 /mnt/with\\040space ext4 rw 0 0",
    ].join("\n");
    expect(parseMounts(mounts)).toEqual([
      { mount: "/", fsType: "ext4" },
      { mount: "/var/lib/etcd", fsType: "xfs" },
      { mount: "/mnt/with space", fsType: "ext4" },
    ]);
  });
});

describe("FactsCollector", () => {
  it("answers hundreds of reads without blocking the event loop, and fills in the slow facts", async () => {
    const facts = new FactsCollector({ log: pino({ level: "silent" }), refreshMs: 60_000 });
    await facts.refresh();
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const all = await Promise.all(Array.from({ length: 500 }, () => facts.current()));
    h.disable();
    // A synchronous shell per read (what systeminformation's time() did) blocks for tens of ms each.
    expect(h.max / 1e6).toBeLessThan(50);
    const f = all[0];
    expect(f?.memoryTotalBytes).toBeGreaterThan(0);
    expect(f?.uptimeSeconds).toBeGreaterThan(0);
    expect(f?.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(f?.kernel).not.toBe("");
    expect(f?.cpuCores).toBeGreaterThan(0);
    expect(f?.factsCollectedUnixMs).toBeGreaterThan(0);
  });
});
