import { z } from "zod";
import {
  compileConfig,
  DEFAULT_ALLOWED_UNITS,
  MAX_COMPONENT_PROBE_MS,
  MAX_ETCD_PROBE_MS,
  MAX_UNIT_SETTLE_MS,
  normalizeUnitName,
  readYamlFile,
} from "../shared/index.js";

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

const unitName = z.string().transform((raw, ctx) => {
  try {
    return normalizeUnitName(raw);
  } catch {
    ctx.addIssue({
      code: "custom",
      message: `expected a systemd unit name such as "kubelet", got ${JSON.stringify(raw)}`,
    });
    return z.NEVER;
  }
});

const schema = z.strictObject({
  /** The node's name as the cluster knows it. Default: the host name. */
  nodeName: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, "expected a DNS-1123 name")
    .optional(),
  listen: z
    .strictObject({
      /** Address to bind. Default 0.0.0.0. */
      address: z.union([z.ipv4(), z.ipv6()], "expected an IPv4 or IPv6 address").default("0.0.0.0"),
      /** TCP port. Default 9443. */
      port: z.number().int().min(1).max(65535).default(9443),
    })
    .prefault({}),
  tls: z
    .strictObject({
      ca: z.string().min(1).default("/etc/kubecycle/pki/ca.crt"),
      cert: z.string().min(1).default("/etc/kubecycle/pki/agent.crt"),
      key: z.string().min(1).default("/etc/kubecycle/pki/agent.key"),
    })
    .prefault({}),
  units: z
    .strictObject({
      /** Units the agent may touch. Default: see DEFAULT_ALLOWED_UNITS (kubelet, etcd, the runtimes and their sockets). */
      allow: z
        .array(unitName)
        .min(1, "expected at least one unit")
        .default([...DEFAULT_ALLOWED_UNITS]),
      /** Default wait for a unit to settle when a request gives none. Default 90 s. */
      settleTimeoutMs: ms(100, 3_600_000).default(90_000),
      /** Upper bound for a requested settle timeout. Default 15 min. */
      maxSettleTimeoutMs: ms(100, 3_600_000).default(MAX_UNIT_SETTLE_MS),
      /** A started unit must stay active (same invocation) this long to count as started. Default 500 ms. */
      startStableMs: ms(0, 60_000).default(500),
      /** Journal lines returned with a failure. Default 30. */
      journalLines: z.number().int().min(0).max(1000).default(30),
    })
    .prefault({}),
  /** Durable agent state (operation records). Default /var/lib/kubecycle-agent. */
  stateDir: z.string().min(1).default("/var/lib/kubecycle-agent"),
  operations: z
    .strictObject({
      /** Operation records kept for idempotent replay; the oldest are dropped beyond this. Default 1000. */
      maxRecords: z.number().int().min(10).max(100_000).default(1000),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** Largest request accepted, in bytes. Default 1 MiB. */
      maxMessageBytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(1024 * 1024),
      /** Most units in one call. Default 16. */
      maxUnitsPerCall: z.number().int().min(1).max(256).default(16),
      /** Unary reads one client certificate may have in flight; more are refused (RESOURCE_EXHAUSTED). Default 16. */
      readsPerClient: z.number().int().min(1).max(10_000).default(16),
      /** Unary reads in flight per role: viewers and operators each have their own, so viewers never crowd out an operator. Default 64. */
      readsPerRole: z.number().int().min(1).max(10_000).default(64),
      /** Streams (WatchStatus, EtcdSnapshot) one client certificate may hold open. Default 8. */
      streamsPerClient: z.number().int().min(1).max(10_000).default(8),
      /** Streams open per role. Default 64. */
      streamsPerRole: z.number().int().min(1).max(10_000).default(64),
    })
    .prefault({}),
  status: z
    .strictObject({
      /** How often WatchStatus looks for unit changes. Default 1 s. */
      pollIntervalMs: ms(100, 60_000).default(1000),
      /** How often the slower node facts (CPU, disks, addresses) are refreshed. Default 60 s. */
      factsRefreshMs: ms(1000, 3_600_000).default(60_000),
      /** How long one `systemctl show` of the allow-listed units answers every reader. Default 500 ms. */
      unitCacheMs: ms(0, 60_000).default(500),
    })
    .prefault({}),
  systemd: z
    .strictObject({
      systemctl: z.string().min(1).default("systemctl"),
      journalctl: z.string().min(1).default("journalctl"),
    })
    .prefault({}),
  etcd: z
    .strictObject({
      /** etcd.service's environment file (KubeKey's layout): the member's URLs and the client credentials. */
      envFile: z.string().min(1).default("/etc/etcd.env"),
      etcdctl: z.string().min(1).default("etcdctl"),
      /** Default deadline of a status probe. Default 10 s. */
      timeoutMs: ms(100, 600_000).default(10_000),
      /** The most a status request may ask for (any role: a read must not be made costly). Default 30 s. */
      maxTimeoutMs: ms(100, 600_000).default(MAX_ETCD_PROBE_MS),
      /** Default deadline of taking a snapshot. Default 5 min. */
      snapshotTimeoutMs: ms(1000, 3_600_000).default(300_000),
      /** etcd 3.5+'s offline tool (snapshot status and restore); etcd 3.4 has none, and etcdctl does it. */
      etcdutl: z.string().min(1).default("etcdutl"),
      /** Deadline of restoring a member from a staged snapshot (`snapshot restore`). Default 10 min. */
      restoreTimeoutMs: ms(1000, 3_600_000).default(600_000),
    })
    .prefault({}),
  pods: z
    .strictObject({
      crictl: z.string().min(1).default("crictl"),
      /** Default deadline of stopping the pod sandboxes of a scope. Default 2 min. */
      timeoutMs: ms(1000, 3_600_000).default(120_000),
      /** Containers (and then sandboxes) stopped at the same time, each one crictl process. Default 16. */
      stopConcurrency: z.number().int().min(1).max(256).default(16),
    })
    .prefault({}),
  kubernetes: z
    .strictObject({
      /** The kubelet's static pod directory (kubeadm's and KubeKey's). Default /etc/kubernetes/manifests. */
      manifestDir: z.string().min(1).default("/etc/kubernetes/manifests"),
      /** kubeadm's certificate directory (etcd/healthcheck-client.*, apiserver-etcd-client.*). Default /etc/kubernetes/pki. */
      pkiDir: z.string().min(1).default("/etc/kubernetes/pki"),
      /** The kubelet's kubeconfig, where its client certificate is named. Default /etc/kubernetes/kubelet.conf. */
      kubeletKubeconfig: z.string().min(1).default("/etc/kubernetes/kubelet.conf"),
      /** The kubelet's healthz port on 127.0.0.1 (its healthzPort setting). Default 10248. */
      kubeletHealthzPort: z.number().int().min(1).max(65535).default(10248),
    })
    .prefault({}),
  probes: z
    .strictObject({
      /** Default deadline of one control-plane health probe. Default 2 s. */
      timeoutMs: ms(100, 60_000).default(2000),
      /** The most a request may ask for one probe. Default 10 s. */
      maxTimeoutMs: ms(100, 60_000).default(MAX_COMPONENT_PROBE_MS),
    })
    .prefault({}),
  report: z
    .strictObject({
      /**
       * `kubecycle serve` endpoints (host:port) the agent reports to after every start and on every unit change,
       * tried in order until one acknowledges. Default none: no reports.
       */
      endpoints: z
        .array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "expected host:port"))
        .max(8)
        .default([]),
      /** The name serve's certificate must carry. Default: the host of the endpoint dialled. */
      serverName: z.string().min(1).max(253).optional(),
      /** First pause after every endpoint failed; it doubles up to maxBackoffMs, half of it random. Default 1 s. */
      initialBackoffMs: ms(100, 600_000).default(1000),
      /** The longest pause between tries. Default 30 s. */
      maxBackoffMs: ms(100, 3_600_000).default(30_000),
      /** Deadline of one report. Default 5 s. */
      callTimeoutMs: ms(100, 120_000).default(5000),
      /** A report is sent at least this often, also when nothing changed. Default 5 min. */
      heartbeatMs: ms(1000, 86_400_000).default(300_000),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    })
    .prefault({}),
  /** On SIGTERM, how long in-flight calls may finish before they are cut. Default 30 s. */
  shutdownGraceMs: ms(0, 600_000).default(30_000),
});

/** The agent's validated, normalized and frozen configuration. */
export type CompiledAgentConfig = z.output<typeof schema>;

const rules = [
  (c: CompiledAgentConfig) =>
    c.units.allow.filter((u, i) => c.units.allow.indexOf(u) !== i).map((u) => `units.allow: ${u} is listed twice`),
  (c: CompiledAgentConfig) =>
    c.units.settleTimeoutMs > c.units.maxSettleTimeoutMs
      ? [`units.settleTimeoutMs: expected at most units.maxSettleTimeoutMs (${c.units.maxSettleTimeoutMs})`]
      : [],
  (c: CompiledAgentConfig) =>
    c.etcd.timeoutMs > c.etcd.maxTimeoutMs
      ? [`etcd.timeoutMs: expected at most etcd.maxTimeoutMs (${c.etcd.maxTimeoutMs})`]
      : [],
  (c: CompiledAgentConfig) => [
    ...(c.limits.readsPerClient > c.limits.readsPerRole
      ? [`limits.readsPerClient: expected at most limits.readsPerRole (${c.limits.readsPerRole})`]
      : []),
    ...(c.limits.streamsPerClient > c.limits.streamsPerRole
      ? [`limits.streamsPerClient: expected at most limits.streamsPerRole (${c.limits.streamsPerRole})`]
      : []),
  ],
  (c: CompiledAgentConfig) =>
    c.report.initialBackoffMs > c.report.maxBackoffMs
      ? [`report.initialBackoffMs: expected at most report.maxBackoffMs (${c.report.maxBackoffMs})`]
      : [],
  (c: CompiledAgentConfig) =>
    c.probes.timeoutMs > c.probes.maxTimeoutMs
      ? [`probes.timeoutMs: expected at most probes.maxTimeoutMs (${c.probes.maxTimeoutMs})`]
      : [],
];

/** Validates a parsed YAML document into a CompiledAgentConfig; `source` names it in errors. */
export function compileAgentConfig(raw: unknown, source = "agent config"): Readonly<CompiledAgentConfig> {
  return compileConfig(source, raw, schema, (parsed) => parsed, rules);
}

/** Reads and compiles the agent's YAML config file. */
export async function loadAgentConfig(path: string): Promise<Readonly<CompiledAgentConfig>> {
  return compileAgentConfig(await readYamlFile(path), path);
}
