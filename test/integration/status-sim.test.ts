// `kubecycle status` through the real CLI entry against a simulated cluster (test/sim: real gRPC agents over real mTLS
// on loopback addresses, the simulated API injected). Fast tier: no root, seconds. Each row is checked against the
// simulated nodes' own state, and the calls the agents received show the command asks each agent in one round.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimFixture, type SimFixture } from "../sim/fixture.js";
import { createSimPki, type SimPki } from "../sim/pki.js";
import { simClusterSpec } from "../sim/spec.js";

const MASTERS = ["sim-master-1", "sim-master-2", "sim-master-3"];
const WORKERS = ["sim-worker-1", "sim-worker-2"];
const NODES = [...MASTERS, ...WORKERS];

interface Row {
  node: string;
  agent: string;
  agentError?: string;
  units: Record<string, string>;
  ready: string;
  etcd: { healthy: boolean; leader: boolean; memberId: string; error?: string } | null;
  bootId: string | null;
}

let work: string;
let pki: SimPki;
let sim: SimFixture;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "kc-status-sim-"));
  pki = await createSimPki(join(work, "pki"), NODES);
  sim = await startSimFixture({ dir: join(work, "sim"), pki, spec: simClusterSpec({ masters: 3, workers: 2 }) });
});
afterAll(async () => {
  sim?.close();
  await rm(work, { recursive: true, force: true });
});

async function status(): Promise<{
  rows: Row[];
  calls: Array<{ node: string; rpc: string; at: number; answeredAt?: number }>;
}> {
  const from = sim.cluster.calls.length;
  const res = await sim.kubecycle(["status", "-o", "json"]);
  expect(res.code, res.stderr).toBe(0);
  const rows = (JSON.parse(res.stdout) as { nodes: Row[] }).nodes;
  return {
    rows,
    calls: sim.cluster.calls.slice(from).map((c) => ({ node: c.node, rpc: c.rpc, at: c.at, answeredAt: c.answeredAt })),
  };
}

describe("kubecycle status", () => {
  it("shows every node as its agent and etcd say, asking each agent in one round: its layout, its status and its certificates", async () => {
    const { rows, calls } = await status();
    expect(rows.map((r) => r.node).sort()).toEqual(NODES);
    const leader = sim.cluster.etcd.leader;
    for (const r of rows) {
      const node = sim.cluster.node(r.node);
      expect(r.agent, r.node).toBe("ok");
      expect(r.bootId).toBe(node.bootId);
      expect(r.units.kubelet).toBe(node.unit("kubelet.service").active);
      expect(r.ready).toBe("True");
      const member = sim.cluster.etcd.memberOn(r.node);
      if (MASTERS.includes(r.node)) {
        expect(r.units.etcd).toBe("active");
        expect(r.etcd).toMatchObject({ healthy: true, memberId: member?.id, leader: member === leader });
      } else {
        expect(r.etcd).toBeNull();
      }
    }
    expect(rows.filter((r) => r.etcd?.leader)).toHaveLength(1);
    // One round to each agent: its layout, its status (the local etcd member in it) and its certificates; no
    // separate etcd question.
    for (const n of NODES) {
      const rpcs = calls
        .filter((c) => c.node === n)
        .map((c) => c.rpc)
        .sort();
      expect(rpcs, n).toEqual(["GetCertificates", "GetNodeLayout", "GetStatus"]);
      // In the same round: the certificates were asked before the layout was answered, not in a round after.
      const at = (rpc: string) => calls.find((c) => c.node === n && c.rpc === rpc);
      expect(at("GetCertificates")?.at, n).toBeLessThanOrEqual(at("GetNodeLayout")?.answeredAt ?? 0);
    }
  });

  it("a member whose etcd is down: its row says unhealthy and why, the others healthy", async () => {
    const m2 = sim.cluster.node("sim-master-2");
    m2.crash("etcd.service");
    try {
      const { rows } = await status();
      const row = (n: string) => rows.find((r) => r.node === n);
      expect(row("sim-master-2")?.units.etcd).toBe("failed");
      expect(row("sim-master-2")?.etcd).toMatchObject({ healthy: false, error: expect.any(String) });
      for (const n of ["sim-master-1", "sim-master-3"]) expect(row(n)?.etcd?.healthy, n).toBe(true);
    } finally {
      m2.startUnit("etcd.service");
      const member = sim.cluster.etcd.memberOn("sim-master-2");
      expect(await m2.until(() => member !== undefined && sim.cluster.etcd.healthy(member), 5000)).toBe(true);
    }
  });

  it("an agent that does not answer: its row says unreachable, the others are whole", async () => {
    sim.agents.stopAgent("sim-worker-2");
    try {
      const { rows } = await status();
      const down = rows.find((r) => r.node === "sim-worker-2");
      expect(down).toMatchObject({ agent: "unreachable", units: {}, bootId: null });
      expect(down?.agentError).toMatch(/unreachable|deadline/i);
      for (const r of rows.filter((x) => x.node !== "sim-worker-2")) expect(r.agent, r.node).toBe("ok");
    } finally {
      await sim.agents.startAgent("sim-worker-2");
    }
  });
});
