// What the end-to-end tests share: kubecycle run as an operator runs it (the built CLI, as a process, or on a real
// terminal), waiting for a condition, and reading an operation's journal through `kubecycle ops show`.
import { spawn } from "node:child_process";
import { inject } from "vitest";
import { join } from "node:path";
import { REPO_ROOT } from "../lab/agent.js";
import type { Lab } from "../lab/lab.js";
import { dropAudit } from "./api-audit.js";

export const CLI = join(REPO_ROOT, "dist/bin/kubecycle.mjs");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built kubecycle CLI against the lab, as an operator would; `onStart` gets the child (for signals). */
export function kubecycle(
  lab: Lab,
  args: string[],
  onStart?: (child: ReturnType<typeof spawn>) => void,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, KUBECYCLE_CONFIG: lab.kubecycleConfigPath },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    onStart?.(child);
  });
}

/**
 * Runs the built kubecycle CLI on a terminal: a pty from script(1), 120 columns wide. `react` sees the screen so far
 * (escape sequences included) on every output, and may type an answer or hang the terminal up. Returns everything the
 * terminal showed and the exit code.
 */
export function kubecycleOnTerminal(
  lab: Lab,
  args: string[],
  react: (screen: string, terminal: { type(text: string): void; hangUp(): void }) => void,
): Promise<{ code: number; screen: string }> {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = `stty cols 120 rows 50 && exec ${[process.execPath, CLI, ...args].map(quote).join(" ")}`;
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qefc", command, "/dev/null"], {
      env: { ...process.env, KUBECYCLE_CONFIG: lab.kubecycleConfigPath },
      stdio: ["pipe", "pipe", "inherit"],
    });
    let screen = "";
    // Killing script closes the pty's master side: the kernel sends SIGHUP to kubecycle, as when an ssh session drops.
    const terminal = { type: (text: string) => child.stdin.write(text), hangUp: () => child.kill("SIGKILL") };
    child.stdout.on("data", (d: Buffer) => {
      screen += d.toString();
      react(screen, terminal);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      child.stdin.end();
      resolve({ code: code ?? -1, screen });
    });
  });
}

/** A `react` for {@link kubecycleOnTerminal} that answers the confirmation prompt once. */
export function answer(text: string): Parameters<typeof kubecycleOnTerminal>[2] {
  let answered = false;
  return (screen, terminal) => {
    if (!answered && screen.includes("[y/N]")) {
      answered = true;
      terminal.type(`${text}\n`);
    }
  };
}

/** Polls `probe` until it returns a value (errors count as "not yet"), or fails naming `what` and the last error. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 300,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface StepView {
  step: string;
  status: string;
  node?: string;
  error?: { code: string; message?: string };
  evidence?: Record<string, unknown>;
}

/** An operation's journal as `kubecycle ops show -o json` gives it, with its steps by id. */
export async function journalOf(
  lab: Lab,
  op: string,
): Promise<{ result: string; reason?: string; steps: Record<string, StepView> }> {
  const show = await kubecycle(lab, ["ops", "show", op, "-o", "json"]);
  const j = JSON.parse(show.stdout) as { result: string; reason?: string; steps: StepView[] };
  return { ...j, steps: Object.fromEntries(j.steps.map((x) => [x.step, x])) };
}

/** The operation id kubecycle printed on stderr. */
export function opOf(result: CliResult): string {
  const m = /operation (\S+)/.exec(result.stderr);
  if (!m?.[1]) throw new Error(`no operation id in: ${result.stderr}`);
  return m[1];
}

/**
 * Brings a lab down, first handing its API servers' audit log to the run's check of deploy/rbac.yaml
 * (test/e2e/api-audit.ts). `file` is the calling test file (import.meta.url).
 */
export async function downLab(lab: Lab | undefined, file: string): Promise<void> {
  if (!lab) return;
  try {
    const dir = inject("apiAuditDir");
    if (dir) await dropAudit(dir, new URL(file).pathname, await lab.apiAudit());
  } finally {
    await lab.down();
  }
}

/** The seed of the tests' random choices: printed by each test, and set with KUBECYCLE_E2E_SEED to repeat a run. */
export const SEED = Number(process.env.KUBECYCLE_E2E_SEED ?? Date.now() % 100_000);

/** A small seeded generator (mulberry32): numbers in [0, 1), the same for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
