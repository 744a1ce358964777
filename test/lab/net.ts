// The lab's network: one bridge on the host holding the lab's first address, and per node a network namespace
// joined to it by a veth pair. Teardown works from what `ip` shows (names with the lab prefix), not from lab state.
import { readdir } from "node:fs/promises";
import { exists, killQuietly, mustRun, run, waitFor } from "./host.js";
import { BRIDGE, BRIDGE_ADDRESS, LAB_NET, LAB_PREFIX, type NodePlan } from "./layout.js";

const NETNS_DIR = "/var/run/netns";
const TEARDOWN_TIMEOUT_MS = 10_000;

/** Refuses to start when something outside the lab already uses the lab's subnet. */
export async function checkSubnetFree(): Promise<void> {
  const out = await mustRun("ip", ["-o", "-4", "addr", "show"]);
  for (const line of out.split("\n")) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\S+)/.exec(line);
    if (m?.[2]?.startsWith(`${LAB_NET}.`) && !m[1]?.startsWith(LAB_PREFIX)) {
      throw new Error(`${m[1]} already has ${m[2]}, in the lab's subnet ${LAB_NET}.0/24; the lab will not share it`);
    }
  }
}

/** The bridge, then every node's namespace and veth. */
export async function setUpNetwork(plan: readonly NodePlan[]): Promise<void> {
  await createBridge();
  // Namespaces one at a time: the first `ip netns add` bind-mounts /run/netns, and concurrent ones would stack binds.
  for (const n of plan) await mustRun("ip", ["netns", "add", n.netns]);
  await Promise.all(plan.map((n) => createNodeNetwork(n)));
}

/** Whether the bridge and every node's namespace and host-side veth are there. */
export async function networkPresent(plan: readonly NodePlan[]): Promise<boolean> {
  const links = (await run("ip", ["-o", "link", "show"])).stdout;
  if (!links.includes(` ${BRIDGE}:`)) return false;
  for (const n of plan) {
    if (!(await exists(`${NETNS_DIR}/${n.netns}`))) return false;
    if (!links.includes(` ${n.hostVeth}@`)) return false;
  }
  return true;
}

/** Creates the lab bridge with the host's lab address (idempotent). */
export async function createBridge(): Promise<void> {
  if (!(await linkExists(BRIDGE))) {
    // forward_delay 0: ports forward at once (no STP on a lab bridge).
    await mustRun("ip", ["link", "add", BRIDGE, "type", "bridge", "forward_delay", "0"]);
  }
  const addrs = await mustRun("ip", ["-o", "-4", "addr", "show", "dev", BRIDGE]);
  if (!addrs.includes(` ${BRIDGE_ADDRESS}/24 `)) {
    await mustRun("ip", ["addr", "add", `${BRIDGE_ADDRESS}/24`, "dev", BRIDGE]);
  }
  await mustRun("ip", ["link", "set", BRIDGE, "up"]);
}

/** The node's network namespace, its veth pair into the bridge, and its address; no default route (lab only). */
export async function createNodeNetwork(node: NodePlan): Promise<void> {
  if (!(await exists(`${NETNS_DIR}/${node.netns}`))) await mustRun("ip", ["netns", "add", node.netns]);
  // The peer is created directly inside the namespace. A pair of the same name still being destroyed (namespace
  // teardown is asynchronous) answers "File exists" for a moment.
  await waitFor(
    `veth ${node.hostVeth} to be created`,
    async () => {
      if (await linkExists(node.hostVeth)) return true;
      const r = await run("ip", [
        "link",
        "add",
        node.hostVeth,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        node.netns,
      ]);
      if (r.code === 0) return true;
      if (!r.stderr.includes("File exists")) throw new Error(`ip link add ${node.hostVeth}: ${r.stderr.trim()}`);
      return undefined;
    },
    { timeoutMs: TEARDOWN_TIMEOUT_MS },
  );
  await mustRun("ip", ["link", "set", node.hostVeth, "master", BRIDGE, "up"]);
  const inNs = (...args: string[]) => mustRun("nsenter", [`--net=${NETNS_DIR}/${node.netns}`, "ip", ...args]);
  await inNs("link", "set", "lo", "up");
  const addrs = await inNs("-o", "-4", "addr", "show", "dev", "eth0");
  if (!addrs.includes(` ${node.ip}/24 `)) await inNs("addr", "add", `${node.ip}/24`, "dev", "eth0");
  await inNs("link", "set", "eth0", "up");
}

/**
 * Removes a node's network, in the order found by trying: kill every process in the namespace and wait until none
 * is left, delete the namespace, delete the host-side veth explicitly (the namespace may outlive its name for a
 * while, and the pair with it), and wait until it is gone.
 */
export async function destroyNodeNetwork(netns: string, hostVeth: string | undefined): Promise<void> {
  if (await exists(`${NETNS_DIR}/${netns}`)) {
    await waitFor(
      `the processes of network namespace ${netns} to exit`,
      async () => {
        const pids = await netnsPids(netns);
        for (const p of pids) killQuietly(p);
        return pids.length === 0 ? true : undefined;
      },
      { timeoutMs: TEARDOWN_TIMEOUT_MS },
    );
    const r = await run("ip", ["netns", "del", netns]);
    if (r.code !== 0 && (await exists(`${NETNS_DIR}/${netns}`))) {
      throw new Error(`ip netns del ${netns}: ${r.stderr.trim()}`);
    }
  }
  if (hostVeth !== undefined) await deleteLink(hostVeth);
}

/** Removes every lab network namespace, veth and the bridge that is on the machine. */
export async function destroyAllNetworks(): Promise<void> {
  const namespaces = await labNetns();
  await Promise.all(namespaces.map((ns) => destroyNodeNetwork(ns, undefined)));
  const links = await labLinks();
  await Promise.all(links.filter((l) => l !== BRIDGE).map(deleteLink));
  if (links.includes(BRIDGE)) await deleteLink(BRIDGE);
}

/** Network namespaces in /var/run/netns named with the lab prefix. */
export async function labNetns(): Promise<string[]> {
  const names = await readdir(NETNS_DIR).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(LAB_PREFIX)).sort();
}

/** Host links (the bridge and the host-side veths) named with the lab prefix. */
export async function labLinks(): Promise<string[]> {
  const out = await mustRun("ip", ["-o", "link", "show"]);
  const names: string[] = [];
  for (const line of out.split("\n")) {
    // "12: kclab-h-m1@if2: <...>"
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    if (name?.startsWith(LAB_PREFIX)) names.push(name);
  }
  return names.sort();
}

export async function netnsPids(netns: string): Promise<number[]> {
  const r = await run("ip", ["netns", "pids", netns]);
  if (r.code !== 0) return [];
  return r.stdout
    .split("\n")
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
}

async function linkExists(name: string): Promise<boolean> {
  return (await run("ip", ["link", "show", "dev", name])).code === 0;
}

async function deleteLink(name: string): Promise<void> {
  await waitFor(
    `link ${name} to be deleted`,
    async () => {
      if (!(await linkExists(name))) return true;
      const r = await run("ip", ["link", "del", name]);
      // "Cannot find device": it went away with its namespace in the meantime.
      if (r.code !== 0 && !/Cannot find device|does not exist/.test(r.stderr)) {
        throw new Error(`ip link del ${name}: ${r.stderr.trim()}`);
      }
      return (await linkExists(name)) ? undefined : true;
    },
    { timeoutMs: TEARDOWN_TIMEOUT_MS },
  );
}
