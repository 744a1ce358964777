import { UsageError, type CommandContext } from "../command.js";

/** Flags every command that talks to a cluster takes. */
export const CLUSTER_OPTIONS = {
  config: { type: "string", short: "c" },
} as const;

/** Flags of procedures that change the cluster. */
export const PROCEDURE_OPTIONS = {
  ...CLUSTER_OPTIONS,
  "dry-run": { type: "boolean", default: false },
  yes: { type: "boolean", short: "y", default: false },
  "break-lock": { type: "boolean", default: false },
} as const;

export const CLUSTER_HELP = `  -c, --config FILE   kubecycle config (default $KUBECYCLE_CONFIG)`;
export const PROCEDURE_HELP = `${CLUSTER_HELP}
      --dry-run       print the plan and change nothing (-o json prints it as JSON)
  -y, --yes           do not ask for confirmation
      --break-lock    take the cluster lock from a stale or parked holder
  -o json             progress as a stream of JSON events`;

/** "90s", "5m", "1h" or plain seconds, in milliseconds. */
export function parseDuration(
  ctx: Pick<CommandContext, "name">,
  flag: string,
  value: string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new UsageError(`${flag} must be a duration such as 90s, 5m or 1h, not "${value}"`, ctx.name);
  const n = Number(m[1]);
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
}
