import type { StepRunners } from "../executor.js";
import { checkAgent } from "./agent.js";
import { checkCapacity } from "./capacity.js";
import { checkApiServers, checkControlPlane } from "./control-plane.js";
import type { StepDeps } from "./deps.js";
import { runDrain } from "./drain.js";
import { checkEtcdHealthy, checkEtcdQuorum, waitEtcdMember } from "./etcd.js";
import { runAcquireLock, runReleaseLock } from "./lock.js";
import { checkNodeExists, runCordon, runUncordon, runWaitNodeReady } from "./node.js";
import { runStopPodSandboxes } from "./pods.js";
import { runEtcdSnapshot } from "./snapshot.js";
import { runUnits } from "./units.js";

export type { StepDeps } from "./deps.js";

/** Every step kind's runner, bound to the operation's dependencies. */
export function makeRunners(deps: StepDeps): Required<StepRunners> {
  return {
    "check-agent": (ctx) => checkAgent(deps, ctx),
    "check-node-exists": (ctx) => checkNodeExists(deps, ctx),
    "check-etcd-quorum": (ctx) => checkEtcdQuorum(deps, ctx),
    "check-capacity": (ctx) => checkCapacity(deps, ctx),
    "acquire-lock": (ctx) => runAcquireLock(deps, ctx),
    "etcd-snapshot": (ctx) => runEtcdSnapshot(deps, ctx),
    cordon: (ctx) => runCordon(deps, ctx),
    drain: (ctx) => runDrain(deps, ctx),
    "stop-units": (ctx) => runUnits(deps, ctx),
    "start-units": (ctx) => runUnits(deps, ctx),
    "stop-pod-sandboxes": (ctx) => runStopPodSandboxes(deps, ctx),
    "wait-node-ready": (ctx) => runWaitNodeReady(deps, ctx),
    "check-etcd-healthy": (ctx) => checkEtcdHealthy(deps, ctx),
    "check-control-plane": (ctx) => checkControlPlane(deps, ctx),
    "check-api-servers": (ctx) => checkApiServers(deps, ctx),
    "wait-etcd-member": (ctx) => waitEtcdMember(deps, ctx),
    uncordon: (ctx) => runUncordon(deps, ctx),
    "release-lock": () => runReleaseLock(deps),
  };
}
