import { KubecycleError, MAX_POD_SANDBOXES_MS, type AgentHandlers } from "../../shared/index.js";
import { validateOperationId } from "../op-records.js";
import { podScope } from "../pods.js";
import { powerOffDelay } from "../power.js";
import { OPERATOR_ONLY, type Roles } from "./authz.js";
import { requestedTimeout, type RpcContext } from "./context.js";
import { unaryWrite } from "./unary.js";

/** Who may call the changes: operators only. */
export const WRITE_ROLES = {
  StopUnits: OPERATOR_ONLY,
  StartUnits: OPERATOR_ONLY,
  SetAutoStart: OPERATOR_ONLY,
  StopPodSandboxes: OPERATOR_ONLY,
  PowerOff: OPERATOR_ONLY,
  EtcdRestore: OPERATOR_ONLY,
  EtcdReplaceMember: OPERATOR_ONLY,
  EtcdRejoin: OPERATOR_ONLY,
} as const satisfies Record<string, Roles>;

/**
 * The changes. Each carries an operation id that belongs to its caller: a repeated call with the same id returns the
 * recorded result and does not act twice (see Mutations and OpRecords).
 */
export function writeHandlers(ctx: RpcContext): Pick<AgentHandlers, keyof typeof WRITE_ROLES> {
  const write = unaryWrite(ctx);
  const { units, config } = ctx;
  return {
    StopUnits: write("StopUnits", (req, caller) => units.stop(units.plan(caller, req, req.units ?? []))),

    StartUnits: write("StartUnits", (req, caller) =>
      units.start(units.plan(caller, req, req.units ?? []), req.noBlock === true),
    ),

    SetAutoStart: write("SetAutoStart", (req, caller) =>
      units.setAutoStart(units.plan(caller, req, req.units ?? []), req.enabled === true),
    ),

    StopPodSandboxes: write("StopPodSandboxes", async (req, caller) => {
      const opId = validateOperationId(req.operationId);
      const scope = podScope(req.scope);
      const timeoutMs = requestedTimeout(req.timeoutMs, config.pods.timeoutMs, MAX_POD_SANDBOXES_MS);
      // The scope is part of the request's identity: the same id reused for another scope is a conflict.
      const fingerprint = JSON.stringify({ scope });
      const { result, replayed } = await ctx.mutations.run(caller, opId, "StopPodSandboxes", fingerprint, async () => {
        ctx.log.debug({ op: opId, scope }, "pod sandboxes: stopping");
        const r = await ctx.pods.stop(scope, timeoutMs);
        return {
          operationId: opId,
          ok: r.remaining.length === 0,
          replayed: false,
          stopped: r.stopped,
          remaining: r.remaining,
          message: r.message,
          containersStopped: r.containersStopped,
        };
      });
      return replayed ? { ...result, replayed } : result;
    }),

    PowerOff: write("PowerOff", (req, caller) =>
      ctx.power.powerOff(caller, validateOperationId(req.operationId), powerOffDelay(req.delayMs)),
    ),

    // The request is the operation's identity: the same id with another snapshot, member list or token conflicts.
    EtcdRestore: write("EtcdRestore", async (req, caller) => {
      const opId = validateOperationId(req.operationId);
      const fingerprint = JSON.stringify({
        sha256: req.snapshotSha256,
        members: (req.members ?? []).map((m) => ({ name: m.name, peerUrls: m.peerUrls })),
        token: req.clusterToken,
      });
      const { result, replayed } = await ctx.mutations.run(caller, opId, "EtcdRestore", fingerprint, () =>
        ctx.restorer.restore(opId, req),
      );
      return replayed ? { ...result, replayed } : result;
    }),

    EtcdReplaceMember: write("EtcdReplaceMember", async (req, caller) => {
      const opId = validateOperationId(req.operationId);
      const memberId = req.memberId ?? "";
      const { result, replayed } = await ctx.mutations.run(
        caller,
        opId,
        "EtcdReplaceMember",
        JSON.stringify({ memberId }),
        () => ctx.restorer.replaceMember(opId, memberId),
      );
      return replayed ? { ...result, replayed } : result;
    }),

    EtcdRejoin: write("EtcdRejoin", async (req, caller) => {
      const opId = validateOperationId(req.operationId);
      const phase =
        req.phase === "REJOIN_PHASE_PREPARE" ? "prepare" : req.phase === "REJOIN_PHASE_FINISH" ? "finish" : undefined;
      if (!phase) throw new KubecycleError("INVALID_REQUEST", "phase: expected PREPARE or FINISH", { field: "phase" });
      const initialCluster = req.initialCluster ?? "";
      const { result, replayed } = await ctx.mutations.run(
        caller,
        opId,
        "EtcdRejoin",
        JSON.stringify({ phase, initialCluster }),
        () => ctx.restorer.rejoin(opId, phase, initialCluster),
      );
      return replayed ? { ...result, replayed } : result;
    }),
  };
}
