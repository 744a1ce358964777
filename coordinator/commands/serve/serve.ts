import { resolve } from "node:path";
import { createLogger } from "../../../shared/index.js";
import { defineCommand, noArgs, type CommandContext, type Writer } from "../../command.js";
import { loadCoordinatorConfig } from "../../config.js";
import { openSession } from "../../operation.js";
import { startServe } from "../../serve/daemon.js";
import { startCluster } from "../cluster/start.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS } from "../common.js";

export const command = defineCommand({
  summary: "Run the coordinator as a daemon: keep the agents' boot reports, serve status, start on boot",
  usage: `kubecycle serve [flags]

  Receives every agent's reports (after each boot and on every unit change) over mutual TLS, from agent
  certificates of this cluster's CA and each only about its own node; keeps them in <stateDir>/serve/ (fsynced
  before they are acknowledged); serves them to \`kubecycle status\`; exposes Prometheus metrics; and, when a
  \`cluster stop --poweroff --boot-hold --start-on-boot\` armed it, runs \`cluster start\` (the same plan, checks,
  journal and lock as the CLI's) once every recorded node has reported from a new boot. Logs JSON lines on stdout
  (the journal, under systemd), at the level --log-level sets (default info). SIGTERM stops it; a start it is
  running stops at a step boundary and parks the lock, as on Ctrl-C (\`kubecycle ops resume\` finishes it).

${CLUSTER_HELP}`,
  options: { ...CLUSTER_OPTIONS },
  async run(ctx) {
    noArgs(ctx);
    const config = await loadCoordinatorConfig(ctx.values, ctx.env);
    const log = createLogger({ name: "kubecycle-serve", level: ctx.log.level });
    // The start it runs reads the same config file and kubeconfig, whatever the working directory is then.
    const abs = (p: string | undefined) => (p ? resolve(p) : undefined);
    const flags = {
      config: abs(ctx.values.config ?? ctx.env.KUBECYCLE_CONFIG),
      kubeconfig: abs(ctx.values.kubeconfig),
      context: ctx.values.context,
    };
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
          // The start's own log goes to <stateDir>/kubecycle.log, as the CLI's does.
          log: { level: ctx.log.level, toStderr: false },
          env: ctx.env,
        };
        const session = await openSession(startCtx, flags);
        try {
          await startCluster(startCtx, session, {
            breakLock: false,
            dryRun: false,
            waitAgentsMs: config.serve?.waitAgentsMs ?? 600_000,
            settleMs: config.serve?.settleMs ?? 300_000,
            approveKubeletCsrs: config.serve?.approveKubeletCsrs ?? false,
            origin,
          });
        } finally {
          session.close();
        }
      },
    });
    ctx.stderr.write(
      `kubecycle serve: listening on port ${serve.port}${serve.metricsPort ? `, metrics on port ${serve.metricsPort}` : ""}${serve.pagePort && config.serve?.page ? `, status page at ${config.serve.page.url}/` : ""}\n`,
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
