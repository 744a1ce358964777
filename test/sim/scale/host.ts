// The simulated world of the scale benchmark, in its own process: N simulated agents (real gRPC over mTLS on N
// loopback addresses) and the simulated API (served on a unix socket). The benchmark (bench/cluster-scale.mjs) forks
// it, and asks it over IPC for the floor of each phase a coordinator ran: how long the simulated world itself took.
//
// argv: NODES DIR    messages in: {type: "floors", phases} | {type: "reset"}    out: {type: "ready", ...} | floors
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { SimAgents } from "../agents.js";
import { SimClusterApi } from "../api.js";
import { SimCluster, type Instant } from "../model.js";
import { createSimPki } from "../pki.js";
import { serveClusterApi } from "../remote-api.js";
import { BENCH_TIMING, simClusterSpec } from "../spec.js";

/** A phase as the coordinator saw it, in wall-clock milliseconds. */
export interface PhaseWindow {
  key: string;
  name: string;
  start: number;
  end: number;
}

/** What a phase waits for in the simulated world, beyond its calls: its floor is when that became true. */
const AWAITS: Record<string, Array<Instant["what"]>> = {
  "wait-etcd": ["etcd-healthy"],
  "etcd-healthy": ["etcd-healthy"],
  "wait-control-plane": ["components-healthy"],
  "wait-ready": ["node-ready"],
  settle: ["pods-ready"],
};

/**
 * The floor of a phase: the least time the simulated world needed for it, whatever the coordinator did. Per node,
 * the simulated work of its changes one after another (unit transitions, pods' grace periods, API writes) plus its
 * slowest read; for a phase that waits for something (etcd's quorum, the control plane, Ready), the moment it
 * became true. The slowest node's is the phase's. A lower bound, so wall time minus floor bounds the overhead above.
 */
function floorOf(cluster: SimCluster, w: PhaseWindow): number {
  const perNode = new Map<string, { changes: number; read: number }>();
  for (const c of cluster.calls) {
    if (c.at < w.start || c.at > w.end) continue;
    const n = perNode.get(c.node) ?? { changes: 0, read: 0 };
    if (c.mutating) n.changes += c.workMs;
    else n.read = Math.max(n.read, c.workMs);
    perNode.set(c.node, n);
  }
  let floor = 0;
  for (const n of perNode.values()) floor = Math.max(floor, n.changes + n.read);
  const awaited = AWAITS[w.name] ?? [];
  for (const i of cluster.instants) {
    if (awaited.includes(i.what) && i.at >= w.start && i.at <= w.end) floor = Math.max(floor, i.at - w.start);
  }
  return Math.min(floor, w.end - w.start);
}

async function run(): Promise<void> {
  const [nodesArg, dir] = process.argv.slice(2);
  const n = Number(nodesArg);
  if (!Number.isInteger(n) || n < 4 || !dir) throw new Error("usage: host NODES DIR");
  const spec = simClusterSpec({
    masters: 3,
    workers: n - 3,
    dockerEvery: 10,
    timing: BENCH_TIMING,
    net: 78,
    name: "scale",
    seed: 11,
  });
  await mkdir(dir, { recursive: true });
  // One agent certificate per 50 nodes (see pki.ts): the handshakes are the same, the openssl time is not.
  const pki = await createSimPki(
    join(dir, "pki"),
    spec.nodes.map((x) => x.name),
    n > 50 ? 50 : 1,
  );
  const cluster = new SimCluster(spec);
  const agents = await SimAgents.start(cluster, pki);
  const api = new SimClusterApi(cluster);
  const socket = join(dir, "api.sock");
  await serveClusterApi(api, socket);
  // This process's CPU time, sampled, so that each phase can say how busy the simulated side was: when it needs a
  // core of its own, the coordinator's wall times say more about the machine than about the coordinator.
  const cpuSamples: Array<[number, number]> = [];
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  setInterval(() => cpuSamples.push([Date.now(), cpuNow()]), 100).unref();
  const cpuAt = (t: number) => {
    let best = cpuSamples[0]?.[1] ?? 0;
    for (const [at, c] of cpuSamples) if (at <= t) best = c;
    return best;
  };
  process.on("message", (msg: { type: string; phases?: PhaseWindow[] }) => {
    if (msg.type === "floors") {
      const phases = msg.phases ?? [];
      const floors = Object.fromEntries(phases.map((w) => [w.key, floorOf(cluster, w)]));
      const cpu = Object.fromEntries(phases.map((w) => [w.key, cpuAt(w.end) - cpuAt(w.start)]));
      process.send?.({ type: "floors", floors, cpu });
    } else if (msg.type === "reset") {
      cluster.calls.length = 0;
      cluster.instants.length = 0;
      cpuSamples.length = 0;
      process.send?.({ type: "reset" });
    }
  });
  process.on("disconnect", () => {
    agents.close();
    cluster.close();
    process.exit(0);
  });
  process.send?.({
    type: "ready",
    port: agents.port,
    socket,
    operator: pki.operator,
    cluster: spec.name,
    nodes: spec.nodes.length,
  });
}

await run();
