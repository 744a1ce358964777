import type { sendUnaryData, ServerReadableStream, ServerWritableStream } from "@grpc/grpc-js";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import {
  KubecycleError,
  toGrpcStatus,
  type AgentHandlers,
  type SnapshotChunk,
  type SnapshotUpload__Output,
  type StagedSnapshot__Output,
} from "../../shared/index.js";
import { audit } from "./audit.js";
import { ANY_ROLE, OPERATOR_ONLY, type Roles } from "./authz.js";
import { callerOf, type Caller } from "./caller.js";
import { requestedTimeout, type RpcContext } from "./context.js";
import { refuseUnlessAuthorized } from "./unary.js";

/** Who may open the streams: status for every role; a snapshot, which holds every secret of the cluster, operators. */
export const STREAM_ROLES = {
  WatchStatus: ANY_ROLE,
  EtcdSnapshot: OPERATOR_ONLY,
  StageSnapshot: OPERATOR_ONLY,
} as const satisfies Record<string, Roles>;

// A watch sends at least this often when asked for less, and at least this seldom.
const MIN_WATCH_INTERVAL_MS = 1000;
const MAX_WATCH_INTERVAL_MS = 3_600_000;
const DEFAULT_WATCH_INTERVAL_MS = 10_000;

/** The server-streaming calls: each is authorized by the table and counted within the stream bounds while open. */
export function streamHandlers(ctx: RpcContext): Pick<AgentHandlers, keyof typeof STREAM_ROLES> {
  return {
    WatchStatus: (call) => void watch(ctx, call),
    EtcdSnapshot: (call) => void snapshot(ctx, call),
    StageSnapshot: (call, cb) => void stage(ctx, call, cb),
  };
}

/** Sends a status at once, then on every unit change, and at least every interval, until cancelled or draining. */
async function watch(ctx: RpcContext, call: ServerWritableStream<{ intervalMs?: number }, unknown>): Promise<void> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  call.on("cancelled", stop);
  ctx.drainSignal.addEventListener("abort", stop);
  let release: (() => void) | undefined;
  try {
    const caller = callerOf(call);
    const role = refuseUnlessAuthorized(ctx, "WatchStatus", caller, call.request, Date.now());
    release = ctx.admission.admit("stream", caller.identity, role);
    const asked = call.request.intervalMs ?? 0;
    const intervalMs =
      asked === 0 ? DEFAULT_WATCH_INTERVAL_MS : Math.min(Math.max(asked, MIN_WATCH_INTERVAL_MS), MAX_WATCH_INTERVAL_MS);
    await ctx.watchers.watch(intervalMs, (status) => call.write(status), ac.signal);
    call.end();
  } catch (err) {
    if (ac.signal.aborted) {
      call.end();
    } else {
      if (!(err instanceof KubecycleError)) ctx.log.error({ err, rpc: "WatchStatus" }, "status stream failed");
      call.emit("error", toGrpcStatus(err));
    }
  } finally {
    release?.();
    call.off("cancelled", stop);
    ctx.drainSignal.removeEventListener("abort", stop);
  }
}

/** Streams a snapshot of the local member: data chunks, then the summary with the sha256 of all bytes sent. */
async function snapshot(
  ctx: RpcContext,
  call: ServerWritableStream<{ timeoutMs?: number }, SnapshotChunk>,
): Promise<void> {
  const t0 = Date.now();
  let caller: Caller | undefined;
  let release: (() => void) | undefined;
  const ac = new AbortController();
  const stop = () => ac.abort();
  call.on("cancelled", stop);
  try {
    caller = callerOf(call);
    const role = refuseUnlessAuthorized(ctx, "EtcdSnapshot", caller, call.request, t0);
    if (ctx.lifecycle.state !== "serving") {
      throw new KubecycleError("AGENT_DRAINING", `agent is ${ctx.lifecycle.state}; not taking snapshots`);
    }
    release = ctx.admission.admit("stream", caller.identity, role);
    const timeoutMs = requestedTimeout(
      call.request.timeoutMs,
      ctx.config.etcd.snapshotTimeoutMs,
      Math.max(ctx.config.etcd.snapshotTimeoutMs, 3_600_000),
    );
    const who = caller;
    await ctx.etcd.snapshot(timeoutMs, ac.signal, async (path, summary) => {
      for await (const data of createReadStream(path, { highWaterMark: 256 * 1024 })) {
        if (ac.signal.aborted) throw new KubecycleError("CANCELLED", "snapshot stream cancelled by the client");
        if (!call.write({ data: data as Buffer })) await once(call, "drain", { signal: ac.signal });
      }
      call.write({ data: Buffer.alloc(0), summary });
      audit(ctx.log, { rpc: "EtcdSnapshot", caller: who, peer: call.getPeer(), req: {}, res: { ok: true }, t0 });
    });
    call.end();
  } catch (err) {
    // A refusal by the table was audited where it was refused.
    if (!(err instanceof KubecycleError && err.code === "PERMISSION_DENIED")) {
      audit(ctx.log, { rpc: "EtcdSnapshot", caller, peer: call.getPeer(), req: {}, err, t0 });
    }
    if (!ac.signal.aborted) call.emit("error", toGrpcStatus(err));
  } finally {
    release?.();
    call.off("cancelled", stop);
  }
}

/**
 * Receives a snapshot to restore from: the header (operation id, sha256, size) first, then data. Counted as a stream
 * while open; audited however it ends.
 */
async function stage(
  ctx: RpcContext,
  call: ServerReadableStream<SnapshotUpload__Output, StagedSnapshot__Output>,
  cb: sendUnaryData<StagedSnapshot__Output>,
): Promise<void> {
  const t0 = Date.now();
  let caller: Caller | undefined;
  let release: (() => void) | undefined;
  let header: SnapshotUpload__Output["header"] = null;
  const ac = new AbortController();
  const stop = () => ac.abort();
  call.on("cancelled", stop);
  try {
    caller = callerOf(call);
    const role = refuseUnlessAuthorized(ctx, "StageSnapshot", caller, {}, t0);
    if (ctx.lifecycle.state !== "serving") {
      throw new KubecycleError("AGENT_DRAINING", `agent is ${ctx.lifecycle.state}; not staging snapshots`);
    }
    release = ctx.admission.admit("stream", caller.identity, role);
    const messages = (call as AsyncIterable<SnapshotUpload__Output>)[Symbol.asyncIterator]();
    const first = await messages.next();
    header = first.done ? null : first.value.header;
    if (first.done || !header) {
      throw new KubecycleError("INVALID_REQUEST", "the first message must carry the header", { field: "header" });
    }
    const leading = first.value.data;
    const data = (async function* () {
      if (leading.length > 0) yield leading;
      for (;;) {
        const next = await messages.next();
        if (next.done) return;
        if (next.value.header) {
          throw new KubecycleError("INVALID_REQUEST", "only the first message may carry a header", { field: "header" });
        }
        yield next.value.data;
      }
    })();
    const res = await ctx.restorer.stage(header, data, ac.signal);
    audit(ctx.log, { rpc: "StageSnapshot", caller, peer: call.getPeer(), req: header, res, t0 });
    cb(null, res);
  } catch (err) {
    if (!(err instanceof KubecycleError && err.code === "PERMISSION_DENIED")) {
      audit(ctx.log, { rpc: "StageSnapshot", caller, peer: call.getPeer(), req: header ?? {}, err, t0 });
    }
    if (!(err instanceof KubecycleError)) ctx.log.error({ err, rpc: "StageSnapshot" }, "staging failed");
    cb(toGrpcStatus(err));
  } finally {
    release?.();
    call.off("cancelled", stop);
  }
}
