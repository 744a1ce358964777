import { parseArgs } from "node:util";
import { createLogger, isKubecycleError } from "../shared/index.js";
import { AGENT_VERSION, startAgent, type RunningAgent } from "./agent.js";
import { loadAgentConfig } from "./config.js";

const USAGE = `Usage: kubecycle-agent --config FILE

The kubecycle node agent: controls allow-listed systemd units over mutually authenticated gRPC.
It reloads its certificate, key and CA on SIGHUP and when their files change.

Options:
  -c, --config FILE   agent config (YAML); required
      --check         validate the config and exit
  -v, --version       print the version
  -h, --help          print this help
`;

async function main(argv: string[]): Promise<number> {
  let values: { config?: string; check?: boolean; version?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: "string", short: "c" },
        check: { type: "boolean" },
        version: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`kubecycle-agent: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return 0;
  }
  if (!values.config) {
    process.stderr.write(`kubecycle-agent: --config FILE is required\n\n${USAGE}`);
    return 2;
  }

  const config = await loadAgentConfig(values.config);
  if (values.check) {
    process.stdout.write(`${values.config}: ok\n`);
    return 0;
  }
  const log = createLogger({ name: "kubecycle-agent", level: config.log.level });
  // SIGHUP reloads the certificate, key and CA. Listening from the start: Node's default for SIGHUP is to exit.
  const started: { agent?: RunningAgent } = {};
  const onHup = () => {
    log.info({ signal: "SIGHUP" }, "signal received: reloading the TLS files");
    if (started.agent) void started.agent.reloadTls("SIGHUP");
    else log.warn("the agent is still starting; it reads the TLS files as it starts");
  };
  process.on("SIGHUP", onHup);
  const agent = await startAgent({ config, log });
  started.agent = agent;
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, "signal received");
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      process.off("SIGHUP", onHup);
      void agent.shutdown().then(resolve);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  log.flush();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Refusing to start on bad config is the expected failure: one clear message, no stack.
    if (isKubecycleError(err) && err.isUserError) {
      process.stderr.write(`kubecycle-agent: ${err.message}\n`);
      if (typeof err.fields.hint === "string") process.stderr.write(`  hint: ${err.fields.hint}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `kubecycle-agent: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
