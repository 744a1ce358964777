// Helpers for tests that check the lab from the outside.
import { spawn, type ChildProcess } from "node:child_process";
import { lstat } from "node:fs/promises";
import { REPO_ROOT } from "./agent.js";
import { run, type RunResult } from "./host.js";
import { labHostPaths } from "./lab.js";

const LAB_CLI = ["test/lab/run.mjs", "test/lab/cli.ts"];

/** `npm run lab -- ARGS...`, as a user runs it (a separate process), collecting its output. */
export function runLabCli(args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return run(process.execPath, [...LAB_CLI, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    timeoutMs,
  });
}

/** The lab CLI started in the background (e.g. to be killed half-way); its output is discarded. */
export function spawnLabCli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [...LAB_CLI, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    stdio: "ignore",
  });
}

/** What each host path the lab may create is right now: "absent", "dir", "file" or "symlink". */
export async function hostPathKinds(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of labHostPaths()) {
    const st = await lstat(p).catch(() => undefined);
    out[p] = !st ? "absent" : st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "dir" : "file";
  }
  return out;
}
