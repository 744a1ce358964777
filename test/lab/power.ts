// Power for lab nodes: a power cut (every process of the node dies at once, its disks stay) and a boot with the same
// persistent state and a fresh /run and /tmp, as a real machine has after a power cycle.
import type { EtcdLayout } from "./etcd.js";
import { pidNamespaceAlive, waitFor } from "./host.js";
import { netnsPids } from "./net.js";
import type { LabNode } from "./nodes.js";
import { bootSystemdNode, cleanupStaleNodes, type Bind } from "./systemd-node.js";

const POWEROFF_TIMEOUT_MS = 10_000;

/** Ends the node's systemd at once, as a power cut does: every process dies, persistent state stays. */
export async function powerOff(n: LabNode): Promise<void> {
  const p = await n.pid1();
  // SIGKILL to everything in the node's cgroups, PID 1 first among them; then its cgroups go.
  await cleanupStaleNodes(n.name);
  if (p) {
    await waitFor(`${n.name}'s processes to die`, async () => ((await pidNamespaceAlive(p.pidNs)) ? undefined : true), {
      timeoutMs: POWEROFF_TIMEOUT_MS,
    });
  }
  // What entered the node from the host (nsenter) dies with it; the network stays, as the cable does.
  await waitFor(
    `${n.name}'s network namespace to be empty`,
    async () => ((await netnsPids(n.netns)).length === 0 ? true : undefined),
    { timeoutMs: POWEROFF_TIMEOUT_MS },
  );
}

/**
 * Waits until a node that is powering itself off (`systemctl poweroff` inside it, kubecycle's PowerOff) is gone, then
 * clears what a power cut clears (its emptied cgroups), so that it can be booted again.
 */
export async function waitPoweredOff(n: LabNode, timeoutMs: number): Promise<void> {
  await waitFor(`${n.name} to power itself off`, async () => ((await n.isRunning()) ? undefined : true), {
    timeoutMs,
    intervalMs: 100,
  });
  await powerOff(n);
}

/** Boots a powered-off node with its persistent state; resolves with its boot time once its boot target is active. */
export async function powerOn(n: LabNode, binds: Bind[], bootTimeoutMs: number): Promise<number> {
  if (await n.isRunning()) throw new Error(`node ${n.name} is already running`);
  const booted = await bootSystemdNode({
    name: n.name,
    hostname: n.plan.hostname,
    stateDir: n.stateDir,
    netns: n.netns,
    binds,
    bootTimeoutMs,
  });
  return booted.bootMs;
}

/**
 * Refuses up front a boot that cannot finish: where etcd is a Type=notify unit started at boot, a member's boot
 * waits for quorum, so booting members without enough others running would only time out.
 */
export async function checkQuorumForBoot(
  layout: EtcdLayout,
  masters: readonly LabNode[],
  booting: readonly LabNode[],
): Promise<void> {
  if (!layout.bootWaitsForQuorum) return;
  const bootingMembers: LabNode[] = [];
  for (const n of booting) if (n.role === "master" && (await layout.enabledAtBoot(n))) bootingMembers.push(n);
  if (bootingMembers.length === 0) return;
  let up = bootingMembers.length;
  for (const m of masters) {
    if (booting.includes(m) || !(await m.isRunning())) continue;
    const s = await layout.etcdState(m);
    if (s === "active" || s === "activating") up++;
  }
  const quorum = Math.floor(masters.length / 2) + 1;
  if (up < quorum) {
    throw new Error(
      `booting ${bootingMembers.map((n) => n.name).join(", ")} cannot finish: etcd (Type=notify) waits for quorum ` +
        `(${quorum} of ${masters.length} members) and only ${up} would run; boot the masters together`,
    );
  }
}
