import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { KubecycleError } from "./errors.js";

/** A cross-field rule: returns problems as `path: message` strings, or nothing. */
export type ConfigRule<T> = (config: T) => string[];

/**
 * The one config pipeline: schema (types and ranges) with defaults, then normalize, then cross-field rules, giving
 * a deeply frozen result. Every problem names the field's path and what was expected; all of them are reported at
 * once so the operator fixes the file in one go.
 */
export function compileConfig<S extends z.ZodType, C>(
  source: string,
  raw: unknown,
  schema: S,
  normalize: (parsed: z.output<S>) => C,
  rules: ConfigRule<C>[] = [],
): Readonly<C> {
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
      return `${path}: ${issue.message}`;
    });
    throw configError(source, problems);
  }
  const compiled = normalize(parsed.data);
  const problems = rules.flatMap((rule) => rule(compiled));
  if (problems.length > 0) throw configError(source, problems);
  return deepFreeze(compiled);
}

function configError(source: string, problems: string[]): KubecycleError {
  return new KubecycleError("CONFIG_INVALID", `invalid config ${source}:\n  ${problems.join("\n  ")}`, {
    problems,
    hint: `fix the fields named above in ${source}`,
  });
}

/** Reads a YAML file; an unreadable file or a YAML syntax error is CONFIG_INVALID with the line. */
export async function readYamlFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new KubecycleError("CONFIG_INVALID", `cannot read config ${path}: ${(err as Error).message}`, {
      hint: "pass the path of an existing file with --config",
    });
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw configError(
      path,
      doc.errors.map((e) => e.message.split("\n")[0] ?? e.message),
    );
  }
  return doc.toJS({ maxAliasCount: 50 }) as unknown;
}

export function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
