import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { defineCommand, noArgs } from "../../command.js";
import { etcdProbeTimeouts } from "../../config.js";
import { assessEtcd } from "../../etcd/quorum.js";
import { surveyMembers } from "../../etcd/survey.js";
import { discover } from "../../inventory.js";
import { isReady, readyStatus } from "../../kube/index.js";
import { openSession } from "../../operation.js";
import { renderOutput } from "../../ui/output.js";
import { table } from "../../ui/table.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS } from "../common.js";

/** How long before its expiry the coordinator's own certificate counts as a problem. */
const CERT_WARN_MS = 30 * 86_400_000;

/** One thing `health` checked. */
interface Check {
  check: string;
  ok: boolean;
  detail: string;
}

export const command = defineCommand({
  summary: "Check the whole cluster and exit non-zero when anything is unhealthy (for scripts and monitoring)",
  usage: `kubecycle health [-o json|yaml]

  As \`talosctl health\`: the API answers and is ready; every node is Ready; every node's agent serves; etcd's
  members are all healthy with one leader; each control-plane node's apiserver, scheduler and controller-manager
  answer their health endpoints (asked by its agent); this coordinator's certificate does not expire within 30 days.
  Prints one line per check; exits 0 when all pass, 1 when any fails.

${CLUSTER_HELP}`,
  options: { ...CLUSTER_OPTIONS },
  async run(ctx) {
    noArgs(ctx);
    const session = await openSession(ctx, ctx.values);
    try {
      const { config, agents, api } = session;
      const { inventory, apiNodes } = await discover(session);
      const call = { deadlineMs: config.agents.callTimeoutMs };
      const checks: Check[] = [];

      const readyz = apiNodes ? await api.readyz() : { ok: false, body: "the API did not answer" };
      checks.push({
        check: "API",
        ok: readyz.ok,
        detail: readyz.ok ? `${api.server} ready` : `${api.server}: ${readyz.body.split("\n").slice(-2).join(" ")}`,
      });

      const notReady = inventory.nodes
        .map((n) => ({ n, api: apiNodes?.find((a) => a.metadata?.name === n.name) }))
        .filter(({ api: a }) => !a || !isReady(a))
        .map(({ n, api: a }) => `${n.name} (${a ? `Ready=${readyStatus(a)}` : apiNodes ? "absent" : "unknown"})`);
      checks.push({
        check: "nodes Ready",
        ok: apiNodes !== undefined && notReady.length === 0,
        detail: notReady.length ? notReady.join(", ") : `${inventory.nodes.length} of ${inventory.nodes.length}`,
      });

      const agentProblems = (
        await Promise.all(
          inventory.nodes.map(async (n) => {
            try {
              const h = await agents.get(n.name, n.address).health(call);
              return h.state === "serving" ? undefined : `${n.name}: ${h.state}`;
            } catch (err) {
              return (err as Error).message;
            }
          }),
        )
      ).filter((p): p is string => p !== undefined);
      checks.push({
        check: "agents",
        ok: agentProblems.length === 0,
        detail: agentProblems.length ? agentProblems.join("; ") : `${inventory.nodes.length} serving`,
      });

      const members = await surveyMembers({ agents, inventory, timeouts: etcdProbeTimeouts(config) });
      const etcd = assessEtcd(members);
      const etcdOk = members.length > 0 && etcd.problems.length === 0 && etcd.leaders.length === 1;
      checks.push({
        check: "etcd",
        ok: etcdOk,
        detail: etcdOk
          ? `${members.length} members healthy, one leader`
          : [
              ...(members.length === 0 ? [inventory.etcd.error ?? "no member list"] : []),
              ...etcd.problems,
              ...(etcd.leaders.length === 1 ? [] : [`leaders seen: ${etcd.leaders.join(", ") || "none"}`]),
            ].join("; "),
      });

      const cp = (
        await Promise.all(
          inventory.nodes
            .filter((n) => n.controlPlane)
            .map(async (n) => {
              try {
                const r = await agents.get(n.name, n.address).probeComponents({}, call);
                return r.components
                  .filter((c) => c.present && c.component !== "kubelet" && !c.healthy)
                  .map((c) => `${n.name} ${c.component}: ${c.detail}`);
              } catch (err) {
                return [(err as Error).message];
              }
            }),
        )
      ).flat();
      checks.push({
        check: "control plane",
        ok: cp.length === 0,
        detail: cp.length ? cp.join("; ") : "every apiserver, scheduler and controller-manager answers ok",
      });

      checks.push(await clientCertificate(config.agents.tls.cert));

      const ok = checks.every((c) => c.ok);
      ctx.stdout.write(
        renderOutput(ctx.output, { cluster: config.cluster, healthy: ok, checks }, () =>
          table(
            ["CHECK", "RESULT", "DETAIL"],
            checks.map((c) => [c.check, c.ok ? "ok" : "FAIL", c.detail]),
          ),
        ),
      );
      return ok ? 0 : 1;
    } finally {
      session.close();
    }
  },
});

/** The coordinator's own client certificate: the agents refuse it once it expires. */
async function clientCertificate(path: string): Promise<Check> {
  try {
    const cert = new X509Certificate(await readFile(path));
    const left = Date.parse(cert.validTo) - Date.now();
    const days = Math.floor(left / 86_400_000);
    return {
      check: "coordinator certificate",
      ok: left > CERT_WARN_MS,
      detail: `${path} expires ${new Date(cert.validTo).toISOString().slice(0, 10)} (in ${days} days)${left > CERT_WARN_MS ? "" : ": renew it with `kubecycle pki renew`"}`,
    };
  } catch (err) {
    return { check: "coordinator certificate", ok: false, detail: `${path}: ${(err as Error).message}` };
  }
}
