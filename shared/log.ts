import { pino, type Logger, type LevelWithSilent, type DestinationStream } from "pino";

export type { Logger } from "pino";

/** Options for {@link createLogger}. */
export interface LogOptions {
  /** Logger name, e.g. "kubecycle-agent". */
  name: string;
  /** Minimum level. Default "info". */
  level?: LevelWithSilent;
  /** Where JSON lines go. Default stdout. */
  destination?: DestinationStream;
}

/** The one way kubecycle makes a root logger; everything else receives it (or a child of it) as a parameter. */
export function createLogger(opts: LogOptions): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? "info",
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
