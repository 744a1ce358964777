// kubelet stand-in (lab fixture, never shipped), run as kubelet.service. Registers its Node, renews its Lease in
// kube-node-lease every second and checks its node status every two seconds, writing it when it changed or every 10 s
// (the real defaults are 10 s and 5 min; the lab's
// node-monitor grace is seconds, not 40 s), runs the pods bound to it and the static pods of --pod-manifest-path
// through the runtime socket, reports their status, and finalizes their deletion. When it stops, heartbeats stop
// and its containers keep running (they belong to the runtime), as with the real kubelet.
// Its certificates (certs.ts): with --rotate-certificates the client certificate, with --rotate-server-certificates
// the serving one, are renewed through CSRs when due; a client certificate that expired (or is missing) at start
// cannot ask, and without a bootstrap kubeconfig the kubelet exits as the real one does.
// Differences: polls the API every two seconds instead of watching; no probes, volumes, images, cgroups or eviction
// manager; pod IPs are made up (10.244.<node octet>.x); lab-only flag --lab-api-servers lists fail-over URLs; no
// bootstrap with a token (the lab's apiserver has x509 authentication only, and kubeadm deletes
// bootstrap-kubelet.conf once the node joined).
import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { KubeClient, loadKubeconfig } from "../lib/kubeclient.js";
import { parseFlags, required } from "../lib/flags.js";
import { createLog, errMsg } from "../lib/log.js";
import { DEFAULT_RUNTIME_ENDPOINT, RuntimeClient } from "../lib/runtime-client.js";
import type { Taint } from "../lib/types.js";
import {
  CLIENT_SIGNER,
  SERVING_SIGNER,
  isExpired,
  readPair,
  requestCertificate,
  rotationDeadline,
  storeUpdate,
  type Kind,
  type Pair,
} from "./certs.js";
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
    "cert-dir",
    "rotate-certificates",
    "rotate-server-certificates",
    "bootstrap-kubeconfig",
    "lab-api-servers",
    "lab-cpu",
    "lab-memory",
  ] as const,
  {
    "container-runtime-endpoint": DEFAULT_RUNTIME_ENDPOINT,
    "healthz-port": "10248",
    "healthz-bind-address": "127.0.0.1",
    "cert-dir": "/var/lib/kubelet/pki",
    "lab-cpu": "2",
    "lab-memory": "4Gi",
  },
);

const name = required(flags, "hostname-override");
const ip = required(flags, "node-ip");
const kubeconfig = required(flags, "kubeconfig");
const certDir = flags["cert-dir"] ?? "/var/lib/kubelet/pki";
const rotateClient = flags["rotate-certificates"] === "true";
const rotateServer = flags["rotate-server-certificates"] === "true";

// As pkg/kubelet/certificate/bootstrap's LoadClientConfig: a client certificate that expired (the outage outlived it)
// cannot ask for its successor; the bootstrap kubeconfig could, and without one the kubelet cannot run at all.
let access: ReturnType<typeof loadKubeconfig>;
try {
  access = loadKubeconfig(kubeconfig);
} catch (err) {
  log.error(`failed to run Kubelet: unable to load kubeconfig: ${errMsg(err)}`);
  process.exit(1);
}
const start = new X509Certificate(access.cert);
if (rotateClient && isExpired(start)) {
  log.error(
    `part of the existing bootstrap client certificate in ${kubeconfig} is expired: ${new Date(start.validTo).toISOString()}`,
  );
  const bootstrap = flags["bootstrap-kubeconfig"];
  if (!bootstrap || !existsSync(bootstrap)) {
    log.error(
      `failed to run Kubelet: unable to load bootstrap kubeconfig: stat ${bootstrap ?? "(none)"}: no such file or directory`,
    );
    process.exit(1);
  }
  log.error("failed to run Kubelet: bootstrap with a token is not simulated in the lab");
  process.exit(1);
}
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
  ...(rotateClient
    ? [
        rotate(
          {
            what: "client",
            signerName: CLIENT_SIGNER,
            usages: ["digital signature", "client auth"],
            storeName: "kubelet-client",
            sans: [],
          },
          () => Promise.resolve({ cert: access.cert, key: access.key, x509: new X509Certificate(access.cert) }),
          (cert, key) => api.setClientCertificate(cert, key),
        ),
      ]
    : []),
  ...(rotateServer
    ? [
        rotate(
          {
            what: "serving",
            signerName: SERVING_SIGNER,
            usages: ["digital signature", "server auth"],
            storeName: "kubelet-server",
            sans: [`DNS:${name}`, `IP:${ip}`],
          },
          () => readPair(join(certDir, "kubelet-server-current.pem")),
          () => undefined,
        ),
      ]
    : []),
];

/**
 * The certificate manager of one kind: while the current certificate is before its rotation deadline, sleeps (at most
 * a minute at a time); once due (or missing), asks for a new one (certs.ts), stores it and hands it to `use`.
 */
async function rotate(
  kind: Kind,
  current: () => Promise<Pair | undefined>,
  use: (cert: Buffer, key: Buffer) => void,
): Promise<void> {
  while (running) {
    const cur = await current();
    const due = cur ? rotationDeadline(cur.x509) : 0;
    if (Date.now() < due) {
      await nap(Math.min(due - Date.now(), 60_000));
      continue;
    }
    log.info(`rotating the ${kind.what} certificate`, {
      ...(cur ? { notAfter: new Date(cur.x509.validTo).toISOString() } : { missing: true }),
    });
    const got = await requestCertificate(kind, { api, nodeName: name, log, running: () => running, nap });
    if (!got) return;
    const path = await storeUpdate(certDir, kind.storeName, got.cert, got.key);
    log.info(`the new ${kind.what} certificate is in use`, { path });
    use(Buffer.from(got.cert), Buffer.from(got.key));
  }
}

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
