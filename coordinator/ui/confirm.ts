import { createInterface } from "node:readline/promises";
import { KubecycleError } from "../../shared/index.js";

/**
 * Asks before a destructive operation. On a terminal the operator answers; elsewhere (scripts, CI) there is
 * nobody to ask, so --yes must say it up front.
 */
export async function confirm(
  question: string,
  opts: { yes: boolean; stdin: NodeJS.ReadableStream & { isTTY?: boolean }; stderr: NodeJS.WritableStream },
): Promise<void> {
  if (opts.yes) return;
  if (!opts.stdin.isTTY) {
    throw new KubecycleError(
      "INVALID_REQUEST",
      `${question} needs confirmation, and standard input is not a terminal`,
      {
        hint: "pass --yes to confirm, or --dry-run to see the plan",
      },
    );
  }
  const rl = createInterface({ input: opts.stdin, output: opts.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== "y" && answer !== "yes") {
      throw new KubecycleError("CANCELLED", "not confirmed; nothing was changed");
    }
  } finally {
    rl.close();
  }
}
