import { homedir } from "node:os";
import { existsSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import {
  KubecycleError,
  MAX_ETCD_PROBE_MS,
  MAX_POD_SANDBOXES_MS,
  MAX_SNAPSHOT_MS,
  MAX_UNIT_SETTLE_MS,
  compileConfig,
  readYamlFile,
} from "../shared/index.js";
import type { ClusterTimeouts } from "./plan/index.js";

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

/** The longest drain (`timeouts.drainMs`, `--drain-timeout`): a day. */
export const MAX_DRAIN_MS = 24 * 3_600_000;

const schema = z.strictObject({
  /** A name for the cluster, used in lock holders and the state directory. Default "kubernetes". */
  cluster: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "expected a DNS-1123 label")
    .default("kubernetes"),
  /** kubeconfig path. Default: $KUBECONFIG (a list, merged as kubectl merges it), then ~/.kube/config. */
  kubeconfig: z.string().min(1).optional(),
  /** kubeconfig context. Default: its current context. */
  context: z.string().min(1).optional(),
  agents: z.strictObject({
    /** Port every agent listens on. Default 9443. */
    port: z.number().int().min(1).max(65535).default(9443),
    tls: z.strictObject({ ca: z.string().min(1), cert: z.string().min(1), key: z.string().min(1) }),
    /** Deadline of one agent call (status, health). Default 10 s. */
    callTimeoutMs: ms(100, 600_000).default(10_000),
    /** How long a call keeps retrying an agent that does not answer at all before the step fails naming it. Default 20 s. */
    unreachableMs: ms(100, 3_600_000).default(20_000),
  }),
  /**
   * Steps of one phase that run at once. Default: all of them. A phase runs on every node it names at once (SPEC.md,
   * "Cluster stop"): a bound of k turns a phase on n nodes into n/k rounds of the slowest node's transition.
   */
  concurrency: z.number().int().min(1).optional(),
  /** Journals, inventory cache, backups. Default ~/.kubecycle/<cluster>. */
  stateDir: z.string().min(1).optional(),
  backups: z
    .strictObject({
      /** Default <stateDir>/backups. */
      dir: z.string().min(1).optional(),
      /** Snapshots kept. Default 5. */
      keep: z.number().int().min(1).max(1000).default(5),
    })
    .prefault({}),
  /**
   * Deadlines by phase, in milliseconds. Those the agents enforce too (a unit's settle, the pod sandboxes, an etcd
   * probe, a snapshot) are refused here above what an agent accepts.
   */
  timeouts: z
    .strictObject({
      lockMs: ms(1000, 600_000).default(15_000),
      backupMs: ms(1000, MAX_SNAPSHOT_MS).default(300_000),
      cordonMs: ms(1000, 600_000).default(15_000),
      drainMs: ms(1000, MAX_DRAIN_MS).default(300_000),
      replacementMs: ms(1000, 3_600_000).default(180_000),
      unitSettleMs: ms(1000, MAX_UNIT_SETTLE_MS).default(120_000),
      podSandboxesMs: ms(1000, MAX_POD_SANDBOXES_MS).default(120_000),
      nodeNotReadyMs: ms(1000, 3_600_000).default(120_000),
      nodeReadyMs: ms(1000, 3_600_000).default(300_000),
      etcdHealthyMs: ms(1000, 3_600_000).default(120_000),
      /** One etcd member's answer (health, status, member list). */
      etcdProbeMs: ms(1000, MAX_ETCD_PROBE_MS).default(5_000),
      controlPlaneMs: ms(1000, 3_600_000).default(180_000),
      /** From a node's PowerOff to its agent gone. */
      powerOffMs: ms(1000, 3_600_000).default(120_000),
      /** Releasing or parking the lock when a procedure ends, also after Ctrl-C. */
      cleanupMs: ms(1000, 600_000).default(15_000),
    })
    .prefault({}),
  /**
   * `kubecycle serve`, the coordinator as a daemon: where it listens for the agents' reports, its own certificate,
   * and where `kubecycle status` finds it. Default none: status asks no serve.
   */
  serve: z
    .strictObject({
      listen: z
        .strictObject({
          /** Default 0.0.0.0. */
          address: z.union([z.ipv4(), z.ipv6()], "expected an IPv4 or IPv6 address").default("0.0.0.0"),
          /** Default 9444. */
          port: z.number().int().min(1).max(65535).default(9444),
        })
        .prefault({}),
      /** serve's certificate (`kubecycle pki serve`); the CA is agents.tls.ca. Needed to run serve. */
      tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
      /** host:port where `kubecycle status` reaches serve. Default the listen address (127.0.0.1 for 0.0.0.0). */
      endpoint: z.string().min(1).optional(),
      /** The name serve's certificate is checked against from status. Default the endpoint's host. */
      serverName: z.string().min(1).optional(),
      /** Prometheus metrics over plain HTTP at /metrics; port 0 turns them off. Default 127.0.0.1:9445. */
      metrics: z
        .strictObject({
          address: z.union([z.ipv4(), z.ipv6()]).default("127.0.0.1"),
          port: z.number().int().min(0).max(65535).default(9445),
        })
        .prefault({}),
      /** An agent whose last report is older than this no longer counts as reporting. Default 11 min. */
      staleAfterMs: ms(1000, 86_400_000).default(660_000),
      /** How long a start on boot waits for the agents once they reported, and for the pods to settle. */
      waitAgentsMs: ms(1000, 7 * 86_400_000).default(600_000),
      settleMs: ms(0, 86_400_000).default(300_000),
      /** The start on boot approves the kubelets' matching CSRs, as `cluster start --approve-kubelet-csrs`. */
      approveKubeletCsrs: z.boolean().default(false),
      /**
       * The status page over HTTPS (serve's certificate), for viewers' and operators' certificates and for tokens
       * from `kubecycle serve token`; port 0 turns it off. Default the listen address, port 9446.
       */
      page: z
        .strictObject({
          address: z.union([z.ipv4(), z.ipv6()], "expected an IPv4 or IPv6 address").optional(),
          port: z.number().int().min(0).max(65535).default(9446),
          /** How often the agents are asked for their status while someone watches the page. Default 2 s. */
          probeMs: ms(500, 60_000).default(2000),
          /** The base of the links `serve token` prints (a name serve's certificate carries). Default the address. */
          url: z.url({ protocol: /^https$/ }).optional(),
        })
        .prefault({}),
    })
    .optional(),
  /** Per-node overrides, e.g. the address to dial the agent on when it is not the node's InternalIP. */
  nodes: z.record(z.string(), z.strictObject({ address: z.string().min(1).optional() })).default({}),
});

type Parsed = z.output<typeof schema>;

/** Every deadline the coordinator uses: the node procedures' and its own. */
export type CoordinatorTimeouts = ClusterTimeouts & { etcdProbeMs: number; cleanupMs: number };

/** The coordinator's validated, normalized, frozen configuration. */
export interface CompiledCoordinatorConfig {
  /** Where the config came from, for messages. */
  source: string;
  cluster: string;
  /** The kubeconfig files, merged in order as kubectl merges $KUBECONFIG: the first to set a value wins. */
  kubeconfig: string[];
  context: string | undefined;
  agents: {
    port: number;
    tls: { ca: string; cert: string; key: string };
    callTimeoutMs: number;
    unreachableMs: number;
  };
  /** Steps of one phase that run at once; Infinity: all of them. */
  concurrency: number;
  stateDir: string;
  backups: { dir: string; keep: number };
  timeouts: CoordinatorTimeouts;
  nodes: Record<string, { address?: string }>;
  /** `kubecycle serve`'s settings, when the config has them. */
  serve: CompiledServeConfig | undefined;
}

/** `kubecycle serve`'s part of the config. */
export interface CompiledServeConfig {
  listen: { address: string; port: number };
  tls: { ca: string; cert: string; key: string } | undefined;
  /** host:port for status. */
  endpoint: string;
  serverName: string | undefined;
  /** undefined: off. */
  metrics: { address: string; port: number } | undefined;
  staleAfterMs: number;
  waitAgentsMs: number;
  settleMs: number;
  approveKubeletCsrs: boolean;
  /** The status page; undefined: off. */
  page: CompiledPageConfig | undefined;
}

/** Where the status page listens, how often it asks the agents, and the address its links carry. */
export interface CompiledPageConfig {
  address: string;
  port: number;
  probeMs: number;
  /** https://host:port, the base of the links `kubecycle serve token` prints. */
  url: string;
}

/** Compiles a parsed YAML document; relative paths are taken relative to `baseDir`. */
export function compileCoordinatorConfig(
  raw: unknown,
  opts: { source: string; baseDir: string; env: NodeJS.ProcessEnv },
): Readonly<CompiledCoordinatorConfig> {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(opts.baseDir, p.replace(/^~(?=\/)/, homedir())));
  return compileConfig(
    opts.source,
    raw,
    schema,
    (c: Parsed): CompiledCoordinatorConfig => {
      const stateDir = abs(c.stateDir ?? join(homedir(), ".kubecycle", c.cluster));
      const fromEnv = (opts.env.KUBECONFIG ?? "").split(delimiter).filter((p) => p !== "");
      const kubeconfig = c.kubeconfig
        ? [c.kubeconfig]
        : fromEnv.length
          ? fromEnv
          : [join(homedir(), ".kube", "config")];
      return {
        source: opts.source,
        cluster: c.cluster,
        kubeconfig: kubeconfig.map(abs),
        context: c.context,
        agents: {
          port: c.agents.port,
          tls: { ca: abs(c.agents.tls.ca), cert: abs(c.agents.tls.cert), key: abs(c.agents.tls.key) },
          callTimeoutMs: c.agents.callTimeoutMs,
          unreachableMs: c.agents.unreachableMs,
        },
        concurrency: c.concurrency ?? Number.POSITIVE_INFINITY,
        stateDir,
        backups: { dir: abs(c.backups.dir ?? join(stateDir, "backups")), keep: c.backups.keep },
        timeouts: { agentCallMs: c.agents.callTimeoutMs, ...c.timeouts },
        nodes: c.nodes,
        serve: c.serve && {
          listen: c.serve.listen,
          tls: c.serve.tls && {
            ca: abs(c.agents.tls.ca),
            cert: abs(c.serve.tls.cert),
            key: abs(c.serve.tls.key),
          },
          endpoint: c.serve.endpoint ?? hostPort(wildcardToLoopback(c.serve.listen.address), c.serve.listen.port),
          serverName: c.serve.serverName,
          metrics: c.serve.metrics.port === 0 ? undefined : c.serve.metrics,
          staleAfterMs: c.serve.staleAfterMs,
          waitAgentsMs: c.serve.waitAgentsMs,
          settleMs: c.serve.settleMs,
          approveKubeletCsrs: c.serve.approveKubeletCsrs,
          page: pageConfig(c.serve.listen.address, c.serve.page),
        },
      };
    },
    RULES,
  );
}

function pageConfig(
  listen: string,
  p: { address?: string | undefined; port: number; probeMs: number; url?: string | undefined },
): CompiledPageConfig | undefined {
  if (p.port === 0) return undefined;
  const address = p.address ?? listen;
  const url = (p.url ?? `https://${hostPort(wildcardToLoopback(address), p.port)}`).replace(/\/+$/, "");
  return { address, port: p.port, probeMs: p.probeMs, url };
}

/** `host:port`, with an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function wildcardToLoopback(address: string): string {
  return address === "0.0.0.0" ? "127.0.0.1" : address === "::" ? "::1" : address;
}

/** Timeouts that contradict each other fail when the config is read, not halfway through a procedure. */
const RULES = [
  (c: CompiledCoordinatorConfig) =>
    c.timeouts.etcdProbeMs + c.timeouts.agentCallMs >= c.timeouts.etcdHealthyMs
      ? [
          `timeouts.etcdHealthyMs: expected more than timeouts.etcdProbeMs + agents.callTimeoutMs (${c.timeouts.etcdProbeMs + c.timeouts.agentCallMs}), or no member could answer once in time`,
        ]
      : [],
  (c: CompiledCoordinatorConfig) =>
    c.timeouts.agentCallMs >= c.timeouts.controlPlaneMs
      ? [`timeouts.controlPlaneMs: expected more than agents.callTimeoutMs (${c.timeouts.agentCallMs})`]
      : [],
];

/** How long one etcd member may take to answer (what the agent gives etcdctl), and the agent call around it. */
export interface ProbeTimeouts {
  etcdMs: number;
  callMs: number;
}

/** The etcd probe's timeouts: `timeouts.etcdProbeMs`, and that plus an agent call's way there and back. */
export function etcdProbeTimeouts(config: Readonly<CompiledCoordinatorConfig>): ProbeTimeouts {
  return { etcdMs: config.timeouts.etcdProbeMs, callMs: config.timeouts.etcdProbeMs + config.timeouts.agentCallMs };
}

/** The flags that choose the config and override its cluster access (`--config`, `--kubeconfig`, `--context`). */
export interface ConfigFlags {
  config?: string | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

/** Where the config is looked for when no flag names one, in order: the first that exists is read. */
export function configSearchPath(env: NodeJS.ProcessEnv): string[] {
  return [
    ...(env.KUBECYCLE_CONFIG ? [env.KUBECYCLE_CONFIG] : []),
    join(env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), ".config"), "kubecycle", "config.yaml"),
    "/etc/kubecycle/config.yaml",
  ];
}

/**
 * Finds and loads the config: `--config`, then $KUBECYCLE_CONFIG, then ~/.config/kubecycle/config.yaml, then
 * /etc/kubecycle/config.yaml; `--kubeconfig` and `--context` override what it says.
 */
export async function loadCoordinatorConfig(
  flags: ConfigFlags,
  env: NodeJS.ProcessEnv,
): Promise<Readonly<CompiledCoordinatorConfig>> {
  const searched = configSearchPath(env);
  const path = flags.config ?? (env.KUBECYCLE_CONFIG || searched.find((p) => existsSync(p)));
  if (!path) {
    throw new KubecycleError("CONFIG_INVALID", `no kubecycle config: none at ${searched.join(", ")}`, {
      hint: "write one with `kubecycle config init`, or pass --config FILE or set KUBECYCLE_CONFIG (the lab prints one: `npm run lab -- env`)",
    });
  }
  const full = resolve(path);
  const raw = (await readYamlFile(full)) as Record<string, unknown> | null;
  const withFlags = {
    ...(raw ?? {}),
    ...(flags.kubeconfig ? { kubeconfig: resolve(flags.kubeconfig) } : {}),
    ...(flags.context ? { context: flags.context } : {}),
  };
  return compileCoordinatorConfig(withFlags, { source: full, baseDir: dirname(full), env });
}
