import type { StepAction } from "../../plan/index.js";
import type { Evidence, StepContext } from "../executor.js";
import type { StepDeps } from "./deps.js";

/** acquire-lock: the kube-system Lease and the local lock file. */
export async function runAcquireLock(
  deps: StepDeps,
  ctx: StepContext<Extract<StepAction, { kind: "acquire-lock" }>>,
): Promise<Evidence> {
  const got = await deps.lock.acquire({
    breakLock: ctx.step.action.breakLock,
    api: ctx.step.action.api,
    ...(deps.adoptLock ? { adopt: deps.adoptLock } : {}),
  });
  return { ...got };
}

/** release-lock: the operation is over. */
export async function runReleaseLock(deps: StepDeps): Promise<Evidence> {
  await deps.lock.release();
  return { released: true };
}

/** park-lease: before the API goes (a cluster stop), the Lease says this operation holds the cluster for its start. */
export async function runParkLease(deps: StepDeps): Promise<Evidence> {
  await deps.lock.parkLease();
  return { lease: "parked", local: "held" };
}

/** attach-lease: the API is back (a cluster start): the Lease is taken back from the parked stop. */
export async function runAttachLease(deps: StepDeps): Promise<Evidence> {
  const got = await deps.lock.attachLease({ breakLock: false, ...(deps.adoptLock ? { adopt: deps.adoptLock } : {}) });
  return { ...got };
}
