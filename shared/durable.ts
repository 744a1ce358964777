import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Writes a file whole or not at all: to a temporary file beside it, fsynced, renamed over the target, and the
 * directory fsynced, so a crash never leaves a half-written file that looks whole (the coordinator's journal plans,
 * inventory, cluster record and local lock; the agent's operation records and fence).
 */
export async function writeFileDurably(path: string, text: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w", mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
