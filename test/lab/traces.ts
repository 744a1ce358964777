// What of a lab is on the machine right now, read straight from the kernel's and iproute2's views (not from the lab's
// own records): network namespaces, links, cgroups, processes and host mounts. Empty after a clean `down`.
import { readdir, stat } from "node:fs/promises";
import { cgroupDirsWithPrefix, listProcesses, mountPoints, mustRun, processInfo, type ProcessInfo } from "./host.js";
import { LAB_NET, LAB_PREFIX, labPaths } from "./layout.js";

/** Everything found, as readable strings (empty arrays: nothing left). */
export interface LabTraces {
  netns: string[];
  links: string[];
  cgroups: string[];
  processes: string[];
  mounts: string[];
}

/**
 * What of the lab is left, by name: network namespaces and links with the lab prefix, the lab's cgroup trees,
 * processes in them or naming the lab's state directory or addresses, and host mounts of the lab.
 */
export async function labTraces(o: { stateDir?: string } = {}): Promise<LabTraces> {
  const root = labPaths(o.stateDir).root;
  const netns = (await readdir("/var/run/netns").catch(() => [] as string[])).filter((n) => n.startsWith(LAB_PREFIX));
  const links = (await mustRun("ip", ["-o", "link", "show"]))
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n?.startsWith(LAB_PREFIX) === true);
  const cgroups = await cgroupDirsWithPrefix(LAB_PREFIX);
  const processes = (await listProcesses())
    .filter(
      (p) =>
        p.pid !== process.pid &&
        (p.cgroups.some((c) => c.includes(`:/${LAB_PREFIX}`)) ||
          p.cmdline.includes(`${root}/`) ||
          p.cmdline.includes(`${LAB_NET}.`)),
    )
    .map(describe);
  const mounts = (await mountPoints()).filter(
    (m) => m === root || m.startsWith(`${root}/`) || (/\/netns\//.test(m) && m.includes(`/${LAB_PREFIX}`)),
  );
  return { netns, links, cgroups, processes, mounts };
}

/** True when nothing of the lab is left. */
export function isClean(t: LabTraces): boolean {
  return Object.values(t).every((v: string[]) => v.length === 0);
}

/** A process, identified so that a reused pid is not mistaken for it. */
export interface ProcessRef {
  pid: number;
  startTime: number;
  what: string;
}

/**
 * Every process that belongs to the running lab: in its cgroups, in its network namespaces, or in its nodes' PID
 * namespaces (what entered a node through nsenter is in neither cgroup nor name). Take it before a teardown and check
 * with {@link stillAlive} after.
 */
export async function labProcesses(): Promise<ProcessRef[]> {
  const all = await listProcesses();
  const net = new Set<string>();
  for (const name of await readdir("/var/run/netns").catch(() => [] as string[])) {
    if (name.startsWith(LAB_PREFIX)) net.add(`net:[${(await stat(`/var/run/netns/${name}`)).ino}]`);
  }
  const inLabCgroup = (p: ProcessInfo) => p.cgroups.some((c) => c.includes(`:/${LAB_PREFIX}`));
  const pid = new Set(all.filter((p) => inLabCgroup(p) && p.nsPids.at(-1) === 1).map((p) => p.pidNs));
  return all
    .filter((p) => p.pid !== process.pid && (inLabCgroup(p) || net.has(p.netNs) || pid.has(p.pidNs)))
    .map((p) => ({ pid: p.pid, startTime: p.startTime, what: describe(p) }));
}

/** Those of refs that still run (same pid, same start time). */
export async function stillAlive(refs: readonly ProcessRef[]): Promise<string[]> {
  const alive: string[] = [];
  for (const r of refs) {
    const p = await processInfo(r.pid);
    if (p && p.startTime === r.startTime) alive.push(r.what);
  }
  return alive;
}

function describe(p: ProcessInfo): string {
  return `${p.pid} ${p.comm}: ${p.cmdline.slice(0, 200)}`;
}
