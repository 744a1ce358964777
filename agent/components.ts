import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import type { ComponentHealth__Output } from "../shared/index.js";
import { componentArgv, flagValue, type StaticPod } from "./manifests.js";
import { findComponent } from "./layout.js";

/** A control-plane component kubecycle probes, and where kubeadm serves its health. */
interface ControlPlaneProbe {
  component: string;
  path: string;
  defaultPort: number;
}

/** The fixed set, in the order they come up after a start. A caller never names a URL. */
export const CONTROL_PLANE_PROBES: readonly ControlPlaneProbe[] = [
  { component: "kube-apiserver", path: "/readyz", defaultPort: 6443 },
  { component: "kube-scheduler", path: "/healthz", defaultPort: 10259 },
  { component: "kube-controller-manager", path: "/healthz", defaultPort: 10257 },
];

// An answer is short ("ok", or a list of checks on failure); more than this is not read.
const MAX_BODY_BYTES = 8192;

/**
 * The URL of a component's health endpoint, from its static pod's flags: port from --secure-port, host 127.0.0.1
 * unless --bind-address names one specific address (kubeadm binds the scheduler and controller-manager to
 * 127.0.0.1; an apiserver bound to one address does not answer on loopback).
 */
export function componentUrl(probe: ControlPlaneProbe, pod: StaticPod): string {
  const argv = componentArgv(pod);
  const port = Number(flagValue(argv, "secure-port") ?? probe.defaultPort);
  const bind = flagValue(argv, "bind-address") ?? "";
  const specific = isIP(bind) !== 0 && bind !== "0.0.0.0" && bind !== "::";
  const host = specific ? (isIP(bind) === 6 ? `[${bind}]` : bind) : "127.0.0.1";
  const validPort = Number.isInteger(port) && port > 0 && port < 65536 ? port : probe.defaultPort;
  return `https://${host}:${validPort}${probe.path}`;
}

/**
 * Asks one health endpoint. Only the answer "ok" with status 200 counts as healthy. The serving certificates of these
 * components are self-signed or from the cluster CA, which the agent does not trust, so the certificate is not
 * verified: the URL is a loopback or the node's own address taken from the node's manifests, never the caller's.
 */
export function probeUrl(url: string, timeoutMs: number): Promise<{ healthy: boolean; detail: string }> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const opts = { method: "GET", headers: { accept: "text/plain" }, agent: false as const };
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let answered = false;
    const done = (healthy: boolean, detail: string) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      resolve({ healthy, detail: detail.slice(0, 2000) });
    };
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        if (size < MAX_BODY_BYTES) chunks.push(c);
        size += c.length;
        if (size >= MAX_BODY_BYTES) res.destroy();
      });
      const finish = () => {
        const body = Buffer.concat(chunks).toString("utf8").slice(0, MAX_BODY_BYTES);
        const healthy = res.statusCode === 200 && body.trim() === "ok";
        const lines = body.trim().split("\n").slice(0, 20).join("\n");
        done(healthy, healthy ? "ok" : `HTTP ${res.statusCode ?? "?"}: ${lines}`);
      };
      res.on("end", finish);
      res.on("close", () => {
        if (!res.complete) finish();
      });
      res.on("error", () => undefined);
    };
    const req =
      u.protocol === "https:"
        ? httpsRequest(u, { ...opts, rejectUnauthorized: false }, onResponse)
        : httpRequest(u, opts, onResponse);
    req.on("error", (err: NodeJS.ErrnoException) =>
      done(false, err.code ? `${err.code}: ${err.message}` : err.message),
    );
    req.end();
  });
}

/** What the probes need from the node. */
export interface ComponentProbeDeps {
  staticPods: () => Promise<readonly StaticPod[]>;
  /** Whether the kubelet's unit exists on this node. */
  kubeletPresent: () => Promise<boolean>;
  kubeletHealthzPort: number;
}

/**
 * The control plane's health endpoints, asked on the node itself, all at once: the apiserver's /readyz, the
 * scheduler's and controller-manager's /healthz (each only where its static pod is), and the kubelet's /healthz.
 */
export async function probeComponents(deps: ComponentProbeDeps, timeoutMs: number): Promise<ComponentHealth__Output[]> {
  const [pods, kubeletPresent] = await Promise.all([deps.staticPods(), deps.kubeletPresent()]);
  const targets = [
    ...CONTROL_PLANE_PROBES.map((p) => {
      const pod = findComponent(pods, p.component);
      return { component: p.component, present: pod !== undefined, url: pod ? componentUrl(p, pod) : "" };
    }),
    {
      component: "kubelet",
      present: kubeletPresent,
      url: `http://127.0.0.1:${deps.kubeletHealthzPort}/healthz`,
    },
  ];
  return Promise.all(
    targets.map(async (t): Promise<ComponentHealth__Output> => {
      if (!t.present) {
        return { component: t.component, url: t.url, present: false, healthy: false, detail: "not on this node" };
      }
      const r = await probeUrl(t.url, timeoutMs);
      return { component: t.component, url: t.url, present: true, healthy: r.healthy, detail: r.detail };
    }),
  );
}
