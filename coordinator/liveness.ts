// Who this kubecycle process is, as a cluster lock and an operation's journal record it, and whether the process
// behind such a record is still there: only on its own host can that be known.
import { readFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";

/** A process as records name it: its host, its pid, and when it started (which a reused pid does not share). */
export interface ProcessRef {
  host?: string | undefined;
  pid?: number | undefined;
  /** Its start time in clock ticks since its host booted (/proc/PID/stat field 22). */
  started?: number | undefined;
}

/** The start time of a process on this host (/proc/PID/stat's field 22), or undefined when there is no such process. */
function startTime(pid: number | "self"): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const value = Number(fields[19]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** This process: the user who runs it, its host, its pid and its start time. */
export function thisProcess(): { user: string; host: string; pid: number; started: number } {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // A uid without a passwd entry (a container): the uid says who.
    user = String(process.getuid?.() ?? "");
  }
  return { user, host: hostname(), pid: process.pid, started: startTime("self") ?? 0 };
}

/**
 * "alive": this process, or the process the record names, on this host (same pid and, when the record has it, the
 * same start time; a record without one only counts a process whose command line names kubecycle); "gone": on this
 * host, and no such process (it exited, was killed, or the machine rebooted; a pid reused by another program does not
 * count); "unknown": another host's.
 */
export function kubecycleProcess(p: ProcessRef): "alive" | "gone" | "unknown" {
  if (p.host !== hostname()) return "unknown";
  const { pid } = p;
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return "gone";
  if (pid === process.pid) return "alive";
  if (p.started !== undefined && p.started > 0) {
    const now = startTime(pid);
    if (now !== undefined) return now === p.started ? "alive" : "gone";
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("kubecycle") ? "alive" : "gone";
  } catch (err) {
    // Hidden by the proc mount (hidepid): it exists, and it may well be ours.
    return (err as NodeJS.ErrnoException).code === "EACCES" ? "alive" : "gone";
  }
}
