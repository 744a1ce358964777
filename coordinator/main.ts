#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import { KubecycleError } from "../shared/index.js";
import { runCli, type CliIo } from "./cli.js";
import { UsageError, type Writer } from "./command.js";

/** Exit codes: a fault outside kubecycle (an unreachable node) is 1, the user's to fix is 2, a bug is 70 (EX_SOFTWARE). */
export const EXIT = { OK: 0, FAULT: 1, USER: 2, BUG: 70 } as const;

/** The one place an error becomes a message on stderr and an exit code. */
export function reportError(err: unknown, stderr: Writer): number {
  if (err instanceof UsageError) {
    const help = err.helpFor === "" ? "kubecycle --help" : `kubecycle ${err.helpFor} --help`;
    stderr.write(`error: ${err.message}\n  hint: run \`${help}\` for usage\n`);
    return EXIT.USER;
  }
  if (err instanceof KubecycleError && err.code !== "INTERNAL") {
    stderr.write(`error: ${err.message}\n`);
    if (typeof err.fields.hint === "string") stderr.write(`  hint: ${err.fields.hint}\n`);
    // A procedure refused in preflight changed nothing: the operator decides what next, whatever the cause.
    return err.isUserError || err.fields.refused === true ? EXIT.USER : EXIT.FAULT;
  }
  stderr.write(`kubecycle: this is a bug, please report it\n${inspect(err)}\n`);
  return EXIT.BUG;
}

/** Runs the CLI and turns whatever it throws into an exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await runCli(argv, io);
  } catch (err) {
    return reportError(err, io.stderr);
  }
}

// Run only as the program, not when a test imports this file. npm's bin link makes argv[1] a symlink, hence realpath.
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // A terminal that went away (EIO) or a closed pipe (EPIPE) must not crash an operation half-way: it stops cleanly
  // on the SIGHUP that comes with it, and its journal and log file say what happened.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EIO" && err.code !== "EPIPE") throw err;
    });
  }
  // exitCode, not exit(): stdout may be a pipe that has not drained yet.
  process.exitCode = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
}
