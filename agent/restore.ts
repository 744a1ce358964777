// Restoring etcd on a node: a snapshot staged (checked against its sha256 and read by etcd's own tool), the local
// member restored from it into a fresh directory with the member list given, and a member that lost its data made to
// rejoin its cluster empty. Old data is always moved aside, never deleted: a restore that turns out wrong must be
// undoable by hand. Nothing here runs while etcd runs on the node.
import { createHash, randomBytes } from "node:crypto";
import { lchown, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, statfs, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseDocument, isSeq, isMap, type Document, type YAMLMap, type YAMLSeq } from "yaml";
import {
  KubecycleError,
  validateOperationId,
  type EtcdMember__Output,
  type EtcdRejoinResult__Output,
  type EtcdReplaceMemberResult__Output,
  type EtcdRestoreResult__Output,
  type Logger,
  type StagedSnapshot__Output,
} from "../shared/index.js";
import { etcdctl, localTarget, parseEtcdJson, parseMembers } from "./etcd.js";
import { failureText, runCommand, type RunResult } from "./exec.js";
import type { EtcdConfig } from "./layout.js";
import type { UnitManager } from "./systemd/unit-manager.js";

/** The largest snapshot accepted: etcd's own quota tops out at 8 GiB; a snapshot a little above that still fits. */
export const MAX_SNAPSHOT_BYTES = 16 * 1024 ** 3;
/** Room left free on the agent's disk after staging a snapshot. */
const STAGING_HEADROOM_BYTES = 256 * 1024 ** 2;
const SHA256 = /^[0-9a-f]{64}$/;
// What etcd accepts in a cluster token is free text; ours is generated, so hold it to a safe alphabet.
const TOKEN = /^[A-Za-z0-9._-]{1,128}$/;
/** The drop-in that tells etcd.service to join an existing cluster (systemd layout), and its environment file. */
const REJOIN_DROPIN = "50-kubecycle-rejoin.conf";
const REJOIN_ENV = "kubecycle-rejoin.env";

/** What the restorer works with. */
export interface RestoreDeps {
  /** How etcd is configured on the node now (the layout). */
  config: (signal?: AbortSignal) => Promise<EtcdConfig>;
  manager: UnitManager;
  etcdctl: string;
  etcdutl: string;
  /** The agent's state directory: staged snapshots, manifests kept aside, replace records. */
  stateDir: string;
  restoreTimeoutMs: number;
  /** One etcdctl call against a live member. */
  etcdTimeoutMs: number;
  /** Where unit drop-ins go. Default /etc/systemd/system. */
  systemdDir?: string;
  /** Pids of etcd processes running on the node. Default: /proc, by command name. */
  etcdProcesses?: () => Promise<number[]>;
  log: Logger;
}

/** The etcd processes on this node: every /proc/PID whose command name is "etcd" (a unit's or a static pod's). */
export async function etcdProcessesFromProc(proc = "/proc"): Promise<number[]> {
  const pids = (await readdir(proc)).filter((d) => /^\d+$/.test(d));
  const found = await Promise.all(
    pids.map(async (pid) =>
      (await readFile(join(proc, pid, "comm"), "utf8").catch(() => "")).trim() === "etcd" ? Number(pid) : 0,
    ),
  );
  return found.filter((p) => p > 0);
}

/** "name=url,name=url" of a member list, each peer URL its own entry (as etcd's --initial-cluster reads it). */
export function initialClusterOf(members: ReadonlyArray<{ name: string; peerUrls: readonly string[] }>): string {
  return members.flatMap((m) => m.peerUrls.map((u) => `${m.name}=${u}`)).join(",");
}

/**
 * The decimal id of the member `etcdctl member add -w json` added. (Its plain output, "Member %16x added", pads an id
 * with fewer than 16 hex digits with spaces: one id in 16.) Empty when the answer has none.
 */
export function addedMemberId(stdout: string): string {
  try {
    const id = (parseEtcdJson(stdout) as { member?: { ID?: unknown } }).member?.ID;
    return typeof id === "string" || typeof id === "number" ? String(id) : "";
  } catch {
    return "";
  }
}

/** The entries of an initial cluster string, name -> peer URLs. */
export function parseInitialCluster(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const entry of text.split(",").map((e) => e.trim())) {
    const eq = entry.indexOf("=");
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    out.set(name, [...(out.get(name) ?? []), entry.slice(eq + 1)]);
  }
  return out;
}

/** How long a refused `member add` is asked again: three of etcd's 5 s health intervals. */
const ADD_MEMBER_RETRY_MS = 15_000;

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/** A stamp for names of things kept aside: sortable, unique per operation. */
function stamp(opId: string): string {
  const t = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${t}-${createHash("sha256").update(opId).digest("hex").slice(0, 8)}`;
}

/** What `snapshot status -w json` says of a snapshot file. */
interface SnapshotStatus {
  hash: string;
  revision: number;
  totalKeys: number;
}

/** etcd's offline tool: etcdutl (3.5+), or etcdctl on etcd 3.4, which has no etcdutl. */
interface Tool {
  name: "etcdutl" | "etcdctl";
  bin: string;
  version: string;
}

/** Staging, restore and rejoin of the local etcd member. */
export class EtcdRestorer {
  readonly #d: RestoreDeps;
  #tool: Promise<Tool> | undefined;

  constructor(deps: RestoreDeps) {
    this.#d = deps;
  }

  get #stagingDir(): string {
    return join(this.#d.stateDir, "restore");
  }

  /** The staged snapshot of a sha256. */
  stagedPath(sha256: string): string {
    return join(this.#stagingDir, `${sha256}.db`);
  }

  /**
   * Receives a snapshot into the staging directory (only the newest is kept), checks its size and sha256 against the
   * header, and reads it with etcd's tool. A snapshot already staged under the same sha256 is not written again (the
   * data is read and dropped): staging is idempotent by content.
   */
  async stage(
    header: { operationId?: string; sha256?: string; sizeBytes?: number },
    data: AsyncIterable<Buffer>,
    signal?: AbortSignal,
  ): Promise<StagedSnapshot__Output> {
    const operationId = validateOperationId(header.operationId);
    const sha256 = (header.sha256 ?? "").toLowerCase();
    const size = header.sizeBytes ?? 0;
    if (!SHA256.test(sha256)) {
      throw new KubecycleError("INVALID_REQUEST", "sha256: expected 64 hex digits", { field: "sha256" });
    }
    if (size <= 0 || size > MAX_SNAPSHOT_BYTES) {
      throw new KubecycleError("INVALID_REQUEST", `size_bytes: expected 1..${MAX_SNAPSHOT_BYTES}, got ${size}`, {
        field: "size_bytes",
      });
    }
    await mkdir(this.#stagingDir, { recursive: true, mode: 0o700 });
    const final = this.stagedPath(sha256);
    const already = await stat(final).then(
      (s) => s.size === size,
      () => false,
    );
    if (already) {
      for await (const _ of data) void _;
    } else {
      const fs = await statfs(this.#stagingDir);
      if (fs.bavail * fs.bsize < size + STAGING_HEADROOM_BYTES) {
        throw new KubecycleError(
          "RESOURCE_EXHAUSTED",
          `not enough room in ${this.#stagingDir} for a ${size}-byte snapshot (${fs.bavail * fs.bsize} bytes free)`,
          { hint: "free disk space on the node, or restore from a smaller snapshot" },
        );
      }
      // Only the snapshot being staged is kept: an older one is of no further use and may be gigabytes.
      for (const f of await readdir(this.#stagingDir)) {
        if (!f.startsWith(sha256)) await rm(join(this.#stagingDir, f), { force: true });
      }
      await this.#receive(data, final, sha256, size, signal);
    }
    const st = await this.#status(final, signal);
    const tool = await this.tool(signal);
    return {
      operationId,
      sha256,
      sizeBytes: size,
      revision: st.revision,
      totalKeys: st.totalKeys,
      hash: st.hash,
      tool: `${tool.name} (${tool.version})`,
      replayed: already,
    };
  }

  async #receive(data: AsyncIterable<Buffer>, final: string, sha256: string, size: number, signal?: AbortSignal) {
    const part = `${final}.${randomBytes(4).toString("hex")}.part`;
    const hash = createHash("sha256");
    let got = 0;
    const fh = await open(part, "w", 0o600);
    try {
      for await (const chunk of data) {
        if (signal?.aborted) throw new KubecycleError("CANCELLED", "snapshot upload cancelled");
        got += chunk.length;
        if (got > size) throw new KubecycleError("SNAPSHOT_CORRUPT", `more than the ${size} bytes announced`);
        hash.update(chunk);
        await fh.write(chunk);
      }
      await fh.sync();
    } catch (err) {
      await fh.close();
      await rm(part, { force: true });
      throw err;
    }
    await fh.close();
    const digest = hash.digest("hex");
    if (digest !== sha256 || got !== size) {
      await rm(part, { force: true });
      throw new KubecycleError(
        "SNAPSHOT_CORRUPT",
        `the snapshot arrived as ${got} bytes with sha256 ${digest}; ${size} bytes with sha256 ${sha256} were announced`,
        { hint: "check the snapshot file and its .sha256; nothing was kept" },
      );
    }
    await rename(part, final);
  }

  /** etcdutl when the node has it, else etcdctl (etcd 3.4), with its version line. */
  tool(signal?: AbortSignal): Promise<Tool> {
    this.#tool ??= this.#findTool(signal).catch((err: unknown) => {
      this.#tool = undefined;
      throw err;
    });
    return this.#tool;
  }

  async #findTool(signal?: AbortSignal): Promise<Tool> {
    const first = (r: RunResult) => (r.stdout.split("\n")[0] ?? "").trim();
    try {
      const r = await runCommand(this.#d.etcdutl, ["version"], { timeoutMs: 10_000, ...(signal ? { signal } : {}) });
      if (r.code === 0) return { name: "etcdutl", bin: this.#d.etcdutl, version: first(r) };
    } catch (err) {
      if (!notFound(err)) throw err;
    }
    const r = await runCommand(this.#d.etcdctl, ["version"], {
      timeoutMs: 10_000,
      env: { ETCDCTL_API: "3" },
      ...(signal ? { signal } : {}),
    });
    if (r.code !== 0) throw new KubecycleError("SYSTEMD_FAILED", `etcdctl version failed: ${failureText(r)}`);
    return { name: "etcdctl", bin: this.#d.etcdctl, version: first(r) };
  }

  async #offline(args: string[], signal?: AbortSignal): Promise<RunResult> {
    const tool = await this.tool(signal);
    return runCommand(tool.bin, args, {
      timeoutMs: this.#d.restoreTimeoutMs,
      env: { ETCDCTL_API: "3" },
      ...(signal ? { signal } : {}),
    });
  }

  async #status(path: string, signal?: AbortSignal): Promise<SnapshotStatus> {
    const r = await this.#offline(["snapshot", "status", path, "-w", "json"], signal);
    if (r.code !== 0) {
      throw new KubecycleError("SNAPSHOT_CORRUPT", `snapshot status cannot read the snapshot: ${failureText(r)}`, {
        hint: "the file is not an etcd snapshot, or it is damaged; take or pick another one",
      });
    }
    const j = parseEtcdJson(r.stdout) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v) : "");
    return { hash: str(j.hash), revision: Number(j.revision ?? 0), totalKeys: Number(j.totalKey ?? 0) };
  }

  /** etcd must not run on the node: a restore or rejoin under a running member would be overwritten or fight it. */
  async #mustNotRun(cfg: EtcdConfig, signal?: AbortSignal): Promise<void> {
    if (cfg.mode === "systemd" && cfg.unit) {
      const [s] = await this.#d.manager.states([cfg.unit], signal);
      if (s && ["active", "activating", "deactivating", "reloading"].includes(s.activeState)) {
        throw new KubecycleError("ETCD_RUNNING", `${cfg.unit} is ${s.activeState}; stop it first`, {
          unit: cfg.unit,
          hint: "kubecycle stops etcd before it restores; run the restore through kubecycle",
        });
      }
    }
    const pids = await (this.#d.etcdProcesses ?? etcdProcessesFromProc)();
    if (pids.length > 0) {
      throw new KubecycleError(
        "ETCD_RUNNING",
        `an etcd process runs on this node (pid ${pids.join(", ")}); stop it first`,
        {
          hint: "a static-pod etcd outlives its kubelet: stop its pod sandbox too",
        },
      );
    }
  }

  async #configured(signal?: AbortSignal): Promise<EtcdConfig> {
    const cfg = await this.#d.config(signal);
    if (cfg.mode === "none") {
      throw new KubecycleError(
        "INVALID_REQUEST",
        "this node has no etcd configured (no unit with an environment file, no static pod)",
        {
          hint: "ask an etcd member's agent",
        },
      );
    }
    if (!cfg.name || !cfg.dataDir || cfg.peerUrls.length === 0) {
      throw new KubecycleError(
        "INVALID_REQUEST",
        `etcd's configuration in ${cfg.configFile} lacks ${[!cfg.name && "its name", !cfg.dataDir && "its data dir", cfg.peerUrls.length === 0 && "its peer URLs"].filter(Boolean).join(", ")}`,
      );
    }
    return cfg;
  }

  /**
   * Restores the local member from a staged snapshot: into a fresh directory inside the data directory (the same
   * file system, so the moves are renames, also when the data directory is a mount point), then the old `member`
   * moved aside into `kubecycle-before-restore-<time>` and the restored one into place, owned as the data directory
   * is. etcd ignores (and logs) the kept directory beside `member`.
   */
  async restore(
    opId: string,
    req: { snapshotSha256?: string; members?: readonly EtcdMember__Output[]; clusterToken?: string },
    signal?: AbortSignal,
  ): Promise<EtcdRestoreResult__Output> {
    const sha256 = (req.snapshotSha256 ?? "").toLowerCase();
    if (!SHA256.test(sha256)) {
      throw new KubecycleError("INVALID_REQUEST", "snapshot_sha256: expected 64 hex digits", {
        field: "snapshot_sha256",
      });
    }
    const token = req.clusterToken ?? "";
    if (!TOKEN.test(token)) {
      throw new KubecycleError("INVALID_REQUEST", "cluster_token: expected 1-128 of A-Z a-z 0-9 . _ -", {
        field: "cluster_token",
      });
    }
    const members = validMembers(req.members ?? []);
    const cfg = await this.#configured(signal);
    const self = members.find((m) => m.name === cfg.name);
    if (!self) {
      throw new KubecycleError(
        "INVALID_REQUEST",
        `members: this node's etcd is member ${cfg.name}, which is not among ${members.map((m) => m.name).join(", ")}`,
        { field: "members" },
      );
    }
    if (!sameSet(self.peerUrls, cfg.peerUrls)) {
      throw new KubecycleError(
        "INVALID_REQUEST",
        `members: ${cfg.name} is given peer URLs ${self.peerUrls.join(", ")}, but ${cfg.configFile} advertises ${cfg.peerUrls.join(", ")}`,
        { field: "members", hint: "the node's address changed since the member list was recorded" },
      );
    }
    await this.#mustNotRun(cfg, signal);
    const staged = this.stagedPath(sha256);
    if (!(await exists(staged))) {
      throw new KubecycleError("SNAPSHOT_NOT_STAGED", `no snapshot with sha256 ${sha256} is staged on this node`, {
        hint: "stage it first (StageSnapshot)",
      });
    }
    const st = await this.#status(staged, signal);
    const tool = await this.tool(signal);
    const tag = stamp(opId);
    await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
    const fresh = join(cfg.dataDir, `kubecycle-restore-${tag}`);
    await rm(fresh, { recursive: true, force: true });
    const r = await this.#offline(
      [
        "snapshot",
        "restore",
        staged,
        `--name=${cfg.name}`,
        `--initial-cluster=${initialClusterOf(members)}`,
        `--initial-cluster-token=${token}`,
        `--initial-advertise-peer-urls=${cfg.peerUrls.join(",")}`,
        `--data-dir=${fresh}`,
      ],
      signal,
    );
    if (r.code !== 0) {
      await rm(fresh, { recursive: true, force: true });
      throw new KubecycleError("SYSTEMD_FAILED", `${tool.name} snapshot restore failed: ${failureText(r)}`);
    }
    const kept = await moveAside(cfg.dataDir, `kubecycle-before-restore-${tag}`);
    await rename(join(fresh, "member"), join(cfg.dataDir, "member"));
    await rmdir(fresh);
    await ownLike(join(cfg.dataDir, "member"), cfg.dataDir);
    await rm(staged, { force: true });
    this.#d.log.info({ op: opId, dataDir: cfg.dataDir, kept, revision: st.revision, tool: tool.name }, "etcd restored");
    return {
      operationId: opId,
      replayed: false,
      dataDir: cfg.dataDir,
      keptAside: kept,
      revision: st.revision,
      totalKeys: st.totalKeys,
      tool: `${tool.name} (${tool.version})`,
      memberName: cfg.name,
    };
  }

  /**
   * Through the local member: removes member `memberId` (never the local one) and adds it again with the same name
   * and peer URLs. What is removed is recorded first, so a repeat after a failure between the two finishes the add.
   */
  async replaceMember(opId: string, memberId: string, signal?: AbortSignal): Promise<EtcdReplaceMemberResult__Output> {
    if (!/^[0-9]{1,20}$/.test(memberId)) {
      throw new KubecycleError("INVALID_REQUEST", "member_id: expected a decimal etcd member id", {
        field: "member_id",
      });
    }
    const cfg = await this.#configured(signal);
    const local = localTarget(cfg);
    if (typeof local === "string") throw new KubecycleError("ETCD_UNHEALTHY", local);
    const ctl = (args: string[]) => etcdctl(this.#d.etcdctl, local, args, this.#d.etcdTimeoutMs, signal);
    const listed = await ctl(["member", "list", "-w", "json"]);
    if (listed.code !== 0) throw new KubecycleError("ETCD_UNHEALTHY", `member list: ${failureText(listed)}`);
    const list = parseMembers(listed.stdout);
    const header = (parseEtcdJson(listed.stdout) as { header?: { member_id?: unknown } }).header;
    const selfId =
      typeof header?.member_id === "string" || typeof header?.member_id === "number" ? String(header.member_id) : "";
    if (memberId === selfId || list.find((m) => m.id === memberId)?.name === cfg.name) {
      throw new KubecycleError("INVALID_REQUEST", "member_id: the local member cannot replace itself", {
        field: "member_id",
        hint: "ask the agent of another, healthy member",
      });
    }
    const recordFile = join(this.#d.stateDir, "rejoin", `replace-${memberId}.json`);
    const listedTarget = list.find((m) => m.id === memberId);
    const target = listedTarget ? await this.#remove(listedTarget, recordFile, ctl) : await readRecord(recordFile);
    if (!target) {
      throw new KubecycleError("INVALID_REQUEST", `member_id: ${memberId} is not in the member list`, {
        field: "member_id",
      });
    }
    // Added back by an earlier attempt of this replace: a member with its peer URLs is there again.
    const again = listedTarget ? undefined : list.find((m) => sameSet(m.peerUrls, target.peerUrls));
    let addedId = again?.id ?? "";
    if (!again) {
      const add = ["member", "add", target.name, `--peer-urls=${target.peerUrls.join(",")}`, "-w", "json"];
      // etcd refuses to add a voting member ("unhealthy cluster", before proposing anything) until every voting
      // member has been connected for its HealthInterval, 5 s: right after the members restarted, ask again.
      const until = Date.now() + ADD_MEMBER_RETRY_MS;
      let added = await ctl(add);
      while (added.code !== 0 && /unhealthy cluster/.test(failureText(added)) && Date.now() < until) {
        await sleep(1000, undefined, { signal });
        added = await ctl(add);
      }
      if (added.code !== 0) {
        throw new KubecycleError("ETCD_UNHEALTHY", `member add ${target.name}: ${failureText(added)}`, {
          hint: "the member was removed; run the same command again to add it back",
        });
      }
      addedId = addedMemberId(added.stdout);
    }
    const after = await ctl(["member", "list", "-w", "json"]);
    const members = after.code === 0 ? parseMembers(after.stdout) : [];
    addedId ||= members.find((m) => !m.name && sameSet(m.peerUrls, target.peerUrls))?.id ?? "";
    const named = members.map((m) =>
      m.id === addedId || (!m.name && sameSet(m.peerUrls, target.peerUrls)) ? { ...m, name: target.name } : m,
    );
    // The record stays (a few bytes): a repeat of this replace, whatever failed in between, finds what it removed.
    const added = named.find((m) => m.id === addedId) ?? {
      id: addedId,
      name: target.name,
      peerUrls: target.peerUrls,
      clientUrls: [],
      isLearner: false,
    };
    this.#d.log.info({ op: opId, removed: memberId, added: added.id, name: target.name }, "etcd member replaced");
    return {
      operationId: opId,
      replayed: false,
      removedId: memberId,
      added,
      initialCluster: initialClusterOf(named.filter((m) => m.name)),
    };
  }

  /** Records what is removed (so a repeat can add it back), then removes it; etcd refuses if quorum would go. */
  async #remove(
    m: EtcdMember__Output,
    recordFile: string,
    ctl: (args: string[]) => Promise<RunResult>,
  ): Promise<{ name: string; peerUrls: string[] }> {
    if (!m.name) {
      throw new KubecycleError("INVALID_REQUEST", `member ${m.id} has never started (no name); nothing to replace`);
    }
    const target = { name: m.name, peerUrls: m.peerUrls };
    await mkdir(dirname(recordFile), { recursive: true, mode: 0o700 });
    await writeFile(recordFile, JSON.stringify(target));
    const removed = await ctl(["member", "remove", BigInt(m.id).toString(16)]);
    if (removed.code !== 0) {
      throw new KubecycleError("ETCD_UNHEALTHY", `member remove ${m.id}: ${failureText(removed)}`, {
        hint: "etcd refuses to remove a member when the rest would lose quorum",
      });
    }
    return target;
  }

  /**
   * PREPARE: the member's old data moved aside, and etcd told to join the existing cluster `initialCluster` at its
   * next start: a drop-in with an environment file after /etc/etcd.env (a later EnvironmentFile= wins), or the
   * static pod's --initial-cluster-state and --initial-cluster (kubeadm writes them so for members that join).
   * FINISH: the drop-in removed once the member has joined (its data says it all from then on).
   */
  async rejoin(
    opId: string,
    phase: "prepare" | "finish",
    initialCluster: string,
    signal?: AbortSignal,
  ): Promise<EtcdRejoinResult__Output> {
    const cfg = await this.#configured(signal);
    const dropInDir = join(this.#d.systemdDir ?? "/etc/systemd/system", `${cfg.unit || "etcd.service"}.d`);
    const base = { operationId: opId, replayed: false, dataDir: cfg.dataDir, keptAside: "" };
    if (phase === "finish") {
      if (cfg.mode !== "systemd") {
        return {
          ...base,
          configured: `${cfg.configFile} keeps --initial-cluster-state=existing, as kubeadm writes it`,
        };
      }
      const had = await exists(join(dropInDir, REJOIN_DROPIN));
      await rm(join(dropInDir, REJOIN_DROPIN), { force: true });
      await rm(join(dropInDir, REJOIN_ENV), { force: true });
      if (had) await this.#d.manager.daemonReload(signal);
      return { ...base, configured: had ? `removed ${join(dropInDir, REJOIN_DROPIN)}` : "nothing to remove" };
    }
    const entries = parseInitialCluster(initialCluster);
    const mine = entries.get(cfg.name) ?? [];
    if (!sameSet(mine, cfg.peerUrls)) {
      throw new KubecycleError(
        "INVALID_REQUEST",
        `initial_cluster: it must name this member ${cfg.name} with its peer URLs ${cfg.peerUrls.join(", ")}`,
        { field: "initial_cluster" },
      );
    }
    if ([...entries.values()].flat().some((u) => !/^https?:\/\/[^\s,]+$/.test(u))) {
      throw new KubecycleError("INVALID_REQUEST", "initial_cluster: expected name=http(s)://host:port entries", {
        field: "initial_cluster",
      });
    }
    await this.#mustNotRun(cfg, signal);
    const kept = await moveAside(cfg.dataDir, `kubecycle-before-rejoin-${stamp(opId)}`);
    let configured: string;
    if (cfg.mode === "systemd") {
      await mkdir(dropInDir, { recursive: true, mode: 0o755 });
      await writeFile(
        join(dropInDir, REJOIN_ENV),
        `# kubecycle etcd rejoin (operation ${opId}): join the existing cluster; removed once the member has joined\nETCD_INITIAL_CLUSTER_STATE=existing\nETCD_INITIAL_CLUSTER=${initialCluster}\n`,
        { mode: 0o644 },
      );
      await writeFile(
        join(dropInDir, REJOIN_DROPIN),
        `# kubecycle etcd rejoin (operation ${opId}): removed once the member has joined\n[Service]\nEnvironmentFile=${join(dropInDir, REJOIN_ENV)}\n`,
        { mode: 0o644 },
      );
      await this.#d.manager.daemonReload(signal);
      configured = `wrote ${join(dropInDir, REJOIN_DROPIN)}`;
    } else {
      const text = await readFile(cfg.configFile, "utf8");
      const keptManifest = join(this.#d.stateDir, "rejoin", `${basename(cfg.configFile)}.${stamp(opId)}`);
      await mkdir(dirname(keptManifest), { recursive: true, mode: 0o700 });
      await writeFile(keptManifest, text, { mode: 0o600 });
      const edited = setEtcdFlags(text, { "initial-cluster-state": "existing", "initial-cluster": initialCluster });
      // A dotfile in the same directory: the kubelet skips hidden files, and the rename is atomic.
      const tmp = join(dirname(cfg.configFile), `.${basename(cfg.configFile)}.kubecycle.tmp`);
      await writeFile(tmp, edited, { mode: 0o600 });
      await rename(tmp, cfg.configFile);
      configured = `edited ${cfg.configFile} (the original is kept in ${keptManifest})`;
    }
    this.#d.log.info({ op: opId, dataDir: cfg.dataDir, kept, configured }, "etcd member prepared to rejoin");
    return { ...base, keptAside: kept, configured };
  }
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/** What an earlier attempt of a replace recorded it removed. */
function readRecord(file: string): Promise<{ name: string; peerUrls: string[] } | undefined> {
  return readFile(file, "utf8").then(
    (t) => JSON.parse(t) as { name: string; peerUrls: string[] },
    () => undefined,
  );
}

function notFound(err: unknown): boolean {
  return err instanceof KubecycleError && (err.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

/** Members as a restore takes them: each with a name and http(s) peer URLs, names unique. */
function validMembers(members: readonly EtcdMember__Output[]): Array<{ name: string; peerUrls: string[] }> {
  if (members.length === 0) {
    throw new KubecycleError("INVALID_REQUEST", "members: at least one member is required", { field: "members" });
  }
  const out = members.map((m) => ({ name: m.name, peerUrls: [...m.peerUrls] }));
  for (const m of out) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(m.name)) {
      throw new KubecycleError("INVALID_REQUEST", `members: ${JSON.stringify(m.name)} is not a member name`, {
        field: "members",
      });
    }
    if (m.peerUrls.length === 0 || m.peerUrls.some((u) => !/^https?:\/\/[^\s,=]+$/.test(u))) {
      throw new KubecycleError("INVALID_REQUEST", `members: ${m.name} needs http(s) peer URLs`, { field: "members" });
    }
  }
  const dup = out.find((m, i) => out.findIndex((x) => x.name === m.name) !== i);
  if (dup) throw new KubecycleError("INVALID_REQUEST", `members: ${dup.name} is listed twice`, { field: "members" });
  return out;
}

/** Moves `<dataDir>/member` into `<dataDir>/<name>/member`; returns where, or "" when there was none. */
async function moveAside(dataDir: string, name: string): Promise<string> {
  const member = join(dataDir, "member");
  if (!(await exists(member))) return "";
  const aside = join(dataDir, name);
  await mkdir(aside, { recursive: true, mode: 0o700 });
  await rename(member, join(aside, "member"));
  return aside;
}

/** Gives everything under `path` the owner of `like` (etcd may run as its own user; the agent writes as root). */
async function ownLike(path: string, like: string): Promise<void> {
  const { uid, gid } = await stat(like);
  if (uid === 0 && gid === 0) return;
  const walk = async (p: string): Promise<void> => {
    await lchown(p, uid, gid);
    const s = await stat(p);
    if (s.isDirectory()) for (const e of await readdir(p)) await walk(join(p, e));
  };
  await walk(path);
}

/**
 * A static pod manifest with the etcd container's `--flag=value`s set: replaced where they are (in command or args),
 * appended to the command otherwise. The rest of the document is left as it was written.
 */
export function setEtcdFlags(text: string, flags: Readonly<Record<string, string>>): string {
  const doc: Document = parseDocument(text);
  const containers = doc.getIn(["spec", "containers"]);
  if (!isSeq(containers)) throw new KubecycleError("INVALID_REQUEST", "the etcd manifest has no spec.containers");
  const items: YAMLMap[] = containers.items.filter((x) => isMap(x));
  const container = items.find((c) => c.get("name") === "etcd") ?? items[0];
  if (!container) throw new KubecycleError("INVALID_REQUEST", "the etcd manifest has no container");
  const lists: YAMLSeq[] = [];
  for (const k of ["command", "args"]) {
    const v: unknown = container.get(k, true);
    if (isSeq(v)) lists.push(v);
  }
  for (const [flag, value] of Object.entries(flags)) {
    const item = `--${flag}=${value}`;
    let done = false;
    for (const list of lists) {
      list.items = list.items.map((x: unknown) => {
        const s = String((x as { value?: unknown }).value ?? x);
        if (s === `--${flag}` || s.startsWith(`--${flag}=`)) {
          done = true;
          return doc.createNode(item);
        }
        return x;
      });
    }
    if (!done) {
      const target = lists[0];
      if (!target) throw new KubecycleError("INVALID_REQUEST", "the etcd container has no command or args");
      target.items.push(doc.createNode(item));
    }
  }
  // Keep the file's own style of sequences under a key (kubeadm writes "- command:" level with "containers:").
  const indentSeq = !/^(\s*)[^\s-][^\n]*:\n\1- /m.test(text);
  return doc.toString({ indentSeq });
}
