import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdProbe, parseEtcdJson } from "./etcd.js";
import type { EtcdConfig } from "./layout.js";
import { fakeEtcdctl, invocations, type EtcdctlAnswers } from "./testing/fake-bin.js";

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
  const E1 = "https://10.0.0.11:2379";
  const E2 = "https://10.0.0.12:2379";
  const members = `{"header":{"cluster_id":17237436991929493444,"member_id":${M1},"raft_term":3},"members":[{"ID":${M1},"name":"m1","peerURLs":["https://10.0.0.11:2380"],"clientURLs":["${E1}"]},{"ID":${M2},"name":"m2","peerURLs":["https://10.0.0.12:2380"],"clientURLs":["${E2}"],"isLearner":true},{"ID":42,"name":"","peerURLs":["https://10.0.0.13:2380"]}]}`;
  const status = (endpoint: string, id: string) =>
    `[{"Endpoint":"${endpoint}","Status":{"header":{"cluster_id":17237436991929493444,"member_id":${id},"revision":42,"raft_term":3},"version":"3.5.12","dbSize":20480,"leader":${M1},"raftIndex":120,"raftTerm":3,"raftAppliedIndex":119}}]`;
  const answers: EtcdctlAnswers = {
    [E1]: {
      "endpoint health": { stdout: `[{"endpoint":"${E1}","health":true,"took":"9ms"}]` },
      "endpoint status": { stdout: status(E1, M1) },
      "member list": { stdout: members },
    },
    [E2]: {
      "endpoint health": {
        code: 1,
        stdout: `[{"endpoint":"${E2}","health":false,"error":"etcdserver: request timed out"}]`,
      },
      "endpoint status": { stdout: status(E2, M2) },
      "member list": { stdout: members },
    },
  };
  const cfg: EtcdConfig = {
    mode: "static-pod",
    unit: "",
    configFile: "/etc/kubernetes/manifests/etcd.yaml",
    name: "m1",
    clientUrls: [E1],
    peerUrls: ["https://10.0.0.11:2380"],
    dataDir: "/var/lib/etcd",
    caFile: "/pki/etcd/ca.crt",
    certFile: "/pki/etcd/healthcheck-client.crt",
    keyFile: "/pki/etcd/healthcheck-client.key",
    serverCertFile: "/pki/etcd/server.crt",
    peerCertFile: "/pki/etcd/peer.crt",
    fallbackEndpoints: [],
    quotaBackendBytes: 0,
    initialCluster: "",
    error: "",
  };
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kc-etcd-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function probe(config: EtcdConfig): Promise<EtcdProbe> {
    await rm(join(dir, "etcdctl.calls.jsonl"), { force: true });
    return new EtcdProbe({
      config: () => Promise.resolve(config),
      etcdctl: await fakeEtcdctl(dir, answers),
      workDir: dir,
    });
  }

  it("asks the local member at its advertised URL with the layout's credentials as explicit flags", async () => {
    const st = await (await probe(cfg)).status(5000);
    expect(st).toMatchObject({
      isMember: true,
      endpoint: E1,
      healthy: true,
      memberId: M1,
      leaderId: M1,
      clusterId: "17237436991929493444",
      raftIndex: 120,
      raftAppliedIndex: 119,
      version: "3.5.12",
    });
    expect(st.members.map((m) => [m.id, m.isLearner])).toEqual([
      [M1, false],
      [M2, true],
      ["42", false],
    ]);
    const calls = await invocations(dir, "etcdctl");
    expect(calls.map((c) => c.argv.slice(0, 2).join(" ")).sort()).toEqual([
      "endpoint health",
      "endpoint status",
      "member list",
    ]);
    for (const c of calls) {
      expect(c.argv).toEqual(
        expect.arrayContaining([
          `--endpoints=${E1}`,
          "--cacert=/pki/etcd/ca.crt",
          "--cert=/pki/etcd/healthcheck-client.crt",
          "--key=/pki/etcd/healthcheck-client.key",
        ]),
      );
      // Only the API version comes through the environment: nothing of the agent's own environment is relied on.
      expect((c as unknown as { env: string[] }).env).toEqual(["ETCDCTL_API"]);
    }
  });

  it("a configured member that does not answer is no member, and says why", async () => {
    const st = await (await probe({ ...cfg, clientUrls: ["https://10.0.0.99:2379"] })).status(5000);
    expect(st).toMatchObject({ isMember: false, healthy: false, endpoint: "https://10.0.0.99:2379", memberId: "" });
    expect(st.healthError).toContain("context deadline exceeded");
    expect(st.statusError).toContain("context deadline exceeded");
    expect(st.membersError).toContain("context deadline exceeded");
  });

  it("no etcd configured: not a member, nothing asked", async () => {
    const p = await probe({ ...cfg, mode: "none" });
    expect(await p.status(5000)).toMatchObject({ isMember: false, endpoint: "", healthError: "" });
    expect(await invocations(dir, "etcdctl")).toEqual([]);
  });

  it("asks another member by its id, at the client URL the local member's list gives, with the local credentials", async () => {
    const st = await (await probe(cfg)).status(5000, undefined, M2);
    expect(st).toMatchObject({ isMember: true, endpoint: E2, memberId: M2, healthy: false });
    expect(st.healthError).toContain("request timed out");
    const calls = await invocations(dir, "etcdctl");
    expect(calls.filter((c) => c.argv.includes(`--endpoints=${E2}`)).length).toBe(3);
    expect(calls.every((c) => c.argv.includes("--cert=/pki/etcd/healthcheck-client.crt"))).toBe(true);
  });

  it("refuses an id that is not in the member list, or not an id, or asked of a node without etcd", async () => {
    const p = await probe(cfg);
    await expect(p.status(5000, undefined, "12345")).rejects.toMatchObject({
      code: "INVALID_REQUEST",
      fields: { field: "member_id" },
    });
    await expect(p.status(5000, undefined, "https://evil:2379")).rejects.toMatchObject({ code: "INVALID_REQUEST" });
    // The refused calls asked the local member for its list and dialled nothing else.
    const calls = await invocations(dir, "etcdctl");
    expect(calls.map((c) => c.argv.slice(0, 2).join(" "))).toEqual(["member list"]);
    expect(calls[0]?.argv).toContain(`--endpoints=${E1}`);
    await expect((await probe({ ...cfg, mode: "none" })).status(5000, undefined, M2)).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
  });

  it("a member that never started (no client URL) is reported, not dialled", async () => {
    const st = await (await probe(cfg)).status(5000, undefined, "42");
    expect(st).toMatchObject({ isMember: false, healthy: false });
    expect(st.healthError).toContain("advertises no client URL");
  });
});
