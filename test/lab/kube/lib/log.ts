// A tiny line logger for the lab's stand-in daemons: one JSON line per event on stderr, which systemd's journal (or
// the test harness) collects. The daemons are fixtures, so they do not pull in pino's transports through a bundle.

/** Fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** Logger of one component. */
export interface Log {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** Creates the logger of `component` (e.g. "kube-apiserver"). */
export function createLog(component: string): Log {
  const line = (level: string, msg: string, fields?: LogFields): void => {
    const rec: LogFields = { time: new Date().toISOString(), level, component, msg, ...fields };
    for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = v.message;
    process.stderr.write(`${JSON.stringify(rec)}\n`);
  };
  return {
    info: (m, f) => line("info", m, f),
    warn: (m, f) => line("warn", m, f),
    error: (m, f) => line("error", m, f),
  };
}

/** The message of anything thrown. */
export function errMsg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
