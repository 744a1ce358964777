import { spawn, spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { kubecycleProcess, thisProcess } from "./liveness.js";

const children: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

function running(argv: string[]): number {
  const child = spawn(argv[0] ?? "", argv.slice(1), { stdio: "ignore" });
  children.push(child);
  if (child.pid === undefined) throw new Error(`could not start ${argv.join(" ")}`);
  return child.pid;
}

describe("kubecycleProcess", () => {
  it("knows this process is alive", () => {
    expect(kubecycleProcess({ host: hostname(), pid: process.pid })).toBe("alive");
  });

  it("sees a live kubecycle process on this host as alive", () => {
    const pid = running([process.execPath, "-e", "setTimeout(() => {}, 30000)", "/usr/local/bin/kubecycle"]);
    expect(kubecycleProcess({ host: hostname(), pid })).toBe("alive");
  });

  it("sees an exited process, and a pid another program reuses, as gone", () => {
    const exited = spawnSync(process.execPath, ["-e", ""]).pid;
    expect(kubecycleProcess({ host: hostname(), pid: exited })).toBe("gone");
    expect(kubecycleProcess({ host: hostname(), pid: running(["sleep", "30"]) })).toBe("gone");
    expect(kubecycleProcess({ host: hostname(), pid: undefined })).toBe("gone");
  });

  it("tells a record's process from another that got its pid, by its start time", () => {
    const me = thisProcess();
    expect(me.started).toBeGreaterThan(0);
    expect(kubecycleProcess(me)).toBe("alive");
    const pid = running(["sleep", "30"]);
    // The record names this pid, but a process that started at another time: the pid was reused.
    expect(kubecycleProcess({ host: hostname(), pid, started: 1 })).toBe("gone");
    const started = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[19]);
    expect(kubecycleProcess({ host: hostname(), pid, started })).toBe("alive");
  });

  it("cannot tell for another host", () => {
    expect(kubecycleProcess({ host: "admin-2", pid: process.pid })).toBe("unknown");
    expect(kubecycleProcess({ host: undefined, pid: process.pid })).toBe("unknown");
  });
});
