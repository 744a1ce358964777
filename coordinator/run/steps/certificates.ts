import { KubecycleError } from "../../../shared/index.js";
import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import { stepAgent, type StepDeps } from "./deps.js";

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * check-certificates: the node's agent reads the certificates the cluster needs to come back (etcd's, the
 * apiserver's, the kubelet's, its own) and none may expire within the window: a cluster left off past its
 * certificates' expiry does not come back.
 */
export async function checkCertificates(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "check-certificates" }>>,
): Promise<Evidence> {
  const node = ctx.step.node ?? "";
  const res = await stepAgent(deps, ctx).getCertificates({ deadlineMs: ctx.step.timeoutMs, signal: ctx.signal });
  const until = Date.now() + ctx.step.action.windowMs;
  const expiring = res.certificates.filter((c) => !c.error && c.notAfterUnixMs < until);
  if (expiring.length > 0) {
    const list = expiring.map((c) => `${c.purpose} ${c.path} (${c.subject}) expires ${day(c.notAfterUnixMs)}`);
    throw new KubecycleError(
      "CERT_EXPIRING",
      `${node}: ${expiring.length} certificate(s) expire within the window: ${list.join("; ")}`,
      {
        node,
        certificates: expiring.map((c) => ({
          purpose: c.purpose,
          path: c.path,
          notAfter: new Date(c.notAfterUnixMs).toISOString(),
        })),
        hint: expiring.some((c) => c.purpose.startsWith("kubecycle-"))
          ? "renew them before the outage (kubecycle's own: `kubecycle pki renew`, then copy them to the node: the agent reloads them; the cluster's: kubeadm certs renew, or your installer's way); or narrow --cert-window if the outage is short; nothing was changed"
          : "renew them before the outage (kubeadm certs renew, or your installer's way); or narrow --cert-window if the outage is short; nothing was changed",
      },
    );
  }
  return {
    checked: res.certificates.filter((c) => !c.error).length,
    earliest: res.certificates
      .filter((c) => !c.error)
      .sort((a, b) => a.notAfterUnixMs - b.notAfterUnixMs)
      .slice(0, 1)
      .map((c) => `${c.purpose} ${day(c.notAfterUnixMs)}`)[0],
    unreadable: res.certificates.filter((c) => c.error).map((c) => `${c.purpose} ${c.path}: ${c.error}`),
  };
}
