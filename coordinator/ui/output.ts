import { stringify as toYaml } from "yaml";

/** The `-o/--output` formats: `table` is for people (the default), `json` and `yaml` for scripts. */
export const OUTPUT_FORMATS = ["table", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function isOutputFormat(value: string): value is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(value);
}

/** Renders a command's result: `human()` for `table`, the data itself for `json` and `yaml`. Ends with a newline. */
export function renderOutput(format: OutputFormat, data: unknown, human: () => string): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(data, null, 2)}\n`;
    case "yaml":
      return toYaml(data);
    case "table": {
      const text = human();
      return text.endsWith("\n") ? text : `${text}\n`;
    }
  }
}
