import { isIP } from "node:net";
import { KubecycleError } from "../../../shared/index.js";
import { urlHost } from "../../etcd/membership.js";
import { internalIp, mustGetNode } from "../../kube/index.js";
import type { Evidence, StepContext } from "../executor.js";
import { stepAgent, stepNode, type StepDeps } from "./deps.js";

/**
 * check-addresses: the node still has the addresses the cluster knows it by: its InternalIP in the API and the
 * hosts of its etcd member's peer URLs. A node that got a new address (DHCP, a moved VM) is the most common reason a
 * cluster does not come back after a power cut.
 */
export async function checkAddresses(deps: StepDeps, ctx: StepContext): Promise<Evidence> {
  const node = stepNode(deps, ctx);
  const [layout, apiNode] = await Promise.all([
    stepAgent(deps, ctx).getNodeLayout({ deadlineMs: ctx.step.timeoutMs, signal: ctx.signal }),
    mustGetNode(deps.api, node.name),
  ]);
  const has = new Set(layout.addresses.map((a) => a.address));
  const expected: Array<{ what: string; address: string }> = [];
  const ip = internalIp(apiNode);
  if (ip) expected.push({ what: "its InternalIP in the API", address: ip });
  for (const m of deps.inventory.etcd.members.filter((x) => x.node === node.name)) {
    for (const url of m.peerUrls) {
      const host = urlHost(url);
      if (isIP(host)) expected.push({ what: `its etcd member ${m.name}'s peer URL ${url}`, address: host });
    }
  }
  const drifted = expected.filter((e) => !has.has(e.address));
  if (drifted.length > 0) {
    throw new KubecycleError(
      "ADDRESS_DRIFT",
      `${node.name} no longer has ${drifted.map((d) => `${d.address} (${d.what})`).join(", ")}; it has ${[...has].join(", ") || "no address"}`,
      {
        node: node.name,
        drifted,
        hint: "give the node its old address back (a static address or a DHCP reservation) before the outage; nothing was changed",
      },
    );
  }
  return { addresses: expected.map((e) => e.address) };
}
