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
    ...(deps.adoptLock ? { adopt: deps.adoptLock } : {}),
  });
  return { ...got };
}

/** release-lock: the operation is over. */
export async function runReleaseLock(deps: StepDeps): Promise<Evidence> {
  await deps.lock.release();
  return { released: true };
}
