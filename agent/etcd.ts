import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { KubecycleError, type EtcdMemberStatus__Output, type SnapshotSummary__Output } from "../shared/index.js";
import { failureText, runCommand } from "./exec.js";

/** Options of {@link EtcdProbe}. */
export interface EtcdProbeOptions {
  /** KubeKey's /etc/etcd.env: ETCDCTL_* for the client and ETCD_ADVERTISE_CLIENT_URLS for the local member. */
  envFile: string;
  etcdctl: string;
  /** Where snapshots are taken before they are streamed (the agent's state directory). */
  workDir: string;
}

/** Parses an EnvironmentFile: KEY=VALUE lines, optional quotes, # comments. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0])
      value = value.slice(1, -1);
    env[key] = value;
  }
  return env;
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

/**
 * The local etcd member, through etcdctl v3 with the member's own client credentials. Health is etcd's
 * linearizable read (`endpoint health`), so it fails without quorum; status and member list come from the member.
 */
export class EtcdProbe {
  readonly #opts: EtcdProbeOptions;

  constructor(opts: EtcdProbeOptions) {
    this.#opts = opts;
  }

  /** The member's environment, or undefined when this node runs no etcd. */
  async #env(): Promise<{ env: Record<string, string>; endpoint: string; name: string } | undefined> {
    let text: string;
    try {
      text = await readFile(this.#opts.envFile, "utf8");
    } catch {
      return undefined;
    }
    const file = parseEnvFile(text);
    const endpoint = (file.ETCD_ADVERTISE_CLIENT_URLS ?? file.ETCDCTL_ENDPOINTS ?? "").split(",")[0]?.trim() ?? "";
    if (endpoint === "") {
      throw new KubecycleError(
        "SYSTEMD_FAILED",
        `${this.#opts.envFile} names no client URL (ETCD_ADVERTISE_CLIENT_URLS)`,
      );
    }
    const env = Object.fromEntries(Object.entries(file).filter(([k]) => k.startsWith("ETCDCTL_")));
    // Ask exactly this member, whatever ETCDCTL_ENDPOINTS lists.
    delete env.ETCDCTL_ENDPOINTS;
    return { env: { ...env, ETCDCTL_API: "3" }, endpoint, name: file.ETCD_NAME ?? "" };
  }

  async #etcdctl(env: Record<string, string>, args: string[], timeoutMs: number, signal?: AbortSignal) {
    const seconds = `${Math.max(1, Math.ceil(timeoutMs / 1000))}s`;
    return runCommand(this.#opts.etcdctl, [...args, `--command-timeout=${seconds}`, `--dial-timeout=${seconds}`], {
      timeoutMs: timeoutMs + 2000,
      env,
      ...(signal ? { signal } : {}),
    });
  }

  /** Health, status and member list of the local member; each part reports its own error. */
  async status(timeoutMs: number, signal?: AbortSignal): Promise<EtcdMemberStatus__Output> {
    const local = await this.#env();
    const out: EtcdMemberStatus__Output = {
      isMember: local !== undefined,
      endpoint: local?.endpoint ?? "",
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
    };
    if (!local) return out;
    const at = `--endpoints=${local.endpoint}`;
    const [health, status, members] = await Promise.all([
      this.#etcdctl(local.env, ["endpoint", "health", at, "-w", "json"], timeoutMs, signal),
      this.#etcdctl(local.env, ["endpoint", "status", at, "-w", "json"], timeoutMs, signal),
      this.#etcdctl(local.env, ["member", "list", at, "-w", "json"], timeoutMs, signal),
    ]);

    const h =
      health.code === 0 ? (parseEtcdJson(health.stdout) as Array<{ health?: boolean; error?: string }>)[0] : undefined;
    out.healthy = h?.health === true;
    out.healthError = out.healthy ? "" : (h?.error ?? failureText(health));

    if (status.code === 0) {
      const s = (parseEtcdJson(status.stdout) as Array<{ Status?: Record<string, unknown> }>)[0]?.Status ?? {};
      const header = (s.header ?? {}) as Record<string, unknown>;
      Object.assign(out, {
        memberId: str(header.member_id),
        clusterId: str(header.cluster_id),
        revision: num(header.revision),
        raftTerm: num(s.raftTerm ?? header.raft_term),
        leaderId: str(s.leader),
        raftIndex: num(s.raftIndex),
        raftAppliedIndex: num(s.raftAppliedIndex),
        dbSizeBytes: num(s.dbSize),
        version: str(s.version),
        errors: Array.isArray(s.errors) ? s.errors.map(str) : [],
      });
    } else {
      out.statusError = failureText(status);
    }

    if (members.code === 0) {
      const list = (parseEtcdJson(members.stdout) as { members?: Array<Record<string, unknown>> }).members ?? [];
      out.members = list.map((m) => ({
        id: str(m.ID),
        name: str(m.name),
        peerUrls: Array.isArray(m.peerURLs) ? m.peerURLs.map(str) : [],
        clientUrls: Array.isArray(m.clientURLs) ? m.clientURLs.map(str) : [],
        isLearner: m.isLearner === true,
      }));
    } else {
      out.membersError = failureText(members);
    }
    return out;
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
    const local = await this.#env();
    if (!local) {
      throw new KubecycleError("INVALID_REQUEST", "this node runs no etcd member (no etcd environment file)", {
        hint: "ask an etcd member's agent",
      });
    }
    const dir = join(this.#opts.workDir, "snapshots");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `snapshot-${Date.now()}.db`);
    try {
      const at = `--endpoints=${local.endpoint}`;
      const saved = await this.#etcdctl(local.env, ["snapshot", "save", path, at], timeoutMs, signal);
      if (saved.code !== 0)
        throw new KubecycleError("SYSTEMD_FAILED", `etcdctl snapshot save failed: ${failureText(saved)}`);
      const st = await this.#etcdctl(local.env, ["snapshot", "status", path, "-w", "json"], timeoutMs, signal);
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
