import { execFile } from "node:child_process";
import { KubecycleError } from "../shared/index.js";

/** What a finished command said. A non-zero exit is a result, not an exception. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCommand}. */
export interface RunOptions {
  /** The command is killed after this long. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Added to the agent's environment. */
  env?: Record<string, string>;
  /** Output kept per stream. Default 4 MiB. */
  maxBuffer?: number;
}

/**
 * Runs a program with an argument list: never through a shell, so no argument is ever interpreted. A missing
 * program, a timeout and cancellation are errors; an exit code is not.
 */
export function runCommand(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        timeout: opts.timeoutMs,
        maxBuffer: opts.maxBuffer ?? 4 * 1024 * 1024,
        signal: opts.signal,
        env: { ...process.env, LC_ALL: "C", ...opts.env },
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== "number") {
          const what = `${file} ${args[0] ?? ""}`.trim();
          if (err.name === "AbortError") {
            reject(new KubecycleError("CANCELLED", `${what} cancelled`, {}, { cause: err }));
          } else if (err.code === "ENOENT") {
            reject(new KubecycleError("SYSTEMD_FAILED", `${file} not found on this node`, {}, { cause: err }));
          } else if (err.killed) {
            reject(
              new KubecycleError(
                "DEADLINE_EXCEEDED",
                `${what} did not finish within ${opts.timeoutMs} ms`,
                {},
                { cause: err },
              ),
            );
          } else {
            reject(new KubecycleError("SYSTEMD_FAILED", `${what}: ${err.message}`, {}, { cause: err }));
          }
          return;
        }
        resolve({ code: typeof err?.code === "number" ? err.code : 0, stdout, stderr });
      },
    );
  });
}

/** The most useful line(s) of a failed command, for an error message. */
export function failureText(res: RunResult): string {
  return (res.stderr.trim() || res.stdout.trim() || `exit code ${res.code}`).slice(0, 2000);
}
