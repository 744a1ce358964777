import { createHash } from "node:crypto";
import { mkdir, open, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KubecycleError, type SnapshotSummary__Output } from "../shared/index.js";
import type { AgentPool } from "./agents/index.js";
import type { ProbeTimeouts } from "./config.js";
import type { InventoryNode } from "./plan/index.js";

/** A snapshot safely on disk. */
export interface SnapshotFile {
  path: string;
  sha256: string;
  sizeBytes: number;
  revision: number;
  totalKeys: number;
  member: string;
  /** Older snapshots removed to keep the newest N. */
  pruned: string[];
}

/**
 * Takes an etcd snapshot through one healthy member's agent, streamed to `<dir>/<cluster>-etcd-<time>.db`: written
 * to `.part`, fsynced, its sha256 checked against the agent's, then renamed into place with a `.sha256` file beside
 * it, so a snapshot that looks whole is whole. The newest `keep` snapshots are kept.
 */
export async function takeSnapshot(opts: {
  agents: AgentPool;
  members: InventoryNode[];
  dir: string;
  cluster: string;
  keep: number;
  signal?: AbortSignal;
  progress?: (message: string) => void;
  /** Taking and streaming the snapshot. */
  timeoutMs: number;
  /** Asking a member whether it is healthy first. */
  probe: ProbeTimeouts;
}): Promise<SnapshotFile> {
  if (opts.members.length === 0) {
    throw new KubecycleError("ETCD_UNHEALTHY", "no etcd member in the inventory to take a snapshot from", {
      hint: "check `kubecycle status`: the etcd members' agents must be reachable",
    });
  }
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const failures: string[] = [];
  // Prefer a healthy member; try the others if one fails.
  for (const member of opts.members) {
    const agent = opts.agents.get(member.name, member.address);
    try {
      const st = await agent.etcdStatus(
        { timeoutMs: opts.probe.etcdMs },
        { deadlineMs: opts.probe.callMs, ...(opts.signal ? { signal: opts.signal } : {}) },
      );
      if (!st.isMember || !st.healthy) {
        failures.push(`${member.name}: ${st.healthError || "not healthy"}`);
        continue;
      }
      opts.progress?.(`streaming a snapshot from ${member.name}`);
      return await streamTo(
        opts,
        member.name,
        agent.etcdSnapshot(
          { timeoutMs: opts.timeoutMs },
          { deadlineMs: opts.timeoutMs + 10_000, ...(opts.signal ? { signal: opts.signal } : {}) },
        ),
      );
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      failures.push(`${member.name}: ${(err as Error).message}`);
    }
  }
  throw new KubecycleError("ETCD_UNHEALTHY", `no etcd member could take a snapshot: ${failures.join("; ")}`, {
    hint: "check etcd's health with `kubecycle status`",
  });
}

async function streamTo(
  opts: { dir: string; cluster: string; keep: number },
  member: string,
  stream: AsyncGenerator<Buffer, SnapshotSummary__Output, undefined>,
): Promise<SnapshotFile> {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const final = join(opts.dir, `${opts.cluster}-etcd-${stamp}.db`);
  const part = `${final}.part`;
  const hash = createHash("sha256");
  let size = 0;
  const fh = await open(part, "w", 0o600);
  let summary: SnapshotSummary__Output;
  try {
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        summary = next.value;
        break;
      }
      hash.update(next.value);
      size += next.value.length;
      await fh.write(next.value);
    }
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(part, { force: true });
    throw err;
  }
  await fh.close();
  const sha256 = hash.digest("hex");
  if (sha256 !== summary.sha256 || size !== summary.sizeBytes) {
    await rm(part, { force: true });
    throw new KubecycleError(
      "SNAPSHOT_CORRUPT",
      `snapshot from ${member} arrived damaged: sha256 ${sha256} (${size} bytes), the agent sent ${summary.sha256} (${summary.sizeBytes} bytes)`,
      { node: member, hint: "try again; nothing was kept" },
    );
  }
  await rename(part, final);
  await writeFile(`${final}.sha256`, `${sha256}  ${final.split("/").at(-1) ?? ""}\n`, { mode: 0o600 });
  const dirFh = await open(opts.dir, "r");
  await dirFh.sync().finally(() => dirFh.close());
  const pruned = await prune(opts.dir, opts.cluster, opts.keep);
  return {
    path: final,
    sha256,
    sizeBytes: size,
    revision: summary.revision,
    totalKeys: summary.totalKeys,
    member,
    pruned,
  };
}

async function prune(dir: string, cluster: string, keep: number): Promise<string[]> {
  const snaps = (await readdir(dir)).filter((f) => f.startsWith(`${cluster}-etcd-`) && f.endsWith(".db")).sort();
  const old = snaps.slice(0, Math.max(0, snaps.length - keep));
  for (const f of old) {
    await rm(join(dir, f), { force: true });
    await rm(join(dir, `${f}.sha256`), { force: true });
  }
  return old;
}
