import { describe, expect, it } from "vitest";
import type { EtcdMemberStatus__Output } from "../../shared/index.js";
import type { EtcdMemberRecord } from "../plan/index.js";
import { matchMembers, pickMemberList, urlHost, type LocalMemberView } from "./membership.js";

const member = (id: string, ip: string, extra: Partial<EtcdMemberRecord> = {}): EtcdMemberRecord => ({
  id,
  name: `etcd-${id}`,
  peerUrls: [`https://${ip}:2380`],
  clientUrls: [`https://${ip}:2379`],
  learner: false,
  ...extra,
});

function status(over: Partial<EtcdMemberStatus__Output>): EtcdMemberStatus__Output {
  return {
    isMember: true,
    endpoint: "",
    healthy: true,
    healthError: "",
    memberId: "",
    leaderId: "1",
    raftTerm: 2,
    raftIndex: 10,
    raftAppliedIndex: 10,
    revision: 5,
    dbSizeBytes: 1,
    version: "3.5.0",
    errors: [],
    statusError: "",
    members: [],
    membersError: "",
    clusterId: "c1",
    dbSizeInUseBytes: 1,
    ...over,
  };
}

const wire = (m: EtcdMemberRecord) => ({
  id: m.id,
  name: m.name,
  peerUrls: m.peerUrls,
  clientUrls: m.clientUrls,
  isLearner: m.learner,
});

describe("matchMembers", () => {
  const nodes = [
    { name: "m1", addresses: ["10.0.0.11", "172.17.0.1"] },
    { name: "m2", addresses: ["10.0.0.12", "172.17.0.1"] },
    { name: "w1", addresses: ["10.0.0.21"] },
  ];

  it("matches peer URLs to the nodes' InternalIPs, and leaves external members without a node", () => {
    const out = matchMembers([member("1", "10.0.0.11"), member("2", "10.0.0.12"), member("9", "10.9.9.9")], nodes);
    expect(out.map((m) => [m.id, m.node])).toEqual([
      ["1", "m1"],
      ["2", "m2"],
      ["9", undefined],
    ]);
  });

  it("never decides by an address two nodes share (a bridge)", () => {
    expect(matchMembers([member("3", "172.17.0.1")], nodes)[0]?.node).toBeUndefined();
  });

  it("matches an address only the agent reported, and a peer URL by host name", () => {
    const withAgentAddr = [{ name: "m3", addresses: ["10.0.0.13", "192.168.5.13"] }];
    expect(matchMembers([member("4", "192.168.5.13")], withAgentAddr)[0]?.node).toBe("m3");
    const byName = { ...member("5", "x"), peerUrls: ["https://m3:2380"] };
    expect(matchMembers([byName], withAgentAddr)[0]?.node).toBe("m3");
  });

  it("takes the node whose own member answered with the id over any address", () => {
    const local: LocalMemberView[] = [{ node: "w1", status: status({ memberId: "1" }) }];
    expect(matchMembers([member("1", "10.0.0.11")], nodes, local)[0]?.node).toBe("w1");
  });

  it("parses IPv6 peer URLs", () => {
    expect(urlHost("https://[fd00::11]:2380")).toBe("fd00::11");
    expect(matchMembers([member("6", "[fd00::11]")], [{ name: "v6", addresses: ["fd00::11"] }])[0]?.node).toBe("v6");
    expect(urlHost("not a url")).toBe("");
  });
});

describe("pickMemberList", () => {
  const list = [member("1", "10.0.0.11"), member("2", "10.0.0.12", { learner: true })].map(wire);

  it("takes a healthy member's list, learners marked", () => {
    const got = pickMemberList([
      { node: "m1", status: status({ healthy: false, members: list.slice(0, 1) }) },
      { node: "m2", status: status({ members: list }) },
    ]);
    expect(got.source).toBe("node m2");
    expect(got.members.map((m) => [m.id, m.learner])).toEqual([
      ["1", false],
      ["2", true],
    ]);
    expect(got.error).toBeUndefined();
  });

  it("falls back to an unhealthy member's list, then to the earlier inventory's, and says why", () => {
    expect(pickMemberList([{ node: "m1", status: status({ healthy: false, members: list }) }]).source).toBe("node m1");
    const previous = { clusterId: "c0", members: [member("1", "10.0.0.11")], source: "node m1" };
    const got = pickMemberList([{ node: "m1", error: "m1: EtcdStatus: the agent is unreachable" }], previous);
    expect(got).toMatchObject({ source: "cache", clusterId: "c0", error: expect.stringContaining("unreachable") });
    expect(pickMemberList([], undefined)).toMatchObject({ members: [], source: "", error: expect.any(String) });
  });
});
