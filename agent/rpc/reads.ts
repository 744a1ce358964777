import type { AgentHandlers } from "../../shared/index.js";
import { nodeCertificates } from "../certificates.js";
import { probeComponents } from "../components.js";
import { KUBELET_UNIT } from "../layout.js";
import { ANY_ROLE, type Roles } from "./authz.js";
import { requestedTimeout, type RpcContext } from "./context.js";
import { unaryRead } from "./unary.js";

/** Who may call the reads: every kubecycle role. */
export const READ_ROLES = {
  Health: ANY_ROLE,
  GetStatus: ANY_ROLE,
  EtcdStatus: ANY_ROLE,
  GetNodeLayout: ANY_ROLE,
  ProbeComponents: ANY_ROLE,
  GetCertificates: ANY_ROLE,
  ReadJournal: ANY_ROLE,
  GetClock: ANY_ROLE,
  GetDiskUsage: ANY_ROLE,
  ProbeNetwork: ANY_ROLE,
} as const satisfies Record<string, Roles>;

/** The unary reads. What a read may ask for is bounded (timeouts), so no caller can make one costly. */
export function readHandlers(ctx: RpcContext): Pick<AgentHandlers, keyof typeof READ_ROLES> {
  const read = unaryRead(ctx);
  const { config } = ctx;

  async function unitExists(unit: string): Promise<boolean> {
    if (!config.units.allow.includes(unit)) return false;
    const [s] = await ctx.unitStates.states([unit]);
    return s !== undefined && s.loadState !== "not-found";
  }

  return {
    Health: read("Health", (_req, caller) =>
      Promise.resolve({
        state: ctx.lifecycle.state,
        nodeName: ctx.nodeName,
        agentVersion: ctx.version,
        startedUnixMs: ctx.startedUnixMs,
        callerIdentity: caller.identity,
        callerRole: caller.role === "operator" ? ("ROLE_OPERATOR" as const) : ("ROLE_VIEWER" as const),
      }),
    ),

    // refresh_facts shares a recent collection (see FactsCollector.refresh): it costs nothing however often asked.
    GetStatus: read("GetStatus", (req) =>
      ctx.status.status({ refreshFacts: req.refreshFacts === true, includeEtcd: req.includeEtcd === true }),
    ),

    EtcdStatus: read("EtcdStatus", (req) =>
      ctx.etcd.status(
        requestedTimeout(req.timeoutMs, config.etcd.timeoutMs, config.etcd.maxTimeoutMs),
        undefined,
        req.memberId ?? "",
      ),
    ),

    GetNodeLayout: read("GetNodeLayout", () => ctx.layout.layout()),

    ProbeComponents: read("ProbeComponents", async (req) => ({
      components: await probeComponents(
        {
          staticPods: async () => (await ctx.staticPods.read()).pods,
          kubeletPresent: () => unitExists(KUBELET_UNIT),
          kubeletHealthzPort: config.kubernetes.kubeletHealthzPort,
        },
        requestedTimeout(req.timeoutMs, config.probes.timeoutMs, config.probes.maxTimeoutMs),
      ),
    })),

    GetCertificates: read("GetCertificates", async () => {
      const [etcd, pods, kubeletPresent] = await Promise.all([
        ctx.layout.etcd(),
        ctx.staticPods.read(),
        unitExists(KUBELET_UNIT),
      ]);
      const served = ctx.tls.current();
      return {
        certificates: await nodeCertificates({
          etcd,
          staticPods: pods.pods,
          kubeletKubeconfig: config.kubernetes.kubeletKubeconfig,
          kubeletPresent,
          agent: {
            certPath: ctx.tls.files.cert,
            certPem: served.material.cert.toString("utf8"),
            caPath: ctx.tls.files.ca,
            caPem: served.material.ca.toString("utf8"),
          },
        }),
      };
    }),

    // Only allow-listed units, and a bounded number of lines: the journal is read for why a unit is down.
    ReadJournal: read("ReadJournal", (req) => ctx.diagnostics.journal(req)),

    GetClock: read("GetClock", () => ctx.diagnostics.clock()),

    GetDiskUsage: read("GetDiskUsage", async () => ({ paths: await ctx.diagnostics.diskUsage() })),

    ProbeNetwork: read("ProbeNetwork", async (req) => ({
      probes: await ctx.diagnostics.network(
        requestedTimeout(req.timeoutMs, config.probes.timeoutMs, config.probes.maxTimeoutMs),
      ),
    })),
  };
}
