// kubelet stand-in (lab fixture, never shipped), run as kubelet.service. Registers its Node, renews its Lease in
// kube-node-lease every second and checks its node status every two seconds, writing it when it changed or every 10 s
// (the real defaults are 10 s and 5 min; the lab's
// node-monitor grace is seconds, not 40 s), runs the pods bound to it and the static pods of --pod-manifest-path
// through the runtime socket, reports their status, and finalizes their deletion. When it stops, heartbeats stop
// and its containers keep running (they belong to the runtime), as with the real kubelet.
// Differences: polls the API every two seconds instead of watching; no probes, volumes, images, cgroups or eviction
// manager; pod IPs are made up (10.244.<node octet>.x); lab-only flag --lab-api-servers lists fail-over URLs.
import { createServer } from "node:http";
import { KubeClient, loadKubeconfig } from "../lib/kubeclient.js";
import { parseFlags, required } from "../lib/flags.js";
import { createLog, errMsg } from "../lib/log.js";
import { DEFAULT_RUNTIME_ENDPOINT, RuntimeClient } from "../lib/runtime-client.js";
import type { Taint } from "../lib/types.js";
import { NodeAgent } from "./node.js";
import { PodSync } from "./pods.js";

const log = createLog("kubelet");
const flags = parseFlags(
  process.argv.slice(2),
  [
    "kubeconfig",
    "hostname-override",
    "node-ip",
    "node-labels",
    "register-with-taints",
    "pod-manifest-path",
    "container-runtime-endpoint",
    "healthz-port",
    "healthz-bind-address",
    "lab-api-servers",
    "lab-cpu",
    "lab-memory",
  ] as const,
  {
    "container-runtime-endpoint": DEFAULT_RUNTIME_ENDPOINT,
    "healthz-port": "10248",
    "healthz-bind-address": "127.0.0.1",
    "lab-cpu": "2",
    "lab-memory": "4Gi",
  },
);

const name = required(flags, "hostname-override");
const ip = required(flags, "node-ip");
const access = loadKubeconfig(required(flags, "kubeconfig"));
if (flags["lab-api-servers"])
  access.servers = [...new Set([...access.servers, ...flags["lab-api-servers"].split(",")])];
const api = new KubeClient(access);
const runtime = new RuntimeClient(flags["container-runtime-endpoint"]);

const labels: Record<string, string> = {
  "beta.kubernetes.io/arch": "amd64",
  "beta.kubernetes.io/os": "linux",
  "kubernetes.io/arch": "amd64",
  "kubernetes.io/hostname": name,
  "kubernetes.io/os": "linux",
};
for (const kv of (flags["node-labels"] ?? "").split(",").filter(Boolean)) {
  const [k, v] = kv.split("=");
  if (k) labels[k] = v ?? "";
}
const taints: Taint[] = (flags["register-with-taints"] ?? "")
  .split(",")
  .filter(Boolean)
  .map((t) => {
    const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(t);
    if (!m) throw new Error(`invalid taint ${t}`);
    return { key: m[1] ?? "", ...(m[2] ? { value: m[2] } : {}), effect: m[3] as Taint["effect"] };
  });

const node = new NodeAgent(
  api,
  {
    name,
    ip,
    labels,
    taints,
    cpu: flags["lab-cpu"] ?? "2",
    memory: flags["lab-memory"] ?? "4Gi",
    runtimeEndpoint: flags["container-runtime-endpoint"] ?? "",
  },
  log,
);
const pods = new PodSync(
  api,
  runtime,
  { nodeName: name, nodeIp: ip, manifestDir: flags["pod-manifest-path"] },
  log,
  () => node.uid,
);

let running = true;
let runtimeUp = false;
// The loops' sleeps, ended at once on SIGTERM: a stop then waits only for the calls in flight, as the real kubelet's
// does (waiting out a 2 s sleep made every kubelet stop take 1.5 s, a floor the real one does not have).
const sleepers = new Set<() => void>();
function nap(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      sleepers.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    sleepers.add(done);
  });
}

/** Runs `fn` every `periodMs` until stopped; failures are logged (a throttled line per distinct message). */
function every(what: string, periodMs: number, fn: () => Promise<void>): Promise<void> {
  let lastMsg = "";
  return (async () => {
    while (running) {
      const t0 = Date.now();
      try {
        await fn();
        lastMsg = "";
      } catch (err) {
        const m = errMsg(err);
        if (m !== lastMsg) log.warn(`${what} failed`, { err: m });
        lastMsg = m;
      }
      if (running) await nap(Math.max(50, periodMs - (Date.now() - t0)));
    }
  })();
}

const loops = [
  // Every 2 s: each pass lists the node's pods from the API, and so all pods from etcd (the stand-in polls where the
  // real kubelet watches); at 15 nodes, once a second kept etcd busy.
  every("pod sync", 2000, async () => {
    const up = await pods.sync();
    if (up && !node.runtimeVersion) {
      const v = await runtime.version();
      node.runtimeVersion = `${v.runtimeName}://${v.runtimeVersion}`;
      pods.runtimeName = v.runtimeName;
    }
    if (up !== runtimeUp)
      log[up ? "info" : "warn"](up ? "container runtime is up" : "container runtime is down", {
        endpoint: runtime.endpoint,
      });
    runtimeUp = up;
  }),
  every("lease renew", 1000, () => node.renewLease()),
  every("node status", 2000, () => node.postStatus(runtimeUp)),
];

const healthPort = Number(flags["healthz-port"]);
const health =
  healthPort > 0
    ? createServer((_req, res) => res.end("ok")).listen(healthPort, flags["healthz-bind-address"])
    : undefined;
log.info("kubelet started", { node: name, servers: access.servers });

const stop = (): void => {
  running = false;
  for (const wake of [...sleepers]) wake();
  log.info("kubelet stopping; containers keep running");
  health?.close();
  void Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 1500))]).then(() => {
    api.close();
    process.exit(0);
  });
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
