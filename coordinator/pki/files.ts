import { constants } from "node:fs";
import { access, chmod, mkdir, mkdtemp, open, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { KubecycleError } from "../../shared/index.js";

/** Mode of private keys and of the directories that hold them. */
export const KEY_MODE = 0o600;
export const DIR_MODE = 0o700;
/** Mode of certificates: public by nature. */
export const CERT_MODE = 0o644;

/** A finished file waiting in the temp dir, and where it goes. */
export interface Staged {
  from: string;
  to: string;
  mode: number;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Throws ALREADY_EXISTS for the first target that exists, unless `force`. */
export async function refuseOverwrite(targets: readonly string[], force: boolean): Promise<void> {
  if (force) return;
  for (const path of targets) {
    if (await exists(path)) {
      throw new KubecycleError("ALREADY_EXISTS", `${path} already exists`, {
        path,
        hint: "pass --force to replace it",
      });
    }
  }
}

/** Creates an empty file with mode 0600 so openssl writes the key into a file nobody else could ever read. */
export async function createPrivateFile(path: string): Promise<void> {
  await writeFile(path, "", { mode: KEY_MODE, flag: "wx" });
}

/**
 * Runs `work` in a fresh 0700 temp dir next to `parent` (same file system, so rename is atomic), then moves the staged
 * files into place: chmod, fsync, rename, fsync the directory. The temp dir is removed whatever happens, so a failure
 * or crash never leaves a half-written file under its real name.
 */
export async function withStagingDir(parent: string, work: (tmp: string) => Promise<Staged[]>): Promise<void> {
  await mkdir(parent, { recursive: true, mode: DIR_MODE });
  const tmp = await mkdtemp(join(parent, ".kubecycle-tmp-"));
  try {
    const staged = await work(tmp);
    for (const file of staged) {
      await chmod(file.from, file.mode);
      await fsync(file.from);
    }
    // Certificates go last: a certificate under its real name means its key is there too.
    for (const file of staged) await rename(file.from, file.to);
    for (const dir of new Set(staged.map((f) => dirname(f.to)))) await fsync(dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function fsync(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
