// kube-scheduler stand-in (lab fixture, never shipped): binds Pending pods while this process leads the etcd
// election; health on :10259. Talks to etcd directly (the real one goes through the apiserver); no preemption,
// affinity or topology spreading.
import { parseFlags, required } from "../lib/flags.js";
import { createLog } from "../lib/log.js";
import { ELECTED_FLAGS, electedOptionsFromFlags, runElected } from "../apiserver/component.js";
import { schedulePending } from "./schedule.js";

const log = createLog("kube-scheduler");
const flags = parseFlags(process.argv.slice(2), ELECTED_FLAGS, {
  "bind-address": "0.0.0.0",
  "secure-port": "10259",
  "leader-elect-lease-duration": "3s",
});

required(flags, "etcd-servers");
const c = await runElected(
  electedOptionsFromFlags("kube-scheduler", flags, {
    // A round lists every pod and node from etcd; once a second places a pod soon enough and keeps etcd idle.
    periodMs: 1000,
    log,
    round: (store) => schedulePending(store, log),
  }),
);
log.info("started");
const stop = (): void => {
  void c.stop().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
