import { describe, expect, it } from "vitest";
import { parseEnvFile, parseEtcdJson } from "./etcd.js";

describe("parseEnvFile", () => {
  it("reads KubeKey's /etc/etcd.env", () => {
    const env = parseEnvFile(`# Environment file for etcd v3.4.13
ETCD_DATA_DIR=/var/lib/etcd
ETCD_ADVERTISE_CLIENT_URLS=https://10.0.0.11:2379
ETCD_NAME="etcd-master1"
export_not=1
ETCDCTL_CACERT='/etc/ssl/etcd/ssl/ca.pem'
  ETCDCTL_API = 3
garbage line
`);
    expect(env).toEqual({
      ETCD_DATA_DIR: "/var/lib/etcd",
      ETCD_ADVERTISE_CLIENT_URLS: "https://10.0.0.11:2379",
      ETCD_NAME: "etcd-master1",
      export_not: "1",
      ETCDCTL_CACERT: "/etc/ssl/etcd/ssl/ca.pem",
      ETCDCTL_API: "3",
    });
  });
});

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
