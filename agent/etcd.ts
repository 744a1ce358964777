import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { KubecycleError, type EtcdMemberStatus__Output, type SnapshotSummary__Output } from "../shared/index.js";
import { failureText, runCommand } from "./exec.js";
import { EtcdClients, errorText, type EtcdEndpoint } from "./etcd-client.js";
import type { EtcdConfig } from "./layout.js";

/** Options of {@link EtcdProbe}. */
export interface EtcdProbeOptions {
  /** How etcd is configured on this node now (read on every call: a node's layout can change under the agent). */
  config: (signal?: AbortSignal) => Promise<EtcdConfig>;
  etcdctl: string;
  /** Where snapshots are taken before they are streamed (the agent's state directory). */
  workDir: string;
}

/** etcdctl prints uint64 member ids as JSON numbers beyond 2^53; keep their digits by reading them as strings. */
export function parseEtcdJson(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

const str = (v: unknown): string =>
  typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : "";
const num = (v: unknown): number => {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
};

/** An etcd endpoint and the client credentials (PEM files) to ask it with, and the member's name. */
export interface Target extends EtcdEndpoint {
  name: string;
}

/**
 * The local member's endpoint: its first advertised client URL (ETCDCTL_ENDPOINTS when it advertises none), or why
 * there is none.
 */
export function localTarget(cfg: EtcdConfig): Target | string {
  const endpoint = cfg.clientUrls[0] ?? cfg.fallbackEndpoints[0] ?? "";
  if (endpoint === "") return cfg.error || `etcd is configured in ${cfg.configFile} but no client URL is named`;
  return { endpoint, caFile: cfg.caFile, certFile: cfg.certFile, keyFile: cfg.keyFile, name: cfg.name };
}

/** etcd's answer when nothing was asked: no local etcd. */
function emptyStatus(): EtcdMemberStatus__Output {
  return {
    isMember: false,
    endpoint: "",
    healthy: false,
    healthError: "",
    memberId: "",
    leaderId: "",
    raftTerm: 0,
    raftIndex: 0,
    raftAppliedIndex: 0,
    revision: 0,
    dbSizeBytes: 0,
    version: "",
    errors: [],
    statusError: "",
    members: [],
    membersError: "",
    clusterId: "",
    dbSizeInUseBytes: 0,
  };
}

/**
 * Runs `etcdctl ARGS` (v3) against one endpoint with its credentials as flags (never the environment), within
 * `timeoutMs`.
 */
export function etcdctl(bin: string, target: Target, args: readonly string[], timeoutMs: number, signal?: AbortSignal) {
  const seconds = `${Math.max(1, Math.ceil(timeoutMs / 1000))}s`;
  return runCommand(
    bin,
    [
      ...args,
      `--endpoints=${target.endpoint}`,
      ...(target.caFile ? [`--cacert=${target.caFile}`] : []),
      ...(target.certFile ? [`--cert=${target.certFile}`] : []),
      ...(target.keyFile ? [`--key=${target.keyFile}`] : []),
      `--command-timeout=${seconds}`,
      `--dial-timeout=${seconds}`,
    ],
    { timeoutMs: timeoutMs + 2000, env: { ETCDCTL_API: "3" }, ...(signal ? { signal } : {}) },
  );
}

/** A decimal uint64 member id, as the proto carries it. */
const MEMBER_ID = /^[0-9]{1,20}$/;

/**
 * The local etcd member (systemd unit or static pod, as the node's layout says), through etcd's v3 gRPC API on a
 * connection kept to it, with the client credentials the layout names (a snapshot is etcdctl's). Health is what
 * etcdctl's `endpoint health` checks: a linearizable read, so it fails without quorum, and no alarm raised; status and
 * member list come from the member. Another member can be asked by its id, with the same credentials, at the client
 * URLs the local member's list gives for it.
 */
export class EtcdProbe {
  readonly #opts: EtcdProbeOptions;
  readonly #clients = new EtcdClients();

  constructor(opts: EtcdProbeOptions) {
    this.#opts = opts;
  }

  #etcdctl(target: Target, args: string[], timeoutMs: number, signal?: AbortSignal) {
    return etcdctl(this.#opts.etcdctl, target, args, timeoutMs, signal);
  }

  /**
   * Health, status and member list of the local member, or of the member `memberId` (decimal, from the local
   * member's list); each part reports its own error. An id not in the list is refused.
   */
  async status(timeoutMs: number, signal?: AbortSignal, memberId = ""): Promise<EtcdMemberStatus__Output> {
    if (memberId !== "" && !MEMBER_ID.test(memberId)) {
      throw new KubecycleError("INVALID_REQUEST", "member_id: expected a decimal etcd member id", {
        field: "member_id",
      });
    }
    const cfg = await this.#opts.config(signal);
    if (cfg.mode === "none") {
      if (memberId !== "") {
        throw new KubecycleError(
          "INVALID_REQUEST",
          "member_id: this node has no etcd configured to ask for its members",
          {
            field: "member_id",
            hint: "ask the agent of a node that runs an etcd member",
          },
        );
      }
      return emptyStatus();
    }
    const local = localTarget(cfg);
    if (typeof local === "string") {
      if (memberId !== "") throw new KubecycleError("ETCD_UNHEALTHY", `cannot check member ${memberId}: ${local}`);
      return { ...emptyStatus(), healthError: local };
    }
    if (memberId === "") return this.#ask(local, timeoutMs, signal);

    const list = await this.#members(local, timeoutMs, signal);
    if (typeof list === "string") {
      throw new KubecycleError(
        "ETCD_UNHEALTHY",
        `cannot check member ${memberId}: the local member's list did not answer: ${list}`,
      );
    }
    const member = list.find((m) => m.id === memberId);
    if (!member) {
      throw new KubecycleError("INVALID_REQUEST", `member_id: ${memberId} is not in the member list`, {
        field: "member_id",
        members: list.map((m) => m.id),
      });
    }
    const endpoint = member.clientUrls[0];
    if (!endpoint) {
      return {
        ...emptyStatus(),
        healthError: `member ${memberId} advertises no client URL (it has not started since it was added)`,
        members: list,
      };
    }
    const out = await this.#ask({ ...local, endpoint, name: member.name }, timeoutMs, signal);
    // Answered as a member only when the one asked is the one meant.
    return { ...out, isMember: out.isMember && out.memberId === memberId };
  }

  async #members(
    target: Target,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<EtcdMemberStatus__Output["members"] | string> {
    try {
      const list = await this.#clients.members(target, timeoutMs, signal);
      return list.map((m) => ({
        id: m.ID,
        name: m.name,
        peerUrls: m.peerURLs,
        clientUrls: m.clientURLs,
        isLearner: m.isLearner,
      }));
    } catch (err) {
      return errorText(err);
    }
  }

  /** Health, status and member list of one endpoint, asked together on the connection kept to it. */
  async #ask(target: Target, timeoutMs: number, signal?: AbortSignal): Promise<EtcdMemberStatus__Output> {
    const out: EtcdMemberStatus__Output = { ...emptyStatus(), endpoint: target.endpoint };
    const [health, status, members] = await Promise.all([
      this.#clients.health(target, timeoutMs, signal),
      this.#clients.status(target, timeoutMs, signal).catch((err: unknown) => errorText(err)),
      this.#members(target, timeoutMs, signal),
    ]);
    out.healthy = health === "";
    out.healthError = health;

    if (typeof status === "string") {
      out.statusError = status;
    } else {
      const header = status.header;
      Object.assign(out, {
        memberId: header?.memberId ?? "",
        clusterId: header?.clusterId ?? "",
        revision: num(header?.revision),
        raftTerm: num(status.raftTerm),
        leaderId: status.leader,
        raftIndex: num(status.raftIndex),
        raftAppliedIndex: num(status.raftAppliedIndex),
        dbSizeBytes: num(status.dbSize),
        dbSizeInUseBytes: num(status.dbSizeInUse),
        version: status.version,
        errors: status.errors,
      });
    }
    // A member answered Status with its own id: only a member does.
    out.isMember = out.memberId !== "" && out.memberId !== "0";

    if (typeof members === "string") out.membersError = members;
    else out.members = members;
    return out;
  }

  /** Closes the connections kept to etcd members. */
  close(): void {
    this.#clients.close();
  }

  /**
   * Takes a snapshot of the local member into the work directory and hands its path and summary to `send`, which
   * streams it; the file is removed afterwards whatever happens.
   */
  async snapshot(
    timeoutMs: number,
    signal: AbortSignal | undefined,
    send: (path: string, summary: SnapshotSummary__Output) => Promise<void>,
  ): Promise<void> {
    const cfg = await this.#opts.config(signal);
    if (cfg.mode === "none") {
      throw new KubecycleError(
        "INVALID_REQUEST",
        "this node has no etcd configured (no unit with an environment file, no static pod)",
        {
          hint: "ask an etcd member's agent",
        },
      );
    }
    const local = localTarget(cfg);
    if (typeof local === "string") throw new KubecycleError("ETCD_UNHEALTHY", `cannot take a snapshot: ${local}`);
    const dir = join(this.#opts.workDir, "snapshots");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `snapshot-${Date.now()}.db`);
    try {
      const saved = await this.#etcdctl(local, ["snapshot", "save", path], timeoutMs, signal);
      if (saved.code !== 0)
        throw new KubecycleError("SYSTEMD_FAILED", `etcdctl snapshot save failed: ${failureText(saved)}`);
      // snapshot status reads the file; it needs no endpoint, and etcdctl ignores the flags.
      const st = await this.#etcdctl(local, ["snapshot", "status", path, "-w", "json"], timeoutMs, signal);
      if (st.code !== 0)
        throw new KubecycleError("SYSTEMD_FAILED", `etcdctl snapshot status failed: ${failureText(st)}`);
      const info = parseEtcdJson(st.stdout) as Record<string, unknown>;
      const hash = createHash("sha256");
      let size = 0;
      for await (const chunk of createReadStream(path)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      await send(path, {
        sha256: hash.digest("hex"),
        sizeBytes: size,
        revision: num(info.revision),
        totalKeys: num(info.totalKey),
        memberName: local.name,
        takenUnixMs: Date.now(),
      });
    } finally {
      await rm(path, { force: true });
    }
  }
}

/** `etcdctl member list -w json`, ids kept as decimal strings. */
export function parseMembers(stdout: string): EtcdMemberStatus__Output["members"] {
  const list = (parseEtcdJson(stdout) as { members?: Array<Record<string, unknown>> }).members ?? [];
  return list.map((m) => ({
    id: str(m.ID),
    name: str(m.name),
    peerUrls: Array.isArray(m.peerURLs) ? m.peerURLs.map(str) : [],
    clientUrls: Array.isArray(m.clientURLs) ? m.clientURLs.map(str) : [],
    isLearner: m.isLearner === true,
  }));
}
