// The lab's node plan, without a lab: up to 3 masters and 12 workers (the cluster benchmark's 15 nodes), names that
// are never a prefix of one another (cgroup cleanup matches by prefix), cloud names that fit Linux's host names.
import { describe, expect, it } from "vitest";
import { MAX_MASTERS, MAX_WORKERS, cloudName, planNodes } from "../lab/layout.js";

describe("the lab's node plan", () => {
  it("takes up to 12 workers, numbered so that no node's name is a prefix of another's", () => {
    expect(MAX_WORKERS).toBe(12);
    for (const [m, w] of [
      [3, 2],
      [3, 9],
      [3, 12],
      [MAX_MASTERS, MAX_WORKERS],
    ] as const) {
      const plan = planNodes(m, w);
      expect(plan).toHaveLength(m + w);
      for (const a of plan) {
        for (const b of plan) {
          if (a !== b) {
            expect(b.name.startsWith(a.name), `${a.name} / ${b.name}`).toBe(false);
            expect(b.hostVeth.startsWith(a.hostVeth), `${a.hostVeth} / ${b.hostVeth}`).toBe(false);
          }
        }
        expect(a.hostVeth.length).toBeLessThanOrEqual(15); // IFNAMSIZ
      }
      expect(new Set(plan.map((n) => n.ip)).size).toBe(plan.length);
    }
    const big = planNodes(3, 12);
    expect(big.map((n) => n.name).slice(2, 6)).toEqual([
      "kclab-master-3",
      "kclab-worker-01",
      "kclab-worker-02",
      "kclab-worker-03",
    ]);
    expect(big.at(-1)).toMatchObject({ name: "kclab-worker-12", ip: "198.18.7.32", hostVeth: "kclab-h-w12" });
    // The lab everyone knows keeps its names.
    expect(planNodes(3, 2).map((n) => n.name)).toEqual([
      "kclab-master-1",
      "kclab-master-2",
      "kclab-master-3",
      "kclab-worker-1",
      "kclab-worker-2",
    ]);
    expect(() => planNodes(3, 13)).toThrow(/workers must be 0..12/);
  });

  it("gives cloud names as EC2 does, keeping the short names for the host's objects", () => {
    const plan = planNodes(3, 12, { nodeNames: "cloud", memberName: (k) => k });
    expect(cloudName("198.18.7.21")).toBe("ip-198-18-7-21.eu-west-1.compute.internal");
    for (const n of plan) {
      expect(n.kubeName).toBe(cloudName(n.ip));
      expect(n.kubeName.length).toBeGreaterThanOrEqual(40);
      expect(n.hostname).toBe(n.kubeName);
      expect(n.hostname.length).toBeLessThanOrEqual(64);
      expect(n.name).toMatch(/^kclab-(master|worker)-\d+$/);
      expect(n.netns).toBe(n.name);
      if (n.role === "master") expect(n.etcdMember).toBe(n.kubeName);
    }
    expect(planNodes(1, 0)[0]?.etcdMember).toBe("etcd-kclab-master-1");
  });
});
