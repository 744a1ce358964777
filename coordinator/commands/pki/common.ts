import { UsageError, type CommandContext } from "../../command.js";
import type { WrittenFiles } from "../../pki/index.js";
import { renderOutput } from "../../ui/output.js";

/** The flags every `pki` verb takes. */
export const PKI_OPTIONS = {
  dir: { type: "string", default: "./pki" },
  days: { type: "string" },
  force: { type: "boolean", default: false },
} as const;

/** `--days` as a number, or undefined to keep the library's default. */
export function parseDays(ctx: Pick<CommandContext, "name">, days: string | undefined): number | undefined {
  if (days === undefined) return undefined;
  if (!/^\d+$/.test(days)) throw new UsageError(`--days must be a whole number of days, not "${days}"`, ctx.name);
  return Number(days);
}

/** Lists the files written, or prints them as data for `-o json|yaml`. */
export function printWritten(ctx: Pick<CommandContext, "output" | "stdout">, files: WrittenFiles): void {
  ctx.stdout.write(renderOutput(ctx.output, files, () => `wrote ${files.cert}\nwrote ${files.key}`));
}
