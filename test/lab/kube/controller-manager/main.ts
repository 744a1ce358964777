// kube-controller-manager stand-in (lab fixture, never shipped): node lifecycle, pod GC, ReplicaSet, DaemonSet,
// Deployment status and disruption controllers, active only while this process leads the etcd election; health on
// :10257. Differs from the real one in talking to etcd directly instead of through the apiserver, so a master
// whose apiserver is down can still lead; everything it writes goes through the same registry rules.
import { parseDuration, parseFlags, required } from "../lib/flags.js";
import { createLog } from "../lib/log.js";
import { ELECTED_FLAGS, electedOptionsFromFlags, runElected } from "../apiserver/component.js";
import { reconcile, type ControllerContext } from "./controllers.js";

const log = createLog("kube-controller-manager");
const flags = parseFlags(process.argv.slice(2), [...ELECTED_FLAGS, "node-monitor-grace-period"] as const, {
  "bind-address": "0.0.0.0",
  "secure-port": "10257",
  "node-monitor-grace-period": "6s",
  "leader-elect-lease-duration": "3s",
});

const graceMs = parseDuration(flags["node-monitor-grace-period"] ?? "6s");
const ctx: Omit<ControllerContext, "store"> = {
  log,
  graceMs,
  podGcMs: Math.max(10_000, graceMs * 2),
  orphansSeen: new Map(),
};
required(flags, "etcd-servers");
const c = await runElected(
  electedOptionsFromFlags("kube-controller-manager", flags, {
    periodMs: 500,
    log,
    round: (store) => reconcile({ ...ctx, store }),
  }),
);
log.info("started", { graceMs });
const stop = (): void => {
  void c.stop().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
