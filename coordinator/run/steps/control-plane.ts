import { request } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import type { Evidence, StepContext } from "../executor.js";
import { stepNode, type StepDeps } from "./deps.js";

/** The scheduler's and controller-manager's secure health ports, as kubeadm and KubeKey configure them. */
const COMPONENTS = [
  { name: "kube-scheduler", port: 10259 },
  { name: "kube-controller-manager", port: 10257 },
];

/** GET https://host:port/healthz. These serve self-signed certificates; only the answer "ok" is trusted here. */
function healthz(host: string, port: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      { host, port, path: "/healthz", method: "GET", rejectUnauthorized: false, timeout: 5000, signal },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve(res.statusCode === 200 ? body.trim() : `HTTP ${res.statusCode}: ${body.trim()}`));
      },
    );
    req.on("error", (err) => resolve(err.message));
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.end();
  });
}

/** check-control-plane: the node's own apiserver /readyz, then its scheduler's and controller-manager's /healthz. */
export async function checkControlPlane(deps: StepDeps, ctx: StepContext): Promise<Evidence> {
  const node = stepNode(deps, ctx);
  for (;;) {
    const readyz = await deps.api.readyz(node.address);
    const components = await Promise.all(
      COMPONENTS.map(async (c) => ({ ...c, answer: await healthz(node.address, c.port, ctx.signal) })),
    );
    const bad = [
      ...(readyz.ok ? [] : [`apiserver /readyz: ${readyz.body.split("\n").slice(-2).join(" ")}`]),
      ...components.filter((c) => c.answer !== "ok").map((c) => `${c.name}: ${c.answer}`),
    ];
    if (bad.length === 0)
      return { apiserver: "ready", ...Object.fromEntries(components.map((c) => [c.name, c.answer])) };
    ctx.progress(bad.join("; "));
    await sleep(2000, undefined, { signal: ctx.signal });
  }
}
