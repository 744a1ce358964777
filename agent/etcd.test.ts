import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type AddressInfo } from "node:net";
import { EtcdProbe, parseEtcdJson } from "./etcd.js";
import type { EtcdConfig } from "./layout.js";
import { fakeEtcd, type FakeEtcd } from "./testing/fake-etcd.js";
import { createTestCa } from "./testing/pki.js";
import { freePort } from "./testing/real-etcd.js";

describe("parseEtcdJson", () => {
  it("keeps every digit of uint64 member ids", () => {
    const text =
      '[{"Endpoint":"https://10.0.0.11:2379","Status":{"header":{"cluster_id":17237436991929493444,"member_id":9372538179322589801,"revision":42,"raft_term":3},"leader":9372538179322589801,"raftIndex":120}}]';
    const [first] = parseEtcdJson(text) as Array<{
      Status: { header: Record<string, unknown>; leader: unknown; raftIndex: unknown };
    }>;
    expect(first?.Status.header.member_id).toBe("9372538179322589801");
    expect(first?.Status.header.cluster_id).toBe("17237436991929493444");
    expect(first?.Status.leader).toBe("9372538179322589801");
    expect(first?.Status.header.revision).toBe(42);
    expect(first?.Status.raftIndex).toBe(120);
  });

  it("reads member ids inside arrays and leaves short numbers alone", () => {
    const parsed = parseEtcdJson(
      '{"members":[{"ID":10501334649042878790,"name":"m1","clientURLs":["https://a:2379"]}],"n":[1,2]}',
    );
    expect(parsed).toEqual({
      members: [{ ID: "10501334649042878790", name: "m1", clientURLs: ["https://a:2379"] }],
      n: [1, 2],
    });
  });
});

describe("EtcdProbe", () => {
  const M1 = "9372538179322589801";
  const M2 = "10501334649042878790";
  const CLUSTER = "17237436991929493444";
  let dir: string;
  let ssl: string;
  let etcd: FakeEtcd;
  let E1: string;
  let E2: string;
  /** A loopback port nothing listens on: a member that is down. */
  let refused: string;
  /** A loopback port that accepts and never speaks: a member that hangs. */
  let silent: { endpoint: string; close(): void };
  const probes: EtcdProbe[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kc-etcd-"));
    const ca = await createTestCa(join(dir, "pki"));
    ssl = ca.dir;
    await ca.issue("member", { subject: "/CN=etcd-member", san: ["IP:127.0.0.1"] });
    await ca.issue("healthcheck-client", { subject: "/O=system:masters/CN=kube-etcd-healthcheck-client" });
    etcd = await fakeEtcd(ssl, 2, ([e1 = "", e2 = ""]) => {
      const members = [
        { ID: M1, name: "m1", peerURLs: ["https://10.0.0.11:2380"], clientURLs: [e1], isLearner: false },
        { ID: M2, name: "m2", peerURLs: ["https://10.0.0.12:2380"], clientURLs: [e2], isLearner: true },
        { ID: "42", name: "", peerURLs: ["https://10.0.0.13:2380"], clientURLs: [], isLearner: false },
      ];
      const status = (id: string) => ({
        header: { clusterId: CLUSTER, memberId: id, revision: "42", raftTerm: "3" },
        version: "3.5.12",
        dbSize: "20480",
        dbSizeInUse: "16384",
        leader: M1,
        raftIndex: "120",
        raftTerm: "3",
        raftAppliedIndex: "119",
      });
      return [
        { members, status: status(M1) },
        { members, status: status(M2), healthError: "etcdserver: request timed out" },
      ];
    });
    [E1 = "", E2 = ""] = etcd.endpoints;
    refused = `https://127.0.0.1:${await freePort()}`;
    const hang = createServer(() => {}).listen(0, "127.0.0.1");
    await new Promise((r) => hang.once("listening", r));
    silent = { endpoint: `https://127.0.0.1:${(hang.address() as AddressInfo).port}`, close: () => hang.close() };
  });
  afterAll(async () => {
    for (const p of probes) p.close();
    silent?.close();
    await etcd?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cfg = (over: Partial<EtcdConfig> = {}): EtcdConfig => ({
    mode: "static-pod",
    unit: "",
    configFile: "/etc/kubernetes/manifests/etcd.yaml",
    name: "m1",
    clientUrls: [E1],
    peerUrls: ["https://10.0.0.11:2380"],
    dataDir: "/var/lib/etcd",
    caFile: `${ssl}/ca.crt`,
    certFile: `${ssl}/healthcheck-client.crt`,
    keyFile: `${ssl}/healthcheck-client.key`,
    serverCertFile: `${ssl}/member.crt`,
    peerCertFile: `${ssl}/member.crt`,
    fallbackEndpoints: [],
    quotaBackendBytes: 0,
    initialCluster: "",
    error: "",
    ...over,
  });

  function probe(config: EtcdConfig): EtcdProbe {
    etcd.calls.length = 0;
    const p = new EtcdProbe({ config: () => Promise.resolve(config), etcdctl: "/nonexistent/etcdctl", workDir: dir });
    probes.push(p);
    return p;
  }

  it("asks the local member at its advertised URL with the layout's client certificate, ids whole", async () => {
    const st = await probe(cfg()).status(5000);
    expect(st).toMatchObject({
      isMember: true,
      endpoint: E1,
      healthy: true,
      healthError: "",
      memberId: M1,
      leaderId: M1,
      clusterId: CLUSTER,
      revision: 42,
      raftIndex: 120,
      raftAppliedIndex: 119,
      dbSizeBytes: 20480,
      dbSizeInUseBytes: 16384,
      version: "3.5.12",
    });
    expect(st.members.map((m) => [m.id, m.name, m.isLearner])).toEqual([
      [M1, "m1", false],
      [M2, "m2", true],
      ["42", "", false],
    ]);
    expect(etcd.calls.map((c) => c.method).sort()).toEqual(["Alarm", "MemberList", "Range", "Status"]);
    expect(new Set(etcd.calls.map((c) => `${c.endpoint} ${c.client}`))).toEqual(
      new Set([`${E1} kube-etcd-healthcheck-client`]),
    );
  });

  it("is not healthy while an alarm is raised, and names it", async () => {
    const alarmed = await fakeEtcd(ssl, 1, () => [{ alarms: ["NOSPACE", "CORRUPT"], status: { header: null } }]);
    try {
      const st = await probe(cfg({ clientUrls: alarmed.endpoints })).status(5000);
      expect(st).toMatchObject({ healthy: false, healthError: "Active Alarm(s): NOSPACE CORRUPT" });
    } finally {
      await alarmed.close();
    }
  });

  it("a member that is down is no member and says so at once; one that hangs, at the deadline", async () => {
    const t0 = Date.now();
    const down = await probe(cfg({ clientUrls: [refused] })).status(10_000);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(down).toMatchObject({ isMember: false, healthy: false, endpoint: refused, memberId: "" });
    for (const e of [down.healthError, down.statusError, down.membersError]) expect(e).toMatch(/ECONNREFUSED/);

    const hung = await probe(cfg({ clientUrls: [silent.endpoint] })).status(300);
    expect(hung).toMatchObject({ isMember: false, healthy: false, memberId: "" });
    for (const e of [hung.healthError, hung.statusError, hung.membersError]) expect(e).toMatch(/deadline/i);
  });

  it("a missing credential file or a client URL it cannot speak to is said, not thrown", async () => {
    const noKey = await probe(cfg({ keyFile: `${ssl}/absent.key` })).status(5000);
    expect(noKey).toMatchObject({ isMember: false, healthy: false });
    expect(noKey.healthError).toMatch(/absent\.key/);
    const unix = await probe(cfg({ clientUrls: ["unix:///run/etcd.sock"] })).status(5000);
    expect(unix.healthError).toMatch(/only http:\/\/ and https:\/\//);
  });

  it("no etcd configured: not a member, nothing asked", async () => {
    const p = probe(cfg({ mode: "none" }));
    expect(await p.status(5000)).toMatchObject({ isMember: false, endpoint: "", healthError: "" });
    expect(etcd.calls).toEqual([]);
  });

  it("asks another member by its id, at the client URL the local member's list gives, with the local credentials", async () => {
    const st = await probe(cfg()).status(5000, undefined, M2);
    expect(st).toMatchObject({ isMember: true, endpoint: E2, memberId: M2, healthy: false });
    expect(st.healthError).toBe("etcdserver: request timed out");
    expect(
      etcd.calls
        .filter((c) => c.endpoint === E2)
        .map((c) => c.method)
        .sort(),
    ).toEqual(["MemberList", "Range", "Status"]);
    expect(etcd.calls.every((c) => c.client === "kube-etcd-healthcheck-client")).toBe(true);
  });

  it("refuses an id that is not in the member list, or not an id, or asked of a node without etcd", async () => {
    const p = probe(cfg());
    await expect(p.status(5000, undefined, "12345")).rejects.toMatchObject({
      code: "INVALID_REQUEST",
      fields: { field: "member_id" },
    });
    await expect(p.status(5000, undefined, "https://evil:2379")).rejects.toMatchObject({ code: "INVALID_REQUEST" });
    // The refused calls asked the local member for its list and dialled nothing else.
    expect(etcd.calls.map((c) => [c.endpoint, c.method])).toEqual([[E1, "MemberList"]]);
    await expect(probe(cfg({ mode: "none" })).status(5000, undefined, M2)).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
  });

  it("a member that never started (no client URL) is reported, not dialled", async () => {
    const st = await probe(cfg()).status(5000, undefined, "42");
    expect(st).toMatchObject({ isMember: false, healthy: false });
    expect(st.healthError).toContain("advertises no client URL");
    expect(etcd.calls.map((c) => c.method)).toEqual(["MemberList"]);
  });
});
