import { stringify as toYaml } from "yaml";

/** The `-o/--output` formats: `table` (the default) and `wide` are for people, `json` and `yaml` for scripts. */
export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function isOutputFormat(value: string): value is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(value);
}

/**
 * Renders a command's result: `human(wide)` for `table` and `wide` (a command without more to show renders both
 * alike), the data itself for `json` and `yaml`. Ends with a newline.
 */
export function renderOutput(format: OutputFormat, data: unknown, human: (wide: boolean) => string): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(data, null, 2)}\n`;
    case "yaml":
      return toYaml(data);
    case "table":
    case "wide": {
      const text = human(format === "wide");
      return text.endsWith("\n") ? text : `${text}\n`;
    }
  }
}
