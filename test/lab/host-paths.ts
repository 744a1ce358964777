// Paths the lab creates on the host's own file system. A bind target missing on the shared root must exist before a
// node can mount over it, which leaves an empty directory or file on the host; /run/netns is made (and bind-mounted
// on itself) by the first `ip netns add`. Each is recorded before it is created, so that teardown, even after a
// crash, removes exactly what the lab made and nothing the machine had before. The records live in one fixed place
// on the machine, not in a checkout's state directory: a lab left by another clone of the repo (a CI run, a deleted
// worktree) must be cleaned by whichever checkout runs next.
import { lstat, mkdir, readdir, readFile, readlink, rmdir, symlink, unlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { exists, isMountPoint, run, writeFileAtomic } from "./host.js";

/** One created path; removed in the reverse order of creation. */
export interface CreatedPath {
  path: string;
  /** "mount": a mount the lab caused on an existing path (umounted while nothing is left in it). */
  kind: "dir" | "file" | "mount" | "symlink";
}

export const NETNS_RUN_DIR = "/run/netns";

/** Who created host paths: the lab, or a test booting a lone agent node. Each has its own record. */
export type HostPathOwner = "lab" | "agent-test";

/** The machine-wide record of the host paths `owner` created (in /var/lib: it must outlive a reboot, as /etc does). */
export function createdPathsRecord(owner: HostPathOwner): string {
  return `/var/lib/kubecycle-${owner}.created-paths.json`;
}

/** Creates every missing target (and missing parents) as an empty dir or file, recording them first. */
export async function createBindTargets(
  recordFile: string,
  targets: ReadonlyArray<{ path: string; kind: "dir" | "file" }>,
): Promise<void> {
  const planned: CreatedPath[] = [];
  const seen = new Set<string>();
  for (const t of targets) {
    const missing: CreatedPath[] = [];
    for (let p = t.path, kind = t.kind; p !== "/"; p = dirname(p), kind = "dir") {
      if (seen.has(p) || (await lstat(p).catch(() => undefined))) break;
      missing.unshift({ path: p, kind });
    }
    for (const m of missing) seen.add(m.path);
    planned.push(...missing);
  }
  if (planned.length === 0) return;
  await appendRecord(recordFile, planned);
  for (const c of planned) {
    if (c.kind === "dir") await mkdir(c.path, { recursive: true, mode: 0o755 });
    else await writeFile(c.path, "", { flag: "a" });
  }
}

/** Creates a symlink on the host (recorded first); refuses to replace anything the machine had. */
export async function createHostSymlink(recordFile: string, path: string, target: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st) {
    if (st.isSymbolicLink() && (await readlink(path)) === target) return;
    throw new Error(`${path} already exists on this machine; the lab needs that path (it will not touch it)`);
  }
  await appendRecord(recordFile, [{ path, kind: "symlink" }]);
  await symlink(target, path);
}

/** Records that the lab is about to create /run/netns and its self-bind (iproute2 does it on first use). */
export async function recordNetnsRunDir(recordFile: string): Promise<void> {
  const planned: CreatedPath[] = [];
  if (!(await exists(NETNS_RUN_DIR))) planned.push({ path: NETNS_RUN_DIR, kind: "dir" });
  if (!(await isMountPoint(NETNS_RUN_DIR))) planned.push({ path: NETNS_RUN_DIR, kind: "mount" });
  if (planned.length > 0) await appendRecord(recordFile, planned);
}

/**
 * Removes what the record lists, newest first: a directory only if empty, a file only if empty, neither if
 * something is mounted on it; a mount only once nothing is left under it. Forgets the record when done.
 * Returns what it left in place (in use or not empty), for the caller to report.
 */
export async function removeCreatedPaths(recordFile: string): Promise<string[]> {
  const record = await readRecord(recordFile);
  const kept: string[] = [];
  for (const c of [...record].reverse()) {
    const st = await lstat(c.path).catch(() => undefined);
    if (!st) continue;
    if (c.kind === "mount") {
      // iproute2 may have stacked several self-binds when namespaces were added concurrently.
      for (let i = 0; i < 8 && (await isMountPoint(c.path)); i++) {
        if ((await readdir(c.path)).length > 0) break;
        const r = await run("umount", [c.path]);
        if (r.code !== 0) break;
      }
      if (await isMountPoint(c.path)) kept.push(c.path);
      continue;
    }
    if (c.kind === "symlink") {
      if (st.isSymbolicLink()) await unlink(c.path);
      continue;
    }
    if (await isMountPoint(c.path)) {
      kept.push(c.path);
    } else if (c.kind === "dir" && st.isDirectory()) {
      if ((await readdir(c.path)).length === 0) await rmdir(c.path);
      else kept.push(c.path);
    } else if (c.kind === "file" && st.isFile()) {
      if (st.size === 0) await unlink(c.path);
      else kept.push(c.path);
    }
  }
  await unlink(recordFile).catch(() => undefined);
  return kept;
}

async function readRecord(recordFile: string): Promise<CreatedPath[]> {
  const text = await readFile(recordFile, "utf8").catch(() => undefined);
  return text === undefined ? [] : (JSON.parse(text) as CreatedPath[]);
}

async function appendRecord(recordFile: string, entries: CreatedPath[]): Promise<void> {
  const record = [...(await readRecord(recordFile)), ...entries];
  await writeFileAtomic(recordFile, `${JSON.stringify(record, null, 2)}\n`);
}
