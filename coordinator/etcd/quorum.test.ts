import { describe, expect, it } from "vitest";
import type { EtcdMemberRecord } from "../plan/index.js";
import { assessEtcd, caughtUp, leaderIndex, quorumWithout, type MemberHealth } from "./quorum.js";

const rec = (id: string, node?: string, learner = false): EtcdMemberRecord => ({
  id,
  name: `etcd-${id}`,
  peerUrls: [],
  clientUrls: [],
  learner,
  ...(node ? { node } : {}),
});
const ok = (m: EtcdMemberRecord, applied = 100): MemberHealth => ({
  member: m,
  healthy: true,
  leaderId: "1",
  raftIndex: 100,
  raftAppliedIndex: applied,
});
const down = (m: EtcdMemberRecord): MemberHealth => ({ member: m, healthy: false, error: "connection refused" });

describe("quorumWithout", () => {
  const three = [ok(rec("1", "m1")), ok(rec("2", "m2")), ok(rec("3", "m3"))];

  it("lets one of three healthy voters go", () => {
    expect(quorumWithout(three, "2")).toEqual({
      ok: true,
      evidence: { voters: 3, learners: 0, leader: "1", quorumWithout: "2/3" },
    });
  });

  it("refuses when any member is down, naming it, an external one too", () => {
    const ext = [ok(rec("1", "m1")), ok(rec("2", "m2")), down(rec("3"))];
    expect(quorumWithout(ext, "1")).toEqual({
      ok: false,
      why: "not every member is healthy (external member etcd-3: connection refused)",
    });
  });

  it("does not count learners as voters", () => {
    const withLearner = [ok(rec("1", "m1")), ok(rec("2", "m2")), ok(rec("4", "m4", true))];
    expect(quorumWithout(withLearner, "1")).toMatchObject({ ok: false, why: expect.stringContaining("2 voting") });
    // A learner itself may go: it does not vote.
    expect(quorumWithout(withLearner, "4")).toMatchObject({ ok: true });
  });

  it("counts external voters towards quorum", () => {
    const mixed = [ok(rec("1", "m1")), ok(rec("2")), ok(rec("3"))];
    expect(quorumWithout(mixed, "1")).toMatchObject({ ok: true, evidence: { quorumWithout: "2/3" } });
  });

  it("refuses two leaders, an unknown member, and too few voters", () => {
    const split = [ok(rec("1", "m1")), { ...ok(rec("2", "m2")), leaderId: "2" }, ok(rec("3", "m3"))];
    expect(quorumWithout(split, "1")).toMatchObject({ ok: false, why: expect.stringContaining("one leader") });
    expect(quorumWithout(three, "9")).toMatchObject({ ok: false, why: expect.stringContaining("not in the member") });
    expect(quorumWithout(three.slice(0, 2), "1")).toMatchObject({
      ok: false,
      why: expect.stringContaining("2 voting"),
    });
  });

  it("keeps a majority in larger clusters", () => {
    const five = ["1", "2", "3", "4", "5"].map((id) => ok(rec(id, `m${id}`)));
    expect(quorumWithout(five, "5")).toMatchObject({ ok: true, evidence: { quorumWithout: "4/5" } });
  });
});

describe("assessEtcd", () => {
  it("counts voters, learners and leaders, and names each unhealthy member", () => {
    const a = assessEtcd([ok(rec("1", "m1")), ok(rec("2", "m2", true)), down(rec("3", "m3"))]);
    expect(a).toEqual({
      voters: 2,
      learners: 1,
      healthyVoters: 1,
      problems: ["m3: connection refused"],
      leaders: ["1"],
    });
  });
});

describe("caughtUp", () => {
  it("holds once every member applied what the leader had committed when the check began, under steady writes", () => {
    const members = [
      { ...ok(rec("1", "m1")), raftIndex: 1000, raftAppliedIndex: 1000 },
      { ...ok(rec("2", "m2")), raftIndex: 990, raftAppliedIndex: 990 },
    ];
    const target = leaderIndex(members);
    expect(target).toBe(1000);
    expect(caughtUp(members, target)).toEqual({ ok: false, behind: ["m2 applied 990 < 1000"] });
    // Writes go on: the leader is far ahead again, but the follower has passed the target.
    const later = [
      { ...members[0], raftIndex: 1400, raftAppliedIndex: 1400 },
      { ...members[1], raftIndex: 1350, raftAppliedIndex: 1350 },
    ] as MemberHealth[];
    expect(caughtUp(later, target)).toEqual({ ok: true, behind: [] });
  });

  it("has no target without a healthy leader", () => {
    expect(leaderIndex([down(rec("1", "m1"))])).toBe(0);
  });
});
