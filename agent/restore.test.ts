// The parts of the etcd restore that read etcdctl's answers; the restore itself runs against a real etcd in
// restore.real.test.ts.
import { describe, expect, it } from "vitest";
import { addedMemberId, initialClusterOf, parseInitialCluster } from "./restore.js";

describe("addedMemberId", () => {
  const answer = (id: string) =>
    `{"header":{"cluster_id":14841639068965178418,"member_id":10276657743932975437,"revision":41,"raft_term":3},` +
    `"member":{"ID":${id},"peerURLs":["https://10.0.0.3:2380"]},"members":[{"ID":${id},"peerURLs":["https://10.0.0.3:2380"]}]}`;

  it.each([
    ["an id of 16 hex digits", "17237436991929493444"],
    // e4444b3d22bc294: etcdctl's plain "Member %16x added" pads it with a space.
    ["an id of 15 hex digits", "1028022154063233684"],
    ["a small id", "42"],
  ])("reads %s exactly, past a double's precision", (_, id) => {
    expect(addedMemberId(answer(id))).toBe(id);
  });

  it("is empty for an answer without a member, or not JSON", () => {
    expect(addedMemberId(`{"header":{}}`)).toBe("");
    expect(addedMemberId("Member  e4444b3d22bc294 added to cluster cdf818194e3a8c32")).toBe("");
  });
});

describe("initial cluster strings", () => {
  it("round-trip, a member with two peer URLs as two entries", () => {
    const text = initialClusterOf([
      { name: "m1", peerUrls: ["https://10.0.0.1:2380"] },
      { name: "m2", peerUrls: ["https://10.0.0.2:2380", "https://[fd00::2]:2380"] },
    ]);
    expect(text).toBe("m1=https://10.0.0.1:2380,m2=https://10.0.0.2:2380,m2=https://[fd00::2]:2380");
    expect(parseInitialCluster(text)).toEqual(
      new Map([
        ["m1", ["https://10.0.0.1:2380"]],
        ["m2", ["https://10.0.0.2:2380", "https://[fd00::2]:2380"]],
      ]),
    );
  });
});
