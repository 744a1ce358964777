import {
  readTlsFiles,
  type KubecycleError,
  type NodeStatus__Output,
  type ReportList__Output,
  type StartOnBoot__Output,
} from "../../../shared/index.js";
import type { AgentConnection } from "../../agents/index.js";
import { defineCommand, noArgs } from "../../command.js";
import { readyStatus } from "../../kube/index.js";
import { discover } from "../../inventory.js";
import { openSession } from "../../operation.js";
import { isEtcdMember } from "../../plan/index.js";
import {
  CERT_WARN_WINDOW_MS,
  formatCertWarning,
  localCertWarnings,
  mergeCertWarnings,
  servedCertWarnings,
  type CertWarning,
} from "../../pki/warnings.js";
import { renderOutput } from "../../ui/output.js";
import { table } from "../../ui/table.js";
import { ServeConnection } from "../../serve/client.js";
import type { ClusterSession } from "../../operation.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS, formatDuration } from "../common.js";

interface Row {
  node: string;
  roles: string[];
  /** The unit names this node's agent reported: kubelet, etcd (systemd mode), the runtime's services. */
  unitNames: { kubelet: string; etcd: string; runtime: string[] };
  /** How etcd runs on the node: systemd, static-pod, none, unknown. */
  etcdMode: string;
  address: string;
  /** ok; unreachable (no answer); error (it answered, with an error: the message says which). */
  agent: "ok" | "unreachable" | "error";
  agentError?: string;
  units: Record<string, string>;
  ready: string;
  schedulable: boolean | null;
  etcd: { healthy: boolean; leader: boolean; memberId: string; error?: string } | null;
  bootedAt: string | null;
  bootId: string | null;
  /** The node's last report to kubecycle serve (null: none kept, or no serve asked). */
  lastReport: { at: string; ageMs: number; bootId: string; reason: string; agentVersion: string } | null;
}

export const command = defineCommand({
  summary: "One row per node: agent, unit states, API Ready/schedulable, etcd health and leader, boot time",
  usage: `kubecycle status [-o json|yaml]

  Works when the API or some agents are down, and says so: without the API it uses the cached inventory. With
  \`serve\` in the config, each node's last report to kubecycle serve and its age, and a start armed on boot with
  the nodes it still waits for (and since when); without a serve that answers, everything else still shows.
  Warns when a kubecycle certificate expires within 30 days: an agent's (as it serves it), the CA's, or this
  coordinator's own client certificate, with the \`kubecycle pki renew\` command for each.

${CLUSTER_HELP}`,
  options: { ...CLUSTER_OPTIONS },
  async run(ctx) {
    noArgs(ctx);
    const session = await openSession(ctx, ctx.values);
    try {
      // The nodes from the API, then one round to every agent: its layout, its status (the local etcd member with
      // it) and the certificates it serves, asked together.
      const certificatesOf = (agent: AgentConnection) =>
        agent.getCertificates({ deadlineMs: session.config.agents.callTimeoutMs }).catch(() => undefined);
      const certificates = new Map<string, ReturnType<typeof certificatesOf>>();
      const { inventory, apiNodes, localEtcd, statuses } = await discover(session, {
        withStatus: true,
        onContact: (node, agent) => certificates.set(node, certificatesOf(agent)),
      });
      const apiError = apiNodes ? "" : "the API did not answer; see the log";
      const { config } = session;
      const serve = askServe(session);
      const nowMs = Date.now();
      const certWarnings: CertWarning[] = await localCertWarnings(config.agents.tls, nowMs, CERT_WARN_WINDOW_MS);
      const rows: Row[] = await Promise.all(
        inventory.nodes.map(async (n): Promise<Row> => {
          const api = apiNodes?.find((a) => a.metadata?.name === n.name);
          let agentError = "";
          let agentState: Row["agent"] = "ok";
          const agent = session.agents.get(n.name, n.address);
          // The certificates the agent serves (asked in discovery's round, or now when discovery asked no agent):
          // their warnings only; its status said whether it answered.
          const certs = (certificates.get(n.name) ?? certificatesOf(agent)).then((res) => {
            if (res) certWarnings.push(...servedCertWarnings(n.name, res.certificates, nowMs, CERT_WARN_WINDOW_MS));
          });
          // Without the API, discovery asked no agent (the inventory is the cached one): ask for the status here.
          const asked: { status?: NodeStatus__Output; error?: unknown } | undefined = statuses
            ? statuses.get(n.name)
            : await agent.getStatus({ includeEtcd: isEtcdMember(n) }, { deadlineMs: config.agents.callTimeoutMs }).then(
                (st) => ({ status: st }),
                (err: unknown) => ({ error: err }),
              );
          const status = asked?.status;
          if (!status) {
            const err = asked?.error ?? new Error("discovery did not ask this node's agent");
            agentError = (err as Error).message;
            const code = (err as KubecycleError).code;
            agentState = code === "NODE_UNREACHABLE" || code === "DEADLINE_EXCEEDED" ? "unreachable" : "error";
          }
          await certs;
          const unitName = (u: string) => (u.endsWith(".service") ? u.slice(0, -8) : u);
          const etcd = localEtcd.get(n.name) ?? status?.etcd;
          return {
            node: n.name,
            roles: [
              ...(n.controlPlane ? ["control-plane"] : []),
              ...(isEtcdMember(n) ? [n.etcd.role === "learner" ? "etcd-learner" : "etcd"] : []),
              ...(n.controlPlane ? [] : ["worker"]),
            ],
            unitNames: {
              kubelet: unitName(n.kubeletUnit),
              etcd: n.etcd.unit ? unitName(n.etcd.unit) : "",
              runtime: n.runtime.units.map((u) => unitName(u.service)),
            },
            etcdMode: n.etcd.mode,
            address: n.address,
            agent: agentState,
            ...(agentError ? { agentError } : {}),
            units: Object.fromEntries(
              (status?.units ?? []).filter((u) => u.exists).map((u) => [unitName(u.name), u.activeState]),
            ),
            ready: api ? readyStatus(api) : apiNodes ? "absent" : "?",
            schedulable: api ? !api.spec?.unschedulable : null,
            etcd: etcd?.isMember
              ? {
                  healthy: etcd.healthy,
                  leader: etcd.memberId !== "" && etcd.memberId === etcd.leaderId,
                  memberId: etcd.memberId,
                  ...(etcd.healthy ? {} : { error: etcd.healthError }),
                }
              : null,
            bootedAt: status?.facts ? new Date(Number(status.facts.bootedUnixMs)).toISOString() : null,
            bootId: status?.facts?.bootId ?? null,
            lastReport: null,
          };
        }),
      );
      const reports = await serve;
      for (const r of rows) {
        const k = reports.list?.reports.find((x) => x.report?.nodeName === r.node);
        if (k?.report && reports.list) {
          r.lastReport = {
            at: new Date(Number(k.receivedUnixMs)).toISOString(),
            ageMs: Math.max(0, reports.list.nowUnixMs - k.receivedUnixMs),
            bootId: k.report.bootId,
            reason: k.report.reason.replace(/^REPORT_REASON_/, "").toLowerCase(),
            agentVersion: k.report.agentVersion,
          };
        }
      }
      const sob = reports.list?.startOnBoot;
      const data = {
        cluster: config.cluster,
        api: apiNodes
          ? { server: session.api.server, reachable: true }
          : { server: session.api.server, reachable: false, error: apiError },
        inventory: { source: inventory.source, collectedAt: inventory.collectedAt },
        etcd: inventory.etcd,
        serve: reports.endpoint
          ? {
              endpoint: reports.endpoint,
              reachable: reports.list !== undefined,
              ...(reports.error ? { error: reports.error } : {}),
              ...(sob ? { startOnBoot: sob } : {}),
            }
          : null,
        nodes: rows,
        certificateWarnings: mergeCertWarnings(certWarnings),
      };
      ctx.stdout.write(
        renderOutput(ctx.output, data, (wide) => {
          const unit = (r: Row, u: string) => r.units[u] ?? (r.agent === "ok" ? "-" : "?");
          const head = [
            "NODE",
            "ROLES",
            "AGENT",
            "KUBELET",
            "ETCD",
            "RUNTIME",
            "READY",
            "SCHEDULING",
            "ETCD HEALTH",
            "BOOTED",
            "LAST REPORT",
          ];
          const body = table(
            wide ? [...head, "ADDRESS", "ETCD MEMBER", "BOOT ID"] : head,
            rows.map((r) => [
              r.node,
              r.roles.join(","),
              r.agent,
              unit(r, r.unitNames.kubelet),
              r.etcdMode === "static-pod" ? "static-pod" : r.unitNames.etcd ? unit(r, r.unitNames.etcd) : "-",
              r.unitNames.runtime.map((u) => unit(r, u)).join("/") || "?",
              r.ready,
              r.schedulable === null ? "?" : r.schedulable ? "enabled" : "disabled",
              r.etcd
                ? `${r.etcd.healthy ? "healthy" : "UNHEALTHY"}${r.etcd.leader ? " (leader)" : ""}`
                : r.roles.includes("etcd")
                  ? "?"
                  : "-",
              r.bootedAt?.replace(/\.\d+Z$/, "Z") ?? "?",
              r.lastReport ? `${formatAge(r.lastReport.ageMs)} ago` : reports.list ? "never" : "?",
              ...(wide ? [r.address, r.etcd?.memberId || "-", r.bootId ?? "?"] : []),
            ]),
          );
          const notes = [
            ...(apiNodes ? [] : [`API at ${session.api.server} unreachable: ${apiError}`]),
            ...(inventory.source === "cache" ? [`using the cached inventory from ${inventory.collectedAt}`] : []),
            ...rows.filter((r) => r.agentError).map((r) => `${r.node}: ${r.agentError}`),
            ...inventory.etcd.members
              .filter((m) => !m.node)
              .map((m) => `etcd member ${m.name || m.id} (${m.peerUrls.join(", ")}) runs outside the cluster's nodes`),
            ...(inventory.etcd.error ? [`etcd member list: ${inventory.etcd.error}`] : []),
            ...(reports.error ? [reports.error] : []),
            ...(sob ? startOnBootNotes(sob, reports.list?.nowUnixMs ?? nowMs) : []),
            ...data.certificateWarnings.map(formatCertWarning),
          ];
          return notes.length ? `${body}\n\n${notes.join("\n")}` : body;
        }),
      );
      return 0;
    } finally {
      session.close();
    }
  },
});

/** Asks serve for the reports, when the config names one; never fails (status must work without serve). */
async function askServe(
  session: ClusterSession,
): Promise<{ endpoint?: string; list?: ReportList__Output; error?: string }> {
  const s = session.config.serve;
  if (!s) return {};
  let conn: ServeConnection | undefined;
  try {
    const tls = await readTlsFiles(session.config.agents.tls, "agents.tls");
    conn = new ServeConnection(s.endpoint, tls, s.serverName);
    return { endpoint: s.endpoint, list: await conn.listReports(Math.min(5000, session.config.agents.callTimeoutMs)) };
  } catch (err) {
    return { endpoint: s.endpoint, error: (err as Error).message };
  } finally {
    conn?.close();
  }
}

/** "4s", "12m", "3h", "2d": an age at a glance. */
function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** What the armed start does, in words: the nodes still missing, each since when. */
function startOnBootNotes(sob: StartOnBoot__Output, now: number): string[] {
  const head = `start on boot (armed by cluster stop ${sob.stopOperation}): ${sob.state}`;
  if (sob.state === "waiting") {
    return [
      `${head}; ${sob.reported.length} node(s) reported from a new boot, waiting for ${sob.missing.length}:`,
      ...sob.missing.map(
        (m) =>
          `  ${m.nodeName}: not reported since ${new Date(Number(m.sinceUnixMs)).toISOString()} (${formatDuration(Math.max(0, Math.floor((now - m.sinceUnixMs) / 1000)) * 1000)} ago)`,
      ),
    ];
  }
  return [
    `${head}${sob.startOperation ? ` (operation ${sob.startOperation})` : ""}${sob.reason ? `: ${sob.reason}` : ""}`,
  ];
}
