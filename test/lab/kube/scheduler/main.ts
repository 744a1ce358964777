// kube-scheduler stand-in (lab fixture, never shipped): binds Pending pods while this process leads the etcd
// election; health on :10259. Talks to etcd directly (the real one goes through the apiserver); no preemption,
// affinity or topology spreading.
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { parseDuration, parseFlags, required } from "../lib/flags.js";
import { createLog } from "../lib/log.js";
import { runElected } from "../apiserver/component.js";
import { schedulePending } from "./schedule.js";

const log = createLog("kube-scheduler");
const flags = parseFlags(
  process.argv.slice(2),
  [
    "bind-address",
    "secure-port",
    "tls-cert-file",
    "tls-private-key-file",
    "etcd-servers",
    "etcd-cafile",
    "etcd-certfile",
    "etcd-keyfile",
    "leader-elect-lease-duration",
    "identity",
  ] as const,
  { "bind-address": "0.0.0.0", "secure-port": "10259", "leader-elect-lease-duration": "3s" },
);

const port = Number(flags["secure-port"]);
const c = await runElected({
  name: "kube-scheduler",
  identity: `${flags.identity ?? hostname()}_${randomUUID()}`,
  etcd: {
    endpoints: required(flags, "etcd-servers").split(","),
    ...(flags["etcd-cafile"] ? { caFile: flags["etcd-cafile"] } : {}),
    ...(flags["etcd-certfile"] ? { certFile: flags["etcd-certfile"] } : {}),
    ...(flags["etcd-keyfile"] ? { keyFile: flags["etcd-keyfile"] } : {}),
  },
  leaseSeconds: Math.max(2, Math.round(parseDuration(flags["leader-elect-lease-duration"] ?? "3s") / 1000)),
  periodMs: 300,
  ...(port > 0 && flags["tls-cert-file"] && flags["tls-private-key-file"]
    ? {
        health: {
          host: flags["bind-address"] ?? "0.0.0.0",
          port,
          certFile: flags["tls-cert-file"],
          keyFile: flags["tls-private-key-file"],
        },
      }
    : {}),
  log,
  round: (store) => schedulePending(store, log),
});
log.info("started");
const stop = (): void => {
  void c.stop().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
