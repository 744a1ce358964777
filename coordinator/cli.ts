import { parseArgs } from "node:util";
import { VERSION } from "../shared/index.js";
import { UsageError, type Command, type LogLevel, type Options, type Writer } from "./command.js";
import type { ClusterApi } from "./kube/index.js";
import { OUTPUT_FORMATS, isOutputFormat } from "./ui/output.js";

type Loader = () => Promise<{ command: Command }>;

/**
 * Every command, as "noun verb" → its module, loaded only when run (or listed by `--help`). To add a command, write
 * `commands/<noun>/<verb>.ts` exporting `command = defineCommand({...})` and add one line here.
 */
export const COMMANDS: Readonly<Record<string, Loader>> = {
  "pki init": () => import("./commands/pki/init.js"),
  "pki agent": () => import("./commands/pki/agent.js"),
  "pki client": () => import("./commands/pki/client.js"),
  "pki serve": () => import("./commands/pki/serve.js"),
  "pki check": () => import("./commands/pki/check.js"),
  "pki renew": () => import("./commands/pki/renew.js"),
  status: () => import("./commands/status/status.js"),
  health: () => import("./commands/health/health.js"),
  doctor: () => import("./commands/doctor/doctor.js"),
  "node stop": () => import("./commands/node/stop.js"),
  "node start": () => import("./commands/node/start.js"),
  "cluster stop": () => import("./commands/cluster/stop.js"),
  "cluster start": () => import("./commands/cluster/start.js"),
  "etcd snapshot": () => import("./commands/etcd/snapshot.js"),
  "etcd restore": () => import("./commands/etcd/restore.js"),
  "etcd rejoin": () => import("./commands/etcd/rejoin.js"),
  "ops list": () => import("./commands/ops/list.js"),
  "ops show": () => import("./commands/ops/show.js"),
  "ops resume": () => import("./commands/ops/resume.js"),
  serve: () => import("./commands/serve/serve.js"),
  "serve token": () => import("./commands/serve/token.js"),
  "config init": () => import("./commands/config/init.js"),
  completion: () => import("./commands/completion/completion.js"),
};

/** Flags every command takes; command options must not reuse these names. */
export const GLOBAL_OPTIONS = {
  output: { type: "string", short: "o", default: "table" },
  help: { type: "boolean", short: "h" },
  verbose: { type: "boolean", short: "v", default: false },
  "log-level": { type: "string" },
} as const satisfies Options;

/**
 * Every flag that takes a value, in any command (long names, and short ones without the dash). The command words
 * are found before the command's own options are loaded, so flags may stand anywhere on the line: a value after one
 * of these is never taken for a command word. A test keeps it equal to what the commands declare.
 */
export const VALUE_FLAGS: ReadonlySet<string> = new Set([
  "output",
  "o",
  "log-level",
  "config",
  "c",
  "kubeconfig",
  "context",
  "drain-timeout",
  "cert-window",
  "window",
  "wait-agents",
  "settle-timeout",
  "out",
  "keep",
  "dir",
  "days",
  "ip",
  "dns",
  "role",
  "cn",
  "pki",
  "client",
  "cluster",
  "ttl",
  "name",
]);

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

const GLOBAL_HELP = `Global flags:
  -o, --output FORMAT   ${OUTPUT_FORMATS.join(", ")} (default table; wide: table with more columns)
  -v, --verbose         log at debug level, and show the log lines on stderr too
      --log-level LEVEL ${LOG_LEVELS.join(", ")} (default info) for the log file (<stateDir>/kubecycle.log)
  -h, --help            show help
`;

/** The process's side of the CLI, injected so tests can run it in-process. */
export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  env: NodeJS.ProcessEnv;
  /** The Kubernetes API to talk to instead of the kubeconfig's (a simulated one, in tests and benchmarks). */
  clusterApi?: ClusterApi;
}

/** Runs `kubecycle argv...` and returns the exit code. Errors are thrown, for main to report in one place. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const { words, rest, help } = splitCommand(normalizeShortValues(argv));
  const [noun, verb] = words;
  if (noun === undefined && rest.includes("--version")) {
    io.stdout.write(`kubecycle ${VERSION}\n`);
    return 0;
  }
  if (noun === undefined) {
    // `kubecycle` alone: what it can do, as with --help.
    io.stdout.write(await listing(""));
    return 0;
  }
  if (!nouns().includes(noun)) throw unknownCommand(words);
  // A one-word command (`kubecycle status`): a second word is its first argument, unless it names a verb of the
  // same noun (`kubecycle serve` runs the daemon, `kubecycle serve token` prints a page link).
  const single = COMMANDS[noun] !== undefined && (verb === undefined || COMMANDS[`${noun} ${verb}`] === undefined);
  if (single && verb !== undefined) rest.unshift(verb);
  if (verb === undefined && !single) {
    if (!help) throw new UsageError(`"${noun}" needs a verb: ${verbsOf(noun).join(", ")}`, noun);
    io.stdout.write(await listing(noun));
    return 0;
  }
  const name = single ? noun : `${noun} ${verb}`;
  const load = COMMANDS[name];
  if (load === undefined) throw unknownCommand(words);
  const { command } = await load();
  if (help) {
    io.stdout.write(commandHelp(command));
    return 0;
  }

  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, ...GLOBAL_OPTIONS },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    if (isParseArgsError(err)) throw new UsageError(err.message, name);
    throw err;
  }
  const { output, verbose, "log-level": logLevel, ...values } = parsed.values;
  if (typeof output !== "string" || !isOutputFormat(output)) {
    throw new UsageError(`--output must be one of ${OUTPUT_FORMATS.join(", ")}, not "${String(output)}"`, name);
  }
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(String(logLevel))) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, not "${String(logLevel)}"`, name);
  }
  const log = {
    level: (typeof logLevel === "string" ? logLevel : verbose === true ? "debug" : "info") as LogLevel,
    toStderr: verbose === true,
  };
  return command.run({ name, values, positionals: parsed.positionals, output, log, ...io });
}

/** `-o=json` as `-o json`: parseArgs would read the short flag's value as "=json". */
function normalizeShortValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  let terminated = false;
  for (const arg of argv) {
    const m = /^-([A-Za-z])=(.*)$/s.exec(arg);
    if (!terminated && m?.[1] !== undefined && m[2] !== undefined) out.push(`-${m[1]}`, m[2]);
    else out.push(arg);
    if (arg === "--") terminated = true;
  }
  return out;
}

/**
 * Takes the noun and verb out of argv, wherever the flags stand: the noun is the first word that is a known noun
 * (or, when none is, the first word, for the error's suggestions), the verb the first word after it. A flag's value
 * is never taken for a word (VALUE_FLAGS lists the flags that take one), nor is anything after "--".
 */
function splitCommand(argv: readonly string[]): { words: string[]; rest: string[]; help: boolean } {
  const known = nouns();
  const isFlag = (a: string) => a.startsWith("-") && a !== "-";
  const takesValue = (a: string) => {
    if (a.includes("=")) return false;
    const name = a.startsWith("--") ? a.slice(2) : a.length === 2 ? a.slice(1) : "";
    return VALUE_FLAGS.has(name);
  };
  // Positions of words (not flags, not a flag's value, not after "--").
  const wordAt: number[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--") break;
    if (a === "-h" || a === "--help") help = true;
    if (isFlag(a)) {
      if (takesValue(a)) i++;
      continue;
    }
    wordAt.push(i);
  }
  const nounPos = wordAt.find((i) => known.includes(argv[i] ?? "")) ?? wordAt[0];
  const taken = new Set<number>();
  if (nounPos !== undefined) {
    taken.add(nounPos);
    const verbPos = wordAt.find((i) => i > nounPos);
    if (verbPos !== undefined) taken.add(verbPos);
  }
  const words = [...taken].sort((a, b) => a - b).map((i) => argv[i] ?? "");
  const rest = argv.filter((a, i) => !taken.has(i) && a !== "-h" && a !== "--help");
  return { words, rest, help };
}

function nouns(): string[] {
  return [...new Set(Object.keys(COMMANDS).map((name) => name.split(" ")[0] ?? ""))];
}

function verbsOf(noun: string): string[] {
  return Object.keys(COMMANDS)
    .filter((name) => name.startsWith(`${noun} `))
    .map((name) => name.slice(noun.length + 1));
}

async function listing(noun: string): Promise<string> {
  const entries = Object.entries(COMMANDS).filter(([name]) => noun === "" || name.startsWith(`${noun} `));
  const rows = await Promise.all(entries.map(async ([name, load]) => [name, (await load()).command.summary] as const));
  const width = Math.max(...rows.map(([name]) => name.length));
  const intro =
    noun === "" ? "kubecycle stops and restarts Kubernetes nodes and whole clusters, safely and verifiably.\n\n" : "";
  return (
    `${intro}Usage:\n  kubecycle ${noun === "" ? "<noun>" : noun} <verb> [args] [flags]\n\n` +
    `Commands:\n${rows.map(([name, summary]) => `  ${name.padEnd(width)}   ${summary}\n`).join("")}\n` +
    `${GLOBAL_HELP}${noun === "" ? "      --version         print kubecycle's version\n" : ""}` +
    `\nRun 'kubecycle <noun> <verb> --help' for a command's arguments and flags.\n`
  );
}

function commandHelp(command: Command): string {
  const usage = command.usage.trimEnd().replace(/^(?=.)/gm, "  ");
  return `${command.summary}\n\nUsage:\n${usage}\n\n${GLOBAL_HELP}`;
}

function unknownCommand(words: readonly string[]): UsageError {
  const typed = words.join(" ");
  const [noun = ""] = words;
  const knownNoun = nouns().includes(noun);
  const candidates =
    words.length === 1 ? nouns() : knownNoun ? verbsOf(noun).map((v) => `${noun} ${v}`) : Object.keys(COMMANDS);
  const near = closest(typed, candidates);
  const advice =
    near.length > 0
      ? `; did you mean ${near.map((c) => `"${c}"`).join(" or ")}?`
      : knownNoun
        ? `; "${noun}" has: ${verbsOf(noun).join(", ")}`
        : "";
  return new UsageError(`unknown command "${typed}"${advice}`, knownNoun ? noun : "");
}

/** The candidates within a few typos of `typed`, nearest first. */
function closest(typed: string, candidates: readonly string[]): string[] {
  const limit = Math.max(2, Math.floor(typed.length / 3));
  return candidates
    .map((c) => ({ c, d: editDistance(typed, c) }))
    .filter(({ d }) => d <= limit)
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map(({ c }) => c);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function isParseArgsError(err: unknown): err is Error {
  return err instanceof Error && String((err as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS");
}
