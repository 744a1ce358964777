// The lab's node harness: a real systemd as PID 1 in its own namespaces and cgroup subtree. Checked from inside the
// node (systemctl, journalctl) and from the host (cgroup dirs, PID namespaces, mounts).
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootSystemdNode, cleanupStaleNodes, type SystemdNode } from "../lab/systemd-node.js";

const PREFIX = "kc-it-sn";
const CGROUP_ROOT = "/sys/fs/cgroup";

const UNITS: Record<string, string> = {
  "sleeper.service": `[Unit]
Description=Type=simple daemon
[Service]
Type=simple
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
`,
  "notifier.service": `[Unit]
Description=Type=notify daemon, ready when it says so
[Service]
Type=notify
NotifyAccess=all
ExecStart=/bin/sh -c 'echo "notifier: getting ready"; systemd-notify --ready; exec sleep infinity'
TimeoutStartSec=10
[Install]
WantedBy=multi-user.target
`,
  "failing.service": `[Unit]
Description=fails at start, saying why
[Service]
Type=exec
ExecStart=/bin/sh -c 'echo "failing: cannot read /etc/failing.conf" >&2; exit 3'
`,
};

const fileStartedMs = Date.now();
let workDir: string;
const booted: SystemdNode[] = [];
let cgroupRootBefore: string[];

async function boot(name: string, extra: Partial<Parameters<typeof bootSystemdNode>[0]> = {}): Promise<SystemdNode> {
  const node = await bootSystemdNode({ name, stateDir: join(workDir, name), unitFiles: UNITS, ...extra });
  booted.push(node);
  return node;
}

/** Entries of /sys/fs/cgroup/<hierarchy>/ named after the node, in any hierarchy. */
async function cgroupDirsOf(name: string): Promise<string[]> {
  const out: string[] = [];
  for (const h of await readdir(CGROUP_ROOT)) {
    if (await lstat(join(CGROUP_ROOT, h, name)).catch(() => undefined)) out.push(join(CGROUP_ROOT, h, name));
  }
  return out;
}

/** Host pids whose PID namespace is ns. */
async function pidsIn(ns: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await readdir("/proc")) {
    if (/^\d+$/.test(p) && (await readlink(`/proc/${p}/ns/pid`).catch(() => "")) === ns) out.push(Number(p));
  }
  return out;
}

/** Retries check until it stops throwing (journald writes asynchronously). */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function journal(node: SystemdNode, unit: string): Promise<string> {
  const r = await node.exec(["journalctl", "--no-pager", "-o", "cat", "-u", unit]);
  expect(r.code).toBe(0);
  return r.stdout;
}

async function expectGone(node: SystemdNode): Promise<void> {
  expect(await cgroupDirsOf(node.name)).toEqual([]);
  expect(await pidsIn(node.pidNamespace)).toEqual([]);
  // The pid number may already belong to someone else; the namespace must not.
  expect(await readlink(`/proc/${node.pid}/ns/pid`).catch(() => "gone")).not.toBe(node.pidNamespace);
  const hostMounts = await readFile("/proc/self/mountinfo", "utf8");
  expect(hostMounts).not.toContain(workDir);
}

beforeAll(async () => {
  await cleanupStaleNodes(PREFIX);
  cgroupRootBefore = (await readdir(CGROUP_ROOT)).sort();
  workDir = await mkdtemp(join(tmpdir(), "kc-it-sn-"));
});

afterAll(async () => {
  for (const n of booted) await n.shutdown();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("a booted node", () => {
  const name = `${PREFIX}-a`;
  let node: SystemdNode;

  beforeAll(async () => {
    await mkdir(join(workDir, "data"));
    await writeFile(join(workDir, "data", "hello.txt"), "hi from the host\n");
    await writeFile(join(workDir, "rw.txt"), "");
    node = await boot(name, {
      enable: ["sleeper.service"],
      binds: [
        { source: join(workDir, "data"), target: "/run/kc-data", readOnly: true },
        { source: join(workDir, "rw.txt"), target: "/run/kc-rw.txt" },
      ],
    });
  });

  it("boots the lab target quickly, with nothing failed and none of the host's units", async () => {
    expect(node.bootMs).toBeLessThan(3000);
    expect((await node.systemctl("is-system-running")).stdout.trim()).toBe("running");
    expect((await node.systemctl("is-active", "kubecycle-lab.target")).stdout.trim()).toBe("active");
    const units = (await node.systemctl("list-units", "--all", "--plain", "--no-legend")).stdout;
    expect(units).toContain("systemd-journald.service");
    expect(units).not.toMatch(/getty|udev|logind|networkd|timesyncd|tmpfiles|remount|sysctl|dbus|postgresql|e2scrub/);
  });

  it("is PID 1 of its own PID namespace, with its own hostname and its own uptime", async () => {
    expect((await node.exec(["cat", "/proc/1/comm"])).stdout.trim()).toBe("systemd");
    expect((await node.exec(["hostname"])).stdout.trim()).toBe(name);
    expect(hostname()).not.toBe(name);
    expect(await readlink(`/proc/${node.pid}/ns/pid`)).not.toBe(await readlink("/proc/self/ns/pid"));
    // Booted moments ago in its own time namespace; the host has been up since before this test file started.
    const uptime = (text: string) => Number(text.split(" ")[0]);
    const nodeUp = uptime((await node.exec(["cat", "/proc/uptime"])).stdout);
    const hostUp = uptime(await readFile("/proc/uptime", "utf8"));
    expect(nodeUp).toBeLessThan((Date.now() - fileStartedMs) / 1000 + 1);
    expect(hostUp - nodeUp).toBeGreaterThan(10);
  });

  it("runs units in its own cgroup subtree, leaving the host's /sys/fs/cgroup alone", async () => {
    const p = await node.show("sleeper.service", ["ControlGroup", "MainPID"]);
    expect(p.ControlGroup).toBe(`/${name}/system.slice/sleeper.service`);
    const procs = await readFile(
      join(CGROUP_ROOT, "systemd", name, "system.slice/sleeper.service/cgroup.procs"),
      "utf8",
    );
    expect(procs.trim()).toMatch(/^\d+$/);
    // systemd remounts /sys/fs/cgroup read-only and mounts missing controllers there: only in the node's private copy.
    expect((await readdir(CGROUP_ROOT)).sort()).toEqual(cgroupRootBefore);
    expect(await readFile("/proc/self/mountinfo", "utf8")).toMatch(/ \/sys\/fs\/cgroup rw\S* - tmpfs tmpfs rw/);
  });

  it("starts enabled units at boot", async () => {
    const p = await node.show("sleeper.service", ["ActiveState", "SubState", "UnitFileState"]);
    expect(p).toEqual({ ActiveState: "active", SubState: "running", UnitFileState: "enabled" });
  });

  it("stops and starts a Type=simple service", async () => {
    const before = await node.show("sleeper.service", ["MainPID"]);
    expect((await node.systemctl("stop", "sleeper.service")).code).toBe(0);
    expect((await node.show("sleeper.service", ["ActiveState"])).ActiveState).toBe("inactive");
    expect((await node.systemctl("start", "sleeper.service")).code).toBe(0);
    const after = await node.show("sleeper.service", ["ActiveState", "MainPID"]);
    expect(after.ActiveState).toBe("active");
    expect(after.MainPID).not.toBe(before.MainPID);
  });

  it("starts a Type=notify service once it reports ready, and journals its output", async () => {
    expect((await node.systemctl("start", "notifier.service")).code).toBe(0);
    expect(await node.show("notifier.service", ["ActiveState", "SubState"])).toEqual({
      ActiveState: "active",
      SubState: "running",
    });
    await eventually(async () => expect(await journal(node, "notifier.service")).toContain("notifier: getting ready"));
  });

  it("reports a failing service, with its message in the journal", async () => {
    // Type=exec: whether the start job itself fails depends on how fast the shell exits; the unit's state does not.
    await node.systemctl("start", "failing.service");
    const p = await node.waitFor(
      "failing.service",
      (s) => s.ActiveState === "failed",
      ["ActiveState", "Result", "ExecMainStatus"],
      5000,
    );
    expect(p).toEqual({ ActiveState: "failed", Result: "exit-code", ExecMainStatus: "3" });
    await eventually(async () =>
      expect(await journal(node, "failing.service")).toContain("failing: cannot read /etc/failing.conf"),
    );
    expect((await node.systemctl("is-system-running")).stdout.trim()).toBe("degraded");
    expect((await node.systemctl("reset-failed", "failing.service")).code).toBe(0);
  });

  it("waitFor gives up with the last state", async () => {
    await expect(
      node.waitFor("sleeper.service", (p) => p.ActiveState === "failed", ["ActiveState"], 100),
    ).rejects.toThrow(/"ActiveState":"active"/);
  });

  it("enables and disables units in the node's own /etc/systemd/system", async () => {
    expect((await node.systemctl("disable", "sleeper.service")).code).toBe(0);
    expect((await node.systemctl("enable", "notifier.service")).code).toBe(0);
    expect((await node.show("sleeper.service", ["UnitFileState"])).UnitFileState).toBe("disabled");
    expect((await node.show("notifier.service", ["UnitFileState"])).UnitFileState).toBe("enabled");
    const wants = join(workDir, name, "etc/systemd/system/multi-user.target.wants");
    expect((await readdir(wants)).sort()).toEqual(["notifier.service"]);
    // The host's own unit directory is untouched.
    await expect(lstat("/etc/systemd/system/multi-user.target.wants/notifier.service")).rejects.toThrow();
  });

  it("runs argv with input, environment and exit code, and kills a command that times out", async () => {
    const r = await node.exec(["sh", "-c", 'cat; echo "$GREETING"; exit 7', "sh"], {
      input: "from stdin\n",
      env: { GREETING: "hello" },
    });
    expect(r).toEqual({ code: 7, stdout: "from stdin\nhello\n", stderr: "" });
    await expect(node.exec(["sleep", "31"], { timeoutMs: 200 })).rejects.toThrow(/timed out/);
    await eventually(async () => expect((await node.exec(["pgrep", "-fx", "sleep 31"])).code).toBe(1));
    // Nothing of the node hangs off a host process (an orphan of nsenter would be reparented to the host's init, and
    // the node's PID 1 could not exit before that init reaped it).
    await eventually(async () => {
      for (const p of await pidsIn(node.pidNamespace)) {
        if (p === node.pid) continue;
        const ppid = (await readFile(`/proc/${p}/stat`, "utf8").catch(() => "")).split(") ")[1]?.split(" ")[1];
        if (ppid !== undefined)
          expect(await readlink(`/proc/${ppid}/ns/pid`).catch(() => "gone")).toBe(node.pidNamespace);
      }
    });
  });

  it("writes files into the node's private file systems only", async () => {
    await node.writeFile("/etc/systemd/system/written.service", "[Service]\nExecStart=/bin/sleep infinity\n");
    await node.daemonReload();
    expect((await node.systemctl("start", "written.service")).code).toBe(0);
    expect((await node.show("written.service", ["ActiveState"])).ActiveState).toBe("active");
    await node.writeFile("/run/secret", "s3cret\n", 0o600);
    expect((await node.exec(["stat", "-c", "%a %s", "/run/secret"])).stdout.trim()).toBe("600 7");
    await expect(lstat("/run/secret")).rejects.toThrow();
    await expect(node.writeFile("/etc/kc-it-sn-shared", "x")).rejects.toThrow(/shared with the host/);
    await expect(lstat("/etc/kc-it-sn-shared")).rejects.toThrow();
  });

  it("sees the binds it was booted with, read-only where asked", async () => {
    expect((await node.exec(["cat", "/run/kc-data/hello.txt"])).stdout).toBe("hi from the host\n");
    const touch = await node.exec(["touch", "/run/kc-data/new"]);
    expect(touch.code).not.toBe(0);
    expect(touch.stderr).toContain("Read-only file system");
    await node.writeFile("/run/kc-rw.txt", "from the node\n");
    expect(await readFile(join(workDir, "rw.txt"), "utf8")).toBe("from the node\n");
  });

  it("refuses to boot a second node with the same name", async () => {
    await expect(bootSystemdNode({ name, stateDir: join(workDir, "dup") })).rejects.toThrow(/already running/);
  });

  it("shuts down leaving no process, cgroup or mount, and boots again from the same state", async () => {
    await node.shutdown();
    await expectGone(node);
    await node.shutdown(); // idempotent

    const again = await bootSystemdNode({ name, stateDir: join(workDir, name), unitFiles: UNITS });
    booted.push(again);
    // What was enabled and disabled with systemctl before the shutdown still holds.
    expect((await again.show("notifier.service", ["ActiveState"])).ActiveState).toBe("active");
    expect(await again.show("sleeper.service", ["ActiveState", "UnitFileState"])).toEqual({
      ActiveState: "inactive",
      UnitFileState: "disabled",
    });
    await again.shutdown();
    await expectGone(again);
  });
});

describe("two nodes at once", () => {
  const same = (who: string): Record<string, string> => ({
    "same.service": `[Service]\nExecStart=/bin/sh -c 'echo "same: I am ${who}"; exec sleep infinity'\n`,
  });
  let b: SystemdNode;
  let c: SystemdNode;

  beforeAll(async () => {
    [b, c] = await Promise.all([
      boot(`${PREFIX}-b`, { unitFiles: same("b"), enable: ["same.service"] }),
      boot(`${PREFIX}-c`, { unitFiles: same("c"), enable: ["same.service"] }),
    ]);
  });

  it("run a unit of the same name independently", async () => {
    for (const n of [b, c]) {
      expect(await n.show("same.service", ["ActiveState", "ControlGroup"])).toEqual({
        ActiveState: "active",
        ControlGroup: `/${n.name}/system.slice/same.service`,
      });
      expect((await n.systemctl("is-system-running")).stdout.trim()).toBe("running");
    }
    expect(await journal(b, "same.service")).not.toContain("I am c");
    await eventually(async () => expect(await journal(b, "same.service")).toContain("same: I am b"));
    await eventually(async () => expect(await journal(c, "same.service")).toContain("same: I am c"));

    expect((await b.systemctl("stop", "same.service")).code).toBe(0);
    expect((await b.show("same.service", ["ActiveState"])).ActiveState).toBe("inactive");
    expect((await c.show("same.service", ["ActiveState"])).ActiveState).toBe("active");
  });

  it("shut down one without disturbing the other", async () => {
    await b.shutdown();
    await expectGone(b);
    expect((await c.show("same.service", ["ActiveState"])).ActiveState).toBe("active");
    await c.shutdown();
    await expectGone(c);
  });
});

describe("a boot that fails", () => {
  it("reports the init script's error and leaves nothing behind", async () => {
    const name = `${PREFIX}-e`;
    const boot = bootSystemdNode({
      name,
      stateDir: join(workDir, name),
      binds: [{ source: workDir, target: "/proc/kc-it-sn-cannot-exist" }],
    });
    await expect(boot).rejects.toThrow(/init exited[\s\S]*cannot create directory '\/proc\/kc-it-sn-cannot-exist'/);
    expect(await cgroupDirsOf(name)).toEqual([]);
  });
});

describe("a node whose harness crashed", () => {
  it("is found and removed by cleanupStaleNodes", async () => {
    const orphan = await boot(`${PREFIX}-d`, { enable: ["sleeper.service", "notifier.service"] });
    expect(await pidsIn(orphan.pidNamespace)).not.toEqual([]);
    expect(await cgroupDirsOf(orphan.name)).not.toEqual([]);

    await cleanupStaleNodes(PREFIX);

    await expectGone(orphan);
    // The harness of the crashed run would find nothing left to do.
    await orphan.shutdown();
  });

  it("rejects a prefix that would match the host's own cgroups", async () => {
    await expect(cleanupStaleNodes("")).rejects.toThrow(/prefix/);
  });
});
