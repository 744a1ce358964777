import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { KubecycleError, toGrpcStatus } from "../../shared/index.js";
import { audit } from "./audit.js";
import { authorize } from "./authz.js";
import { callerOf, type Caller } from "./caller.js";
import type { RpcContext } from "./context.js";

/** A unary handler as grpc-js calls it. */
export type UnaryHandler<Req, Res> = (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void;

/** An authenticated, authorized caller (its role is known). */
export type AuthorizedCaller = Caller & { role: NonNullable<Caller["role"]> };

/**
 * The shape of a unary read: authorization by the table, admission within the per-client and per-role bounds, the
 * work, errors mapped in one place. A refusal by the table is audited; an internal error is logged.
 */
export function unaryRead(ctx: RpcContext) {
  return <Req, Res>(rpc: string, fn: (req: Req, caller: AuthorizedCaller) => Promise<Res>): UnaryHandler<Req, Res> =>
    (call, cb) => {
      const t0 = Date.now();
      let caller: Caller | undefined;
      let release: (() => void) | undefined;
      void (async () => {
        try {
          caller = callerOf(call);
          const role = refuseUnlessAuthorized(ctx, rpc, caller, call.request, t0);
          release = ctx.admission.admit("read", caller.identity, role);
          // A viewer's work waits its turn after the I/O at hand: an operator's call that arrived in the same burst
          // is answered first, however many viewer calls came with it.
          if (role === "viewer") await new Promise((resolve) => setImmediate(resolve));
          cb(null, await fn(call.request, { ...caller, role }));
        } catch (err) {
          if (!(err instanceof KubecycleError)) ctx.log.error({ err, rpc }, "read call failed");
          cb(toGrpcStatus(err));
        } finally {
          release?.();
        }
      })();
    };
}

/**
 * The shape of a unary change: authorization by the table, no change while the agent drains, the work (which runs
 * once per operation id of its caller, see Mutations), an audit line for every call however it ends, and the
 * readers' unit states refreshed after it.
 */
export function unaryWrite(ctx: RpcContext) {
  return <Req, Res>(rpc: string, fn: (req: Req, caller: AuthorizedCaller) => Promise<Res>): UnaryHandler<Req, Res> =>
    (call, cb) => {
      const t0 = Date.now();
      let caller: Caller | undefined;
      void (async () => {
        try {
          caller = callerOf(call);
          const role = authorize(ctx.table, rpc, caller);
          if (ctx.lifecycle.state !== "serving") {
            throw new KubecycleError("AGENT_DRAINING", `agent is ${ctx.lifecycle.state}; not accepting changes`);
          }
          const res = await fn(call.request, { ...caller, role });
          audit(ctx.log, { rpc, caller, peer: call.getPeer(), req: call.request, res, t0 });
          cb(null, res);
        } catch (err) {
          audit(ctx.log, { rpc, caller, peer: call.getPeer(), req: call.request, err, t0 });
          cb(toGrpcStatus(err));
        } finally {
          ctx.unitStates.invalidate();
        }
      })();
    };
}

/** Authorizes a read or stream; a refusal is audited (a read refused is a security event, a read answered is not). */
export function refuseUnlessAuthorized(
  ctx: RpcContext,
  rpc: string,
  caller: Caller,
  req: unknown,
  t0: number,
): NonNullable<Caller["role"]> {
  try {
    return authorize(ctx.table, rpc, caller);
  } catch (err) {
    audit(ctx.log, { rpc, caller, peer: caller.peer, req, err, t0 });
    throw err;
  }
}
