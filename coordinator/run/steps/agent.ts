import { setTimeout as sleep } from "node:timers/promises";
import { KubecycleError, type HealthResponse__Output } from "../../../shared/index.js";
import type { AgentConnection } from "../../agents/index.js";
import { urlHost } from "../../etcd/membership.js";
import type { Evidence, StepContext } from "../executor.js";
import { stepAgent, stepNode, type StepDeps } from "./deps.js";

/** How often a missing agent is asked again. */
const POLL_MS = 1000;

/** A certificate that may not change anything is refused before anything changes, not at the first unit. */
function mustOperate(node: string, health: HealthResponse__Output): void {
  if (health.callerRole !== "ROLE_OPERATOR") {
    throw new KubecycleError(
      "PERMISSION_DENIED",
      `${node}: the agent sees this certificate (${health.callerIdentity}) as a viewer; this procedure changes the node`,
      {
        node,
        hint: "use an operator certificate (`kubecycle pki client NAME --role operator`) in agents.tls; nothing was changed",
      },
    );
  }
}

/** check-agent: the node's agent answers over mTLS, lets this certificate operate, and reports its units. */
export async function checkAgent(deps: StepDeps, ctx: StepContext): Promise<Evidence> {
  const agent = stepAgent(deps, ctx);
  const opts = { deadlineMs: ctx.step.timeoutMs, signal: ctx.signal };
  const health = await agent.health(opts);
  mustOperate(ctx.step.node ?? "", health);
  const status = await agent.getStatus({}, opts);
  return {
    agentState: health.state,
    agentVersion: health.agentVersion,
    bootId: status.facts?.bootId ?? "",
    units: Object.fromEntries(
      status.units.map((u) => [u.name, u.exists ? `${u.activeState}/${u.subState}` : "absent"]),
    ),
  };
}

/**
 * wait-agent: waits (until the step's deadline, `--wait-agents`) for the node's agent to answer, then checks that it
 * is the node that was recorded: its name, the address it was recorded with among its own, and its etcd member's
 * name and peer URLs. Agents of another cluster are refused: starting them would start someone else's cluster.
 */
export async function waitAgent(deps: StepDeps, ctx: StepContext): Promise<Evidence> {
  const node = stepNode(deps, ctx);
  const agent = stepAgent(deps, ctx);
  const t0 = Date.now();
  const health = await untilAnswers(agent, ctx);
  mustOperate(node.name, health);
  const layout = await agent.getNodeLayout({ deadlineMs: deps.config.timeouts.agentCallMs, signal: ctx.signal });
  const problems: string[] = [];
  if (health.nodeName !== node.name) problems.push(`its agent calls itself ${health.nodeName}`);
  const addresses = layout.addresses.map((a) => a.address);
  if (!addresses.includes(node.address)) {
    problems.push(`it no longer has the address ${node.address} (it has ${addresses.join(", ") || "none"})`);
  }
  const member = deps.inventory.etcd.members.find((m) => m.node === node.name);
  if (member) {
    const peers = new Set(layout.etcd?.advertisePeerUrls ?? []);
    if (layout.etcd?.name && member.name && layout.etcd.name !== member.name) {
      problems.push(`its etcd is member ${layout.etcd.name}, not ${member.name}`);
    }
    const missing = member.peerUrls.filter((u) => !peers.has(u));
    if (missing.length > 0) {
      problems.push(
        `its etcd advertises ${[...peers].join(", ") || "no peer URL"}, not the recorded ${member.peerUrls.join(", ")}` +
          (missing.some((u) => !addresses.includes(urlHost(u))) ? " (its address changed)" : ""),
      );
    }
  }
  if (problems.length > 0) {
    throw new KubecycleError(
      "CLUSTER_MISMATCH",
      `${node.name} is not the node that was recorded: ${problems.join("; ")}`,
      {
        node: node.name,
        problems,
        hint: "check that the agents answering are this cluster's and that no node's address changed; nothing was started",
      },
    );
  }
  return {
    waitedMs: Date.now() - t0,
    bootId: layout.bootId,
    agentVersion: health.agentVersion,
  };
}

async function untilAnswers(agent: AgentConnection, ctx: StepContext): Promise<HealthResponse__Output> {
  let last = "";
  for (;;) {
    try {
      const h = await agent.health({ deadlineMs: 2000, signal: ctx.signal });
      if (h.state === "serving") return h;
      last = `its agent is ${h.state}`;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      last = (err as Error).message;
    }
    ctx.progress(`waiting for ${ctx.step.node}: ${last}`);
    try {
      await sleep(POLL_MS, undefined, { signal: ctx.signal });
    } catch {
      throw new KubecycleError("NODE_UNREACHABLE", `${ctx.step.node}: its agent did not answer: ${last}`, {
        node: ctx.step.node,
        hint: `power the node on, or check kubecycle-agent on it (systemctl status kubecycle-agent); then run the start again (or \`kubecycle ops resume\`)`,
      });
    }
  }
}
