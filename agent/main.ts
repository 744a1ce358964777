import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { createLogger, isKubecycleError } from "../shared/index.js";
import { AGENT_VERSION, startAgent, type RunningAgent } from "./agent.js";
import { loadAgentConfig } from "./config.js";
import { AGENT_UNIT_NAME, INSTALL_PATHS, installAgent } from "./install.js";

const isParseArgsError = (err: unknown): boolean =>
  err instanceof Error && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS");

const USAGE = `Usage: kubecycle-agent --config FILE
       kubecycle-agent install [flags]   (kubecycle-agent install --help)

The kubecycle node agent: controls allow-listed systemd units over mutually authenticated gRPC.
It reloads its certificate, key and CA on SIGHUP and when their files change.

Options:
  -c, --config FILE   agent config (YAML); required
      --check         validate the config and exit
  -v, --version       print the version
  -h, --help          print this help
`;

const INSTALL_USAGE = `Usage: kubecycle-agent install --ca FILE --cert FILE --key FILE [--node-name NAME] [--listen ADDRESS[:PORT]]
       kubecycle-agent install --config FILE --ca FILE --cert FILE --key FILE
       kubecycle-agent install            (an upgrade: keeps the config and certificates in place)

Installs this agent on this node, as root, where its unit expects it, then enables and starts it:
  ${INSTALL_PATHS.program}   this program
  ${INSTALL_PATHS.config}        the config (--config FILE, or written from --node-name and --listen)
  /etc/kubecycle/pki/             ca.crt, agent.crt, agent.key (0600) from --ca, --cert, --key
  ${INSTALL_PATHS.unit}
Running it again changes nothing; the agent restarts only if a file changed. The program and the unit are replaced
on upgrade; a config or certificate that differs from the one in place is replaced only with --force.

Options:
      --ca FILE           the cluster's kubecycle CA certificate (kubecycle pki init: ca.crt)
      --cert FILE         this node's agent certificate (kubecycle pki agent NODE: agents/NODE.crt)
      --key FILE          its key (agents/NODE.key)
      --node-name NAME    the node's name in Kubernetes (default: the host name)
      --listen ADDR[:PORT] address (and port, default 9443) to serve on (default 0.0.0.0)
  -c, --config FILE       an agent config to install instead (see the README's agent configuration)
      --force             replace a config or certificate that differs from the one installed
      --no-start          enable, but do not start or restart the agent
      --root DIR          install into DIR (an image being prepared): files only, no systemctl
  -h, --help              print this help
`;

async function install(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ca: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      "node-name": { type: "string" },
      listen: { type: "string" },
      config: { type: "string", short: "c" },
      force: { type: "boolean", default: false },
      "no-start": { type: "boolean", default: false },
      root: { type: "string", default: "/" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(INSTALL_USAGE);
    return 0;
  }
  if (values.config !== undefined && (values["node-name"] !== undefined || values.listen !== undefined)) {
    throw new UsageError("--config FILE and --node-name/--listen exclude each other: the config file names both");
  }
  const result = await installAgent({
    root: resolve(values.root),
    force: values.force,
    start: !values["no-start"],
    ...(values.config !== undefined ? { configFile: values.config } : {}),
    ...(values["node-name"] !== undefined ? { nodeName: values["node-name"] } : {}),
    ...(values.listen !== undefined ? { listen: values.listen } : {}),
    ...(values.ca !== undefined ? { ca: values.ca } : {}),
    ...(values.cert !== undefined ? { cert: values.cert } : {}),
    ...(values.key !== undefined ? { key: values.key } : {}),
  });
  for (const f of result.files) process.stdout.write(`${f.action.padEnd(9)} ${f.path}\n`);
  process.stdout.write(`service   ${AGENT_UNIT_NAME}: ${result.service}\n`);
  return 0;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "install") {
    try {
      return await install(argv.slice(1));
    } catch (err) {
      if (!(err instanceof UsageError) && !isParseArgsError(err)) throw err;
      process.stderr.write(`kubecycle-agent install: ${(err as Error).message}\n\n${INSTALL_USAGE}`);
      return 2;
    }
  }
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
    process.stdout.write(`kubecycle-agent ${AGENT_VERSION}\n`);
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
