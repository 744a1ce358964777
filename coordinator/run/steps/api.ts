import { KubecycleError } from "../../../shared/index.js";
import type { Evidence, StepContext } from "../executor.js";
import type { StepDeps } from "./deps.js";

/** check-api: the API answers and knows exactly the inventory's nodes (a node added or gone since is a refusal). */
export async function checkApi(deps: StepDeps, ctx: StepContext): Promise<Evidence> {
  const [nodes, readyz] = await Promise.all([deps.api.listNodes(), deps.api.readyz()]);
  if (!readyz.ok) {
    throw new KubecycleError("KUBE_API_FAILED", `the API server at ${deps.api.server} is not ready: ${readyz.body}`, {
      hint: "see `kubecycle status`",
    });
  }
  const names = new Set(nodes.map((n) => n.metadata?.name ?? ""));
  const known = new Set(deps.inventory.nodes.map((n) => n.name));
  const added = [...names].filter((n) => !known.has(n));
  const gone = [...known].filter((n) => !names.has(n));
  if (added.length || gone.length) {
    throw new KubecycleError(
      "CLUSTER_MISMATCH",
      `the API's nodes changed while this ran: ${[...added.map((n) => `+${n}`), ...gone.map((n) => `-${n}`)].join(", ")}`,
      { hint: "run it again; nothing was changed" },
    );
  }
  ctx.progress(`API ready; ${names.size} nodes`);
  return { server: deps.api.server, nodes: names.size };
}
