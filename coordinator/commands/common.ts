import { UsageError, type CommandContext } from "../command.js";

/** Flags every command that talks to a cluster takes. */
export const CLUSTER_OPTIONS = {
  config: { type: "string", short: "c" },
  kubeconfig: { type: "string" },
  context: { type: "string" },
} as const;

/** Flags of procedures that change the cluster. */
export const PROCEDURE_OPTIONS = {
  ...CLUSTER_OPTIONS,
  "dry-run": { type: "boolean", default: false },
  yes: { type: "boolean", short: "y", default: false },
  "break-lock": { type: "boolean", default: false },
} as const;

export const CLUSTER_HELP = `  -c, --config FILE     kubecycle config (default $KUBECYCLE_CONFIG, ~/.config/kubecycle/config.yaml,
                        /etc/kubecycle/config.yaml, the first that exists)
      --kubeconfig FILE the cluster's kubeconfig, over the config's (and $KUBECONFIG's, a list merged as kubectl does)
      --context NAME    the kubeconfig context to use, over the config's`;
export const PROCEDURE_HELP = `${CLUSTER_HELP}
      --dry-run       print the plan, run its read-only preflight checks (what a drain would evict, quorum,
                      certificates...) and change nothing; exit 2 when the procedure would be refused
                      (-o json prints both as JSON)
  -y, --yes           do not ask for confirmation
      --break-lock    take the cluster lock from a stale or parked holder
  -o json             progress as a stream of JSON events`;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Renders milliseconds as a duration people read ("90s", "5m", "1h30m"). */
export function formatDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  if (ms >= 86_400_000 && ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s || (!h && !m) ? `${s}s` : ""}`;
}

/**
 * A duration flag: "90s", "5m", "1h30m", "30d", "500ms", or plain seconds, in milliseconds, within `[minMs, maxMs]`
 * (default at least 1 s: a zero timeout would fail every step at once). Undefined when the flag was not given.
 */
export function parseDuration(
  ctx: Pick<CommandContext, "name">,
  flag: string,
  value: string | undefined,
  bounds: { minMs?: number; maxMs?: number } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  const ms = /^\d+$/.test(text)
    ? Number(text) * 1000
    : parts.length > 0 && parts.map((p) => p[0]).join("") === text
      ? parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2] as keyof typeof UNIT_MS], 0)
      : undefined;
  if (ms === undefined) {
    throw new UsageError(`${flag} must be a duration such as 90s, 5m, 1h30m or 30d, not "${value}"`, ctx.name);
  }
  const { minMs = 1000, maxMs = Number.MAX_SAFE_INTEGER } = bounds;
  if (ms < minMs || ms > maxMs) {
    throw new UsageError(
      `${flag} must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}, not "${value}"`,
      ctx.name,
    );
  }
  return ms;
}
