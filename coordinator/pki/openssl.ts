import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { KubecycleError } from "../../shared/index.js";

const execFileAsync = promisify(execFile);

/** Runs the openssl binary with argv (never a shell) and returns its stdout; any failure is PKI_FAILED. */
export async function openssl(bin: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(bin, args, { encoding: "utf8", maxBuffer: 1 << 20 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new KubecycleError(
        "PKI_FAILED",
        `cannot run ${bin}: not found`,
        { hint: "install openssl (e.g. `apt-get install openssl`) or put it on PATH" },
        { cause: err },
      );
    }
    const detail = e.stderr?.trim() || e.message;
    throw new KubecycleError("PKI_FAILED", `openssl ${args[0] ?? ""} failed: ${detail}`, {}, { cause: err });
  }
}
