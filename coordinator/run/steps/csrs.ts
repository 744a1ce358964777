import { setTimeout as sleep } from "node:timers/promises";
import { describeCsr, isReady, pendingKubeletCsrs, type KnownNode, type KubeletCsr } from "../../kube/index.js";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import type { StepDeps } from "./deps.js";

/** How often the CSRs (and the nodes' readiness) are asked again while approving. */
const POLL_MS = 1000;

/**
 * kubelet-csrs: the pending kubelet CSRs, judged against the recorded inventory (coordinator/kube/csr.ts decides).
 * Without `approve`, one pass that lists them. With it, approves those that match, as they come, until every node
 * is Ready with nothing approvable left pending, or the step's time is up (then the wait for Ready decides); the
 * refused ones are listed with why. Listing that fails (RBAC, the API) is a warning: the start goes on.
 */
export async function runKubeletCsrs(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "kubelet-csrs" }>>,
): Promise<Evidence> {
  const known: KnownNode[] = deps.inventory.nodes.map((n) => ({ name: n.name, addresses: n.addresses }));
  const approved: KubeletCsr[] = [];
  const refused = new Map<string, KubeletCsr>();
  const end = Date.now() + Math.max(0, ctx.step.timeoutMs - 2000);
  for (;;) {
    let pending: KubeletCsr[];
    const all = await deps.api.listCsrs().catch((err: unknown) => err as Error);
    if (all instanceof Error) {
      ctx.progress(`listing CSRs: ${all.message}`);
      if (!ctx.step.action.approve || Date.now() >= end) {
        return { approved: approved.map((c) => c.name), refused: [...refused.values()], warning: all.message };
      }
      await sleep(POLL_MS, undefined, { signal: ctx.signal });
      continue;
    }
    pending = pendingKubeletCsrs(all, known);
    for (const c of pending.filter((x) => !x.approve && !refused.has(x.name))) {
      refused.set(c.name, c);
      ctx.progress(describeCsr(c));
    }
    if (!ctx.step.action.approve) {
      for (const c of pending.filter((x) => x.approve)) {
        ctx.progress(`${describeCsr(c)}: would be approved with --approve-kubelet-csrs`);
      }
      return {
        pending: pending.map((c) => c.name),
        refused: [...refused.values()],
        ...(pending.length > 0
          ? { warning: `${pending.length} kubelet CSR(s) pending; \`kubecycle doctor\` lists them` }
          : {}),
      };
    }
    for (const c of pending.filter((x) => x.approve)) {
      const csr = all.find((x) => x.metadata?.name === c.name);
      if (!csr) continue;
      try {
        await deps.api.approveCsr(
          csr,
          `approved by kubecycle (op ${ctx.op}): ${c.kind} certificate requested by ${c.node} itself, matching its recorded name and addresses`,
        );
        approved.push(c);
        ctx.progress(`approved ${describeCsr(c)}`);
      } catch (err) {
        // A conflict: someone else changed it (approved it, most likely); the next pass sees what it became.
        ctx.progress(`approving ${c.name}: ${(err as Error).message}`);
      }
    }
    pending = pending.filter((x) => x.approve && !approved.some((a) => a.name === x.name));
    const nodes = await deps.api.listNodes().catch(() => undefined);
    const names = new Set(deps.inventory.nodes.map((n) => n.name));
    const allReady =
      nodes !== undefined && [...names].every((n) => nodes.some((x) => x.metadata?.name === n && isReady(x)));
    if ((allReady && pending.length === 0) || Date.now() >= end) {
      return {
        approved: approved.map((c) => ({ name: c.name, node: c.node, kind: c.kind })),
        refused: [...refused.values()].map((c) => ({ name: c.name, node: c.node, reasons: c.reasons })),
        ...(refused.size > 0 ? { warning: `${refused.size} kubelet CSR(s) refused; see why above` } : {}),
      };
    }
    await sleep(POLL_MS, undefined, { signal: ctx.signal });
  }
}
