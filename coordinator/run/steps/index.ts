import type { StepRunners } from "../executor.js";
import { checkAddresses } from "./addresses.js";
import { checkAgent, waitAgent } from "./agent.js";
import { checkApi } from "./api.js";
import { runSetAutoStart } from "./auto-start.js";
import { checkCertificates } from "./certificates.js";
import { checkCapacity } from "./capacity.js";
import { checkApiServers, checkControlPlane } from "./control-plane.js";
import type { StepDeps } from "./deps.js";
import { runKubeletCsrs } from "./csrs.js";
import { checkDrainable, runDrain } from "./drain.js";
import { checkEtcdHealthy, checkEtcdQuorum, waitEtcdMember } from "./etcd.js";
import { runAcquireLock, runAttachLease, runParkLease, runReleaseLock } from "./lock.js";
import { checkNodeExists, runCordon, runUncordon, runWaitNodeReady } from "./node.js";
import { runStopPodSandboxes } from "./pods.js";
import { runPowerOff } from "./power.js";
import { runRecordInventory } from "./record.js";
import {
  checkEtcdMembers,
  checkEtcdRestorable,
  checkSnapshot,
  runEtcdRejoin,
  runEtcdReplaceMember,
  runEtcdRestore,
  runStageSnapshot,
} from "./restore.js";
import { runSettleReport } from "./settle.js";
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
    "check-drainable": (ctx) => checkDrainable(deps, ctx),
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
    "check-api": (ctx) => checkApi(deps, ctx),
    "check-certificates": (ctx) => checkCertificates(deps, ctx),
    "check-addresses": (ctx) => checkAddresses(deps, ctx),
    "record-inventory": (ctx) => runRecordInventory(deps, ctx),
    "park-lease": () => runParkLease(deps),
    "attach-lease": () => runAttachLease(deps),
    "set-auto-start": (ctx) => runSetAutoStart(deps, ctx),
    "power-off": (ctx) => runPowerOff(deps, ctx),
    "wait-agent": (ctx) => waitAgent(deps, ctx),
    "settle-report": (ctx) => runSettleReport(deps, ctx),
    "kubelet-csrs": (ctx) => runKubeletCsrs(deps, ctx),
    "check-snapshot": (ctx) => checkSnapshot(deps, ctx),
    "check-etcd-restorable": (ctx) => checkEtcdRestorable(deps, ctx),
    "stage-snapshot": (ctx) => runStageSnapshot(deps, ctx),
    "etcd-restore": (ctx) => runEtcdRestore(deps, ctx),
    "etcd-replace-member": (ctx) => runEtcdReplaceMember(deps, ctx),
    "etcd-rejoin": (ctx) => runEtcdRejoin(deps, ctx),
    "check-etcd-members": (ctx) => checkEtcdMembers(deps, ctx),
  };
}
