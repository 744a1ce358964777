import type { ParseArgsConfig } from "node:util";
import type { ClusterApi } from "./kube/index.js";
import type { OutputFormat } from "./ui/output.js";

/** A command's flags, in `util.parseArgs` form. */
export type Options = NonNullable<ParseArgsConfig["options"]>;
type Option = Options[string];

type OptionValue<O extends Option> = O["type"] extends "string"
  ? O extends { multiple: true }
    ? string[]
    : string
  : O["type"] extends "boolean"
    ? O extends { multiple: true }
      ? boolean[]
      : boolean
    : string | boolean | (string | boolean)[];

/** The parsed values of `O`: a flag with a default is always there, the others may be missing. */
export type OptionValues<O extends Options> = {
  [K in keyof O as O[K] extends { default: unknown } ? K : never]: OptionValue<O[K]>;
} & {
  [K in keyof O as O[K] extends { default: unknown } ? never : K]?: OptionValue<O[K]>;
};

/** A log level the CLI accepts for its log file. */
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

/** Where a command writes; `process.stdout` is one, a test's string collector another. */
export interface Writer {
  write(chunk: string): unknown;
}

/** What a command runs with. Streams and env are injected so tests can run commands in-process. */
export interface CommandContext<V = OptionValues<Options>> {
  /** "noun verb", for error messages that point at `--help`. */
  name: string;
  values: V;
  positionals: string[];
  /** The global `-o/--output`. Default "table". */
  output: OutputFormat;
  /** The global `-v`/`--log-level`: the log file's level, and whether its lines also go to stderr. */
  log: { level: LogLevel; toStderr: boolean };
  stdout: Writer;
  stderr: Writer;
  env: NodeJS.ProcessEnv;
  /** The Kubernetes API, when the caller injects one; default: the kubeconfig's (see openSession). */
  clusterApi?: ClusterApi;
}

/** One `kubecycle <noun> <verb>`; a module under `commands/<noun>/<verb>.ts` exports it as `command`. */
export interface Command<O extends Options = Options> {
  /** One line for `kubecycle --help`. */
  summary: string;
  /** The synopsis and flag descriptions, shown by `--help`. */
  usage: string;
  options: O;
  // Method syntax on purpose: the CLI parses argv with exactly `options`, so a command may take its precise values.
  run(ctx: CommandContext<OptionValues<O>>): Promise<number>;
}

/** Declares a command with its values typed from its options. */
export function defineCommand<const O extends Options>(command: Command<O>): Command<O> {
  return command;
}

/** The command line itself is wrong (unknown command or flag, missing argument). Exit code 2, like a user error. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** The command whose `--help` shows the way out: "pki agent", "pki", or "" for the top level. */
  readonly helpFor: string;

  constructor(message: string, helpFor = "") {
    super(message);
    this.helpFor = helpFor;
  }
}

/** The one positional argument a command takes (`NODE`, `NAME`); none or more is a UsageError. */
export function singleArg(ctx: Pick<CommandContext, "name" | "positionals">, name: string): string {
  const [first, extra] = ctx.positionals;
  if (first === undefined) throw new UsageError(`missing ${name}`, ctx.name);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" after ${name}`, ctx.name);
  return first;
}

/** For commands that take no positional argument. */
export function noArgs(ctx: Pick<CommandContext, "name" | "positionals">): void {
  const [extra] = ctx.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`, ctx.name);
}
