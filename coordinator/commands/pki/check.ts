import type { KubecycleError } from "../../../shared/index.js";
import { defineCommand, noArgs, type CommandContext, type OptionValues } from "../../command.js";
import { discover } from "../../inventory.js";
import { openSession } from "../../operation.js";
import { daysLeft, expiryState, listPki, type ExpiryState, type PkiCertificate } from "../../pki/index.js";
import { renderOutput } from "../../ui/output.js";
import { table } from "../../ui/table.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS, parseDuration } from "../common.js";

/** The default `--window`: a month, as `status` warns and `cluster stop --cert-window` refuses. */
const WINDOW_MS = 30 * 86_400_000;

/** What an agent serves now, next to what the PKI directory holds for it. */
interface Served {
  node: string;
  /** ok; unreachable; error (it answered with an error). */
  agent: "ok" | "unreachable" | "error";
  error?: string;
  subject?: string;
  notAfter?: string;
  state?: ExpiryState;
  /** Whether it is the certificate `agents/<node>.crt` holds (same expiry and subject); false: not rolled out yet. */
  matchesDir?: boolean;
  ca?: { subject: string; notAfter: string; state: ExpiryState }[];
}

type Row = PkiCertificate & { state: ExpiryState; daysLeft: number | null };

const renewCommand = (c: PkiCertificate): string =>
  c.kind === "ca"
    ? "kubecycle pki renew ca"
    : c.kind === "agent" || c.kind === "client"
      ? `kubecycle pki renew ${c.name}`
      : "re-issue it where it came from";

const OPTIONS = {
  dir: { type: "string", default: "./pki" },
  window: { type: "string" },
  agents: { type: "boolean", default: false },
  ...CLUSTER_OPTIONS,
} as const;

export const command = defineCommand({
  summary: "List every kubecycle certificate with its role and expiry; exit 1 when one expires within the window",
  usage: `kubecycle pki check [--dir DIR] [--window DUR] [--agents [-c FILE]] [-o json|yaml]

  Lists the CA, the agents' certificates (DIR/agents/), the clients' (DIR/clients/, operators and viewers) and any
  other certificate in DIR (a serve certificate, say), each with its subject, role and expiry, and whether this CA
  issued it. Exits 0 when all are fine, 1 when any has expired, expires within the window, was not issued by this
  CA or cannot be read, naming each and the command that renews it.

  --dir DIR       where the PKI lives (default ./pki)
  --window DUR    how far ahead an expiry counts (default 30d): 90d, 12h, 1h30m
  --agents        also ask every agent which certificate and CA it serves now (needs the cluster config), and
                  whether that is the one in DIR/agents/ (a renewed certificate not rolled out yet is not);
                  an agent that does not answer is named, and does not change the exit code
${CLUSTER_HELP}`,
  options: OPTIONS,
  async run(ctx) {
    noArgs(ctx);
    const { dir } = ctx.values;
    const windowMs =
      parseDuration(ctx, "--window", ctx.values.window, { minMs: 0, maxMs: 36500 * 86_400_000 }) ?? WINDOW_MS;
    const nowMs = Date.now();
    const certs = await listPki(dir);
    const rows: Row[] = certs.map((c) => ({
      ...c,
      state: expiryState(c, nowMs, windowMs),
      daysLeft: c.error === undefined ? daysLeft(c.notAfterUnixMs, nowMs) : null,
    }));
    const served = ctx.values.agents ? await askAgents(ctx, rows, nowMs, windowMs) : undefined;

    const bad = rows.filter((r) => r.state !== "ok");
    const badServed = (served ?? []).filter(
      (s) => (s.state !== undefined && s.state !== "ok") || (s.ca ?? []).some((c) => c.state !== "ok"),
    );
    const data = {
      dir,
      window: `${Math.round(windowMs / 86_400_000)}d`,
      windowMs,
      ok: bad.length === 0 && badServed.length === 0,
      certificates: rows,
      ...(served ? { agents: served } : {}),
    };
    ctx.stdout.write(
      renderOutput(ctx.output, data, (wide) => {
        const body = table(
          ["NAME", "ROLE", "SUBJECT", "EXPIRES", "DAYS", "STATE", ...(wide ? ["PATH", "SANS"] : [])],
          rows.map((r) => [
            r.name,
            r.role,
            r.subject || "-",
            r.notAfter.slice(0, 10) || "-",
            r.daysLeft === null ? "-" : String(r.daysLeft),
            r.state,
            ...(wide ? [r.path, [...r.dnsNames, ...r.ips].join(",") || "-"] : []),
          ]),
        );
        const agentTable = served
          ? table(
              ["NODE", "AGENT", "SERVES", "EXPIRES", "STATE", "SAME AS DIR", "CA EXPIRES"],
              served.map((s) => [
                s.node,
                s.agent,
                s.subject ?? "-",
                s.notAfter?.slice(0, 10) ?? "-",
                s.state ?? "-",
                s.matchesDir === undefined ? "-" : s.matchesDir ? "yes" : "NO",
                (s.ca ?? []).map((c) => c.notAfter.slice(0, 10)).join(",") || "-",
              ]),
            )
          : "";
        const notes = [
          ...bad.map((r) => `${r.name}: ${explain(r)}`),
          ...badServed.map((s) => `agent ${s.node} serves a certificate or CA that ${describeState(s)}`),
          ...(served ?? [])
            .filter((s) => s.agent !== "ok")
            .map((s) => `agent ${s.node} ${s.agent === "unreachable" ? "did not answer" : "answered"}: ${s.error}`),
          ...(served ?? [])
            .filter((s) => s.matchesDir === false)
            .map(
              (s) =>
                `agent ${s.node} does not serve ${dir}/agents/${s.node}.crt: copy it to the node ` +
                "(the agent reloads it by itself); see `kubecycle pki renew --help`",
            ),
        ];
        const summary = data.ok
          ? `all ${rows.length} certificates valid for more than ${data.window}`
          : `${bad.length + badServed.length} need attention (window ${data.window})`;
        return [body, agentTable, [...notes, summary].join("\n")].filter(Boolean).join("\n\n");
      }),
    );
    return data.ok ? 0 : 1;
  },
});

function explain(r: Row): string {
  const how = `renew with \`${renewCommand(r)}\``;
  switch (r.state) {
    case "expired":
      return `EXPIRED on ${r.notAfter.slice(0, 10)}; ${how}`;
    case "expiring":
      return `expires ${r.notAfter.slice(0, 10)} (in ${r.daysLeft} days); ${how}`;
    case "not-issued-by-ca":
      return `was not issued by this CA (${r.subject}); issue it again here, or it belongs to another PKI`;
    case "unreadable":
      return `cannot be read: ${r.error}`;
    case "ok":
      return "ok";
  }
}

function describeState(s: Served): string {
  const states = [s.state, ...(s.ca ?? []).map((c) => c.state)].filter((x) => x && x !== "ok");
  return states.includes("expired") ? "has EXPIRED" : "expires within the window";
}

async function askAgents(
  ctx: CommandContext<OptionValues<typeof OPTIONS>>,
  rows: readonly Row[],
  nowMs: number,
  windowMs: number,
): Promise<Served[]> {
  const session = await openSession(ctx, ctx.values);
  try {
    const { inventory } = await discover(session);
    const stateOf = (notAfterUnixMs: number): ExpiryState =>
      notAfterUnixMs <= nowMs ? "expired" : notAfterUnixMs <= nowMs + windowMs ? "expiring" : "ok";
    return await Promise.all(
      inventory.nodes.map(async (n): Promise<Served> => {
        try {
          const res = await session.agents
            .get(n.name, n.address)
            .getCertificates({ deadlineMs: session.config.agents.callTimeoutMs });
          const own = res.certificates.find((c) => c.purpose === "kubecycle-agent");
          const inDir = rows.find((r) => r.name === `agents/${n.name}`);
          const cas = res.certificates.filter((c) => c.purpose === "kubecycle-ca" && !c.error);
          return {
            node: n.name,
            agent: "ok",
            ...(own && !own.error
              ? {
                  subject: own.subject,
                  notAfter: new Date(Number(own.notAfterUnixMs)).toISOString(),
                  state: stateOf(Number(own.notAfterUnixMs)),
                  // The same validity to the second: the same issue (a renewal always starts a new one).
                  ...(inDir && inDir.error === undefined
                    ? {
                        matchesDir:
                          inDir.notAfterUnixMs === Number(own.notAfterUnixMs) &&
                          Date.parse(inDir.notBefore) === Number(own.notBeforeUnixMs),
                      }
                    : {}),
                }
              : { error: own?.error || "the agent reports no certificate of its own" }),
            ca: cas.map((c) => ({
              subject: c.subject,
              notAfter: new Date(Number(c.notAfterUnixMs)).toISOString(),
              state: stateOf(Number(c.notAfterUnixMs)),
            })),
          };
        } catch (err) {
          const code = (err as KubecycleError).code;
          return {
            node: n.name,
            agent: code === "NODE_UNREACHABLE" || code === "DEADLINE_EXCEEDED" ? "unreachable" : "error",
            error: (err as Error).message,
          };
        }
      }),
    );
  } finally {
    session.close();
  }
}
