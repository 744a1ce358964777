// Who this kubecycle process is, as a cluster lock and an operation's journal record it, and whether the process
// behind such a record is still there: only on its own host can that be known.
import { readFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";

/** This process: the user who runs it, its host and its pid. */
export function thisProcess(): { user: string; host: string; pid: number } {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // A uid without a passwd entry (a container): the uid says who.
    user = String(process.getuid?.() ?? "");
  }
  return { user, host: hostname(), pid: process.pid };
}

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
