import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { KubecycleError, writeFileDurably } from "../shared/index.js";
import type { Inventory } from "./inventory.js";

/**
 * What `cluster stop` records for `cluster start`, which begins with the API down: the inventory (nodes, addresses,
 * roles, runtimes, etcd members), the cordons administrators had set, and each node's units' enablement before
 * --boot-hold disabled them.
 */
export interface ClusterRecord {
  version: 1;
  /** The cluster stop that recorded it. */
  op: string;
  cluster: string;
  recordedAt: string;
  bootHold: boolean;
  poweroff: boolean;
  /**
   * `--start-on-boot`: `kubecycle serve` runs `cluster start` once every recorded node has reported from a boot
   * other than the one in `bootIds`. Absent in records of older kubecycles: false.
   */
  startOnBoot?: boolean;
  inventory: Inventory;
  /** Nodes cordoned before the stop by someone else than kubecycle: they stay cordoned after the start. */
  adminCordoned: string[];
  /** Per node and unit, systemd's UnitFileState before the stop ("enabled", "disabled", "static", ...). */
  enablement: Record<string, Record<string, string>>;
  /** Per node, the boot id at the stop: after a power cycle each node reports another. */
  bootIds: Record<string, string>;
}

const FILE = "cluster-record.json";

/** Writes the record whole (temp file, fsync, rename) into the state directory and the stop's operation directory. */
export async function writeClusterRecord(stateDir: string, record: ClusterRecord): Promise<string> {
  const text = `${JSON.stringify(record, null, 2)}\n`;
  const opDir = join(stateDir, "operations", record.op);
  await mkdir(opDir, { recursive: true, mode: 0o700 });
  await writeFileDurably(join(opDir, FILE), text);
  const path = join(stateDir, FILE);
  await writeFileDurably(path, text);
  return path;
}

/** The last cluster stop's record, or undefined when there is none (for serve, which waits for one). */
export async function findClusterRecord(stateDir: string): Promise<ClusterRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, FILE), "utf8")) as ClusterRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** The last cluster stop's record, or a refusal saying that cluster start needs one. */
export async function readClusterRecord(stateDir: string, cluster: string): Promise<ClusterRecord> {
  const path = join(stateDir, FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new KubecycleError("INVALID_REQUEST", `no cluster stop is recorded in ${stateDir}`, {
      hint: "cluster start works from what `kubecycle cluster stop` recorded; run it from the host (and state directory) that stopped the cluster",
    });
  }
  const record = JSON.parse(text) as ClusterRecord;
  if (record.version !== 1 || record.cluster !== cluster) {
    throw new KubecycleError("CLUSTER_MISMATCH", `${path} records cluster ${record.cluster}, not ${cluster}`, {
      hint: "check the config's cluster name and stateDir",
    });
  }
  return record;
}
