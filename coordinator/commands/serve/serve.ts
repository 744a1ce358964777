import { resolve } from "node:path";
import { createLogger, type LogOptions } from "../../../shared/index.js";
import { UsageError, defineCommand, noArgs, type CommandContext, type Writer } from "../../command.js";
import { loadCoordinatorConfig } from "../../config.js";
import { openSession } from "../../operation.js";
import { startServe } from "../../serve/daemon.js";
import { startCluster } from "../cluster/start.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS } from "../common.js";

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const command = defineCommand({
  summary: "Run the coordinator as a daemon: keep the agents' boot reports, serve status, start on boot",
  usage: `kubecycle serve [flags]

  Receives every agent's reports (after each boot and on every unit change) over mutual TLS, from agent
  certificates of this cluster's CA and each only about its own node; keeps them in <stateDir>/serve/ (fsynced
  before they are acknowledged); serves them to \`kubecycle status\`; exposes Prometheus metrics; and, when a
  \`cluster stop --poweroff --boot-hold --start-on-boot\` armed it, runs \`cluster start\` (the same plan, checks,
  journal and lock as the CLI's) once every recorded node has reported from a new boot. Logs JSON lines on stdout
  (the journal, under systemd). SIGTERM stops it; a start it is running stops at a step boundary and parks the
  lock, as on Ctrl-C (\`kubecycle ops resume\` finishes it).

      --log-level LEVEL   ${LEVELS.join(", ")} (default info)
${CLUSTER_HELP}`,
  options: { ...CLUSTER_OPTIONS, "log-level": { type: "string", default: "info" } },
  async run(ctx) {
    noArgs(ctx);
    const level = ctx.values["log-level"];
    if (!(LEVELS as readonly string[]).includes(level)) {
      throw new UsageError(`--log-level must be one of ${LEVELS.join(", ")}, not "${level}"`, ctx.name);
    }
    const config = await loadCoordinatorConfig(ctx.values.config, ctx.env);
    const log = createLogger({ name: "kubecycle-serve", level: level as LogOptions["level"] & string });
    const configPath = resolve(ctx.values.config ?? ctx.env.KUBECYCLE_CONFIG ?? "");
    const startLog = log.child({ component: "start-on-boot" });
    // The start's screen is serve's log: its JSON events, one line each.
    const lines = (to: (line: string) => void): Writer => {
      let buf = "";
      return {
        write(chunk: string) {
          buf += chunk;
          for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (line) to(line);
          }
          return true;
        },
      };
    };
    const serve = await startServe({
      config,
      log,
      async runStart(origin) {
        const startCtx: CommandContext = {
          name: "cluster start",
          values: {},
          positionals: [],
          output: "json",
          stdout: lines((l) => {
            try {
              startLog.info({ event: JSON.parse(l) as unknown }, "cluster start");
            } catch {
              startLog.info(l);
            }
          }),
          stderr: lines((l) => startLog.warn(l)),
          env: ctx.env,
        };
        const session = await openSession(startCtx, configPath);
        try {
          await startCluster(startCtx, session, {
            breakLock: false,
            dryRun: false,
            waitAgentsMs: config.serve?.waitAgentsMs ?? 600_000,
            settleMs: config.serve?.settleMs ?? 300_000,
            origin,
          });
        } finally {
          session.close();
        }
      },
    });
    ctx.stderr.write(
      `kubecycle serve: listening on port ${serve.port}${serve.metricsPort ? `, metrics on port ${serve.metricsPort}` : ""}\n`,
    );
    await new Promise<void>((done) => {
      const onSignal = (signal: NodeJS.Signals) => {
        log.info({ signal }, "signal received; stopping");
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
        void serve.stop().then(done);
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
    });
    log.flush();
    return 0;
  },
});
