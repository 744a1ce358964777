import { setTimeout as sleep } from "node:timers/promises";
import { KubecycleError, MAX_COMPONENT_PROBE_MS } from "../../../shared/index.js";
import { isReady } from "../../kube/index.js";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import { stepAgent, type StepDeps } from "./deps.js";

/**
 * How often the health endpoints are asked again while a check waits for them: a probe is three local HTTP GETs on
 * a control-plane node, and every half second of polling is up to half a second added to the start.
 */
const POLL_MS = 500;

/**
 * check-control-plane: the node's agent asks its control plane's health endpoints on the node itself (kubeadm binds
 * the scheduler's and the controller-manager's to 127.0.0.1): the apiserver's /readyz, the scheduler's and the
 * controller-manager's /healthz must answer ok, for those the node runs. Polled until the deadline.
 */
export async function checkControlPlane(deps: StepDeps, ctx: StepContext): Promise<Evidence> {
  const agent = stepAgent(deps, ctx);
  let bad: string[] = [];
  for (;;) {
    try {
      const res = await agent.probeComponents(
        { timeoutMs: Math.min(deps.config.timeouts.agentCallMs / 2, MAX_COMPONENT_PROBE_MS) },
        { deadlineMs: deps.config.timeouts.agentCallMs, signal: ctx.signal },
      );
      const kube = res.components.filter((c) => c.present && c.component !== "kubelet");
      bad = [
        ...(kube.some((c) => c.component === "kube-apiserver") ? [] : ["no kube-apiserver static pod on the node"]),
        ...kube.filter((c) => !c.healthy).map((c) => `${c.component} (${c.url}): ${c.detail}`),
      ];
      if (bad.length === 0) return Object.fromEntries(kube.map((c) => [c.component, c.detail || "ok"]));
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      bad = [(err as Error).message];
    }
    ctx.progress(bad.join("; "));
    try {
      await sleep(POLL_MS, undefined, { signal: ctx.signal });
    } catch {
      throw new KubecycleError(
        "COMPONENT_UNHEALTHY",
        `${ctx.step.node}: the control plane is not healthy: ${bad.join("; ")}`,
        {
          node: ctx.step.node,
          problems: bad,
          hint: "see the static pods on the node: crictl ps; crictl logs <container>",
        },
      );
    }
  }
}

/**
 * check-api-servers: before a control-plane node stops, another control-plane node's API server must be ready, or
 * the Kubernetes API goes down with it (one control-plane node with external etcd). Refused unless --force; with
 * it, the evidence says what stops working.
 */
export async function checkApiServers(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "check-api-servers" }>>,
): Promise<Evidence> {
  const { leaving, force } = ctx.step.action;
  const others = deps.inventory.nodes.filter((n) => n.controlPlane && n.name !== leaving);
  const nodes = await deps.api.listNodes().catch(() => []);
  const ready = await Promise.all(
    others.map(async (n) => {
      const apiNode = nodes.find((x) => x.metadata?.name === n.name);
      if (apiNode && !isReady(apiNode)) return { node: n.name, ready: false, why: "the node is not Ready" };
      const r = await deps.api.readyz(n.address);
      return { node: n.name, ready: r.ok, why: r.ok ? "" : r.body.split("\n").slice(-2).join(" ") };
    }),
  );
  const serving = ready.filter((r) => r.ready).map((r) => r.node);
  if (serving.length > 0) return { apiServersLeft: serving };
  const what =
    `${leaving} is the last control-plane node whose API server is ready` +
    (others.length ? ` (${ready.map((r) => `${r.node}: ${r.why}`).join("; ")})` : "");
  const consequence =
    "the Kubernetes API goes down with it: kubectl, the controllers and the scheduler stop until it starts again; running pods elsewhere keep running";
  if (!force) {
    throw new KubecycleError("API_AT_RISK", `refusing to stop ${leaving}: ${what}`, {
      node: leaving,
      hint: `start or repair another control-plane node first, or pass --force (${consequence}); nothing was changed`,
    });
  }
  return { apiServersLeft: [], warning: `--force: ${what}; ${consequence}` };
}
