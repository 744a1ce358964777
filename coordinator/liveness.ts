// Whether the kubecycle process behind a cluster lock or an operation's journal is still there. Both record their
// host and pid; only on that host can the answer be known.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/**
 * "alive": this process, or a kubecycle process with that pid on this host; "gone": on this host, and no kubecycle
 * process has that pid (it exited, was killed, or the machine rebooted; a pid reused by another program does not
 * count); "unknown": another host's.
 */
export function kubecycleProcess(host: string | undefined, pid: number | undefined): "alive" | "gone" | "unknown" {
  if (host !== hostname()) return "unknown";
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return "gone";
  if (pid === process.pid) return "alive";
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("kubecycle") ? "alive" : "gone";
  } catch (err) {
    // Hidden by the proc mount (hidepid): it exists, and it may well be ours.
    return (err as NodeJS.ErrnoException).code === "EACCES" ? "alive" : "gone";
  }
}
