// kube-controller-manager stand-in (lab fixture, never shipped): node lifecycle, pod GC, ReplicaSet, DaemonSet,
// Deployment status and disruption controllers, and with --cluster-signing-cert-file/-key-file the csrsigning
// controller (csrsigning.ts), active only while this process leads the etcd election; health on
// :10257. Differs from the real one in talking to etcd directly instead of through the apiserver, so a master
// whose apiserver is down can still lead; everything it writes goes through the same registry rules.
import { parseDuration, parseFlags, required } from "../lib/flags.js";
import { createLog, errMsg } from "../lib/log.js";
import { ELECTED_FLAGS, electedOptionsFromFlags, runElected } from "../apiserver/component.js";
import { reconcile, type ControllerContext } from "./controllers.js";
import { signApprovedCsrs, type SigningOptions } from "./csrsigning.js";

const log = createLog("kube-controller-manager");
const flags = parseFlags(
  process.argv.slice(2),
  [
    ...ELECTED_FLAGS,
    "node-monitor-grace-period",
    "cluster-signing-cert-file",
    "cluster-signing-key-file",
    "cluster-signing-duration",
  ] as const,
  {
    "bind-address": "0.0.0.0",
    "secure-port": "10257",
    "node-monitor-grace-period": "6s",
    "leader-elect-lease-duration": "3s",
    "cluster-signing-duration": "8760h",
  },
);

const graceMs = parseDuration(flags["node-monitor-grace-period"] ?? "6s");
const ctx: Omit<ControllerContext, "store"> = {
  log,
  graceMs,
  podGcMs: Math.max(10_000, graceMs * 2),
  orphansSeen: new Map(),
};
const caCertFile = flags["cluster-signing-cert-file"];
const caKeyFile = flags["cluster-signing-key-file"];
const signing: SigningOptions | undefined =
  caCertFile && caKeyFile
    ? { caCertFile, caKeyFile, durationMs: parseDuration(flags["cluster-signing-duration"] ?? "8760h") }
    : undefined;
required(flags, "etcd-servers");
const c = await runElected(
  electedOptionsFromFlags("kube-controller-manager", flags, {
    periodMs: 500,
    log,
    round: async (store) => {
      await reconcile({ ...ctx, store });
      if (signing)
        await signApprovedCsrs(store, signing, log).catch((err: unknown) =>
          log.warn("controller round failed", { controller: "csrsigning", err: errMsg(err) }),
        );
    },
  }),
);
log.info("started", { graceMs });
const stop = (): void => {
  void c.stop().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
