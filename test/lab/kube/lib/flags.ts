// Flag parsing for the stand-in daemons, with the real components' `--name=value` flags.
import { parseArgs } from "node:util";

/** Parses `argv` for the given string flags; unknown flags are an error, as in the real binaries. */
export function parseFlags<K extends string>(
  argv: string[],
  names: readonly K[],
  defaults: Partial<Record<K, string>> = {},
): Record<K, string | undefined> {
  const options = Object.fromEntries(names.map((n) => [n, { type: "string" as const }]));
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const out = {} as Record<K, string | undefined>;
  for (const n of names) out[n] = (values as Record<string, string | undefined>)[n] ?? defaults[n];
  return out;
}

/** Parses a Go duration like "6s", "500ms", "1m". */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  if (!m) throw new Error(`invalid duration ${v}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * unit;
}

/** The value of a required flag. */
export function required(flags: Record<string, string | undefined>, name: string): string {
  const v = flags[name];
  if (!v) {
    process.stderr.write(`error: --${name} is required\n`);
    process.exit(2);
  }
  return v;
}
