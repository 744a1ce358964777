import { spawn, spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { kubecycleProcess } from "./liveness.js";

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
    expect(kubecycleProcess(hostname(), process.pid)).toBe("alive");
  });

  it("sees a live kubecycle process on this host as alive", () => {
    const pid = running([process.execPath, "-e", "setTimeout(() => {}, 30000)", "/usr/local/bin/kubecycle"]);
    expect(kubecycleProcess(hostname(), pid)).toBe("alive");
  });

  it("sees an exited process, and a pid another program reuses, as gone", () => {
    const exited = spawnSync(process.execPath, ["-e", ""]).pid;
    expect(kubecycleProcess(hostname(), exited)).toBe("gone");
    expect(kubecycleProcess(hostname(), running(["sleep", "30"]))).toBe("gone");
    expect(kubecycleProcess(hostname(), undefined)).toBe("gone");
  });

  it("cannot tell for another host", () => {
    expect(kubecycleProcess("admin-2", process.pid)).toBe("unknown");
    expect(kubecycleProcess(undefined, process.pid)).toBe("unknown");
  });
});
