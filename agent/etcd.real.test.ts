// The etcd probe against a real 3-member etcd (Debian's etcd-server, as the lab uses) with mutual TLS on loopback:
// etcd's gRPC API asked with the layout's credentials and endpoint on a kept connection, another member asked by its
// id, alarms, a member that is down (answered at once) and one that comes back, and a snapshot that comes out whole
// (etcdctl's). No root; every etcd started here is stopped at the end.
import { credentials, Metadata, type Client, type ServiceError } from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { copyFile, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadEtcdProto } from "../shared/index.js";
import { EtcdClients } from "./etcd-client.js";
import { EtcdProbe } from "./etcd.js";
import { etcdFromEnvFile, etcdFromManifest, parseEnvFile, type EtcdConfig } from "./layout.js";
import { parseStaticPod } from "./manifests.js";
import { kubekeyEtcdEnv } from "./testing/layouts.js";
import { realEtcd, type RealEtcd, type RealMember } from "./testing/real-etcd.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

let dir: string;
let etcd: RealEtcd;
let members: RealMember[];
let ssl: string;
const probes: EtcdProbe[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-etcd-real-"));
  etcd = await realEtcd(dir, ["m1", "m2", "m3"]);
  ssl = etcd.ssl;
  members = etcd.members;
  // KubeKey's admin certificate: what etcdctl on the node uses (ETCDCTL_CERT/KEY).
  await etcd.ca.issue("admin-node1", { subject: "/O=system:masters/CN=etcd-admin" });
  for (const m of members) etcd.start(m);
});

afterAll(async () => {
  for (const p of probes) p.close();
  await etcd?.stopAll();
  await rm(dir, { recursive: true, force: true });
});

/** A probe of the given layout, closed at the end. */
function probeOf(cfg: () => EtcdConfig): EtcdProbe {
  const probe = new EtcdProbe({ config: () => Promise.resolve(cfg()), etcdctl: "etcdctl", workDir: dir });
  probes.push(probe);
  return probe;
}

/** KubeKey's environment file for member m1, with etcdctl's own credentials. */
function kubekeyConfig(): EtcdConfig {
  const text = kubekeyEtcdEnv({ name: "m1", ip: "127.0.0.1", ssl, node: "node1" })
    .replace(/ETCD_ADVERTISE_CLIENT_URLS=.*/, `ETCD_ADVERTISE_CLIENT_URLS=${members[0]?.client ?? ""}`)
    .replace(/ETCDCTL_CACERT=.*/, `ETCDCTL_CACERT=${ssl}/ca.crt`)
    .replace(/ETCDCTL_CERT=.*/, `ETCDCTL_CERT=${ssl}/admin-node1.crt`)
    .replace(/ETCDCTL_KEY=.*/, `ETCDCTL_KEY=${ssl}/admin-node1.key`);
  return etcdFromEnvFile(parseEnvFile(text), join(dir, "etcd.env"), "etcd.service");
}

async function healthy(probe: EtcdProbe): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const st = await probe.status(2000);
    if (st.healthy && st.leaderId !== "" && st.members.length === 3) return;
    if (Date.now() > deadline) throw new Error(`etcd did not become healthy: ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("EtcdProbe on a real etcd", () => {
  it("asks the local member with the credentials of KubeKey's environment file", async () => {
    const probe = probeOf(() => kubekeyConfig());
    await healthy(probe);
    const st = await probe.status(5000);
    expect(st).toMatchObject({ isMember: true, healthy: true, endpoint: members[0]?.client });
    expect(st.members.map((m) => m.name).sort()).toEqual(["m1", "m2", "m3"]);
    expect(st.members.find((m) => m.id === st.memberId)?.name).toBe("m1");
  });

  it("asks the same member as kubeadm lays it out (a static pod's flags)", async () => {
    const m1 = members[0] as RealMember;
    const manifest = parseStaticPod(
      `apiVersion: v1
kind: Pod
metadata: { name: etcd, namespace: kube-system, labels: { component: etcd, tier: control-plane } }
spec:
  containers:
  - name: etcd
    command:
    - etcd
    - --name=m1
    - --advertise-client-urls=${m1.client}
    - --initial-advertise-peer-urls=${m1.peer}
    - --cert-file=${ssl}/member.crt
    - --key-file=${ssl}/member.key
    - --trusted-ca-file=${ssl}/ca.crt
`,
      join(dir, "etcd.yaml"),
    );
    // No kubeadm client certificates in this pki dir: the server certificate is the client's.
    const cfg = await etcdFromManifest(manifest, join(dir, "no-kubeadm-pki"));
    expect(cfg.certFile).toBe(`${ssl}/member.crt`);
    const probe = probeOf(() => cfg);
    expect(await probe.status(5000)).toMatchObject({ isMember: true, healthy: true, endpoint: m1.client });
  });

  it("asks another member by its id at its client URL; an id not in the list is refused", async () => {
    const probe = probeOf(() => kubekeyConfig());
    const local = await probe.status(5000);
    const m3 = local.members.find((m) => m.name === "m3");
    const other = await probe.status(5000, undefined, m3?.id);
    expect(other).toMatchObject({ isMember: true, healthy: true, memberId: m3?.id, endpoint: members[2]?.client });
    await expect(probe.status(5000, undefined, "12345")).rejects.toMatchObject({ code: "INVALID_REQUEST" });
  });

  it("takes a snapshot whose sha256 matches its bytes", async () => {
    const probe = probeOf(() => kubekeyConfig());
    let seen: { sha: string; summary: { sha256: string; sizeBytes: number; memberName: string } } | undefined;
    await probe.snapshot(30_000, undefined, async (path, summary) => {
      seen = {
        sha: createHash("sha256")
          .update(await readFile(path))
          .digest("hex"),
        summary,
      };
    });
    expect(seen?.summary.sha256).toBe(seen?.sha);
    expect(seen?.summary.sizeBytes).toBeGreaterThan(0);
    expect(seen?.summary.memberName).toBe("m1");
  });

  it("keeps one connection to a member for every question, and makes a new one when the credentials change", async () => {
    const m1 = members[0] as RealMember;
    await etcd.ca.issue("rotating", { subject: "/CN=etcd-client-a" });
    // Earlier tests' probes keep theirs open: only what this client adds counts.
    const others = new Set(await connectionsTo(m1.client));
    const ours = async () => (await connectionsTo(m1.client)).filter((c) => !others.has(c));
    const clients = new EtcdClients();
    try {
      const target = {
        endpoint: m1.client,
        caFile: `${ssl}/ca.crt`,
        certFile: `${ssl}/rotating.crt`,
        keyFile: `${ssl}/rotating.key`,
      };
      for (let i = 0; i < 20; i++) {
        expect(await clients.health(target, 5000)).toBe("");
        expect((await clients.status(target, 5000)).header?.memberId).not.toBe("");
      }
      // The kernel's view, not the client's: the TCP connections this process holds to m1's client port.
      const first = await ours();
      expect(first).toHaveLength(1);

      // A renewed certificate at the same path: the next question goes on a new connection made with it.
      await etcd.ca.issue("rotated", { subject: "/CN=etcd-client-b" });
      await copyFile(`${ssl}/rotated.crt`, `${ssl}/rotating.crt`);
      await copyFile(`${ssl}/rotated.key`, `${ssl}/rotating.key`);
      expect(await clients.health(target, 5000)).toBe("");
      const second = await ours();
      expect(second).toHaveLength(1);
      expect(second).not.toEqual(first);
    } finally {
      clients.close();
    }
  });

  it("is not healthy while an alarm is raised, and says which (as etcdctl endpoint health)", async () => {
    const m1 = members[0] as RealMember;
    const probe = probeOf(() => etcd.config(m1));
    const before = await probe.status(5000);
    expect(before).toMatchObject({ healthy: true, healthError: "", errors: [] });
    await alarm(m1, "ACTIVATE", before.memberId);
    try {
      const st = await probe.status(5000);
      expect(st).toMatchObject({ isMember: true, healthy: false, healthError: "Active Alarm(s): NOSPACE" });
      expect(st.errors.join(" ")).toMatch(/NOSPACE/);
    } finally {
      await alarm(m1, "DEACTIVATE", before.memberId);
    }
    expect(await probe.status(5000)).toMatchObject({ healthy: true, healthError: "" });
  });

  it("a member that is down is no member, says why at once, and is answered again once it is back", async () => {
    const m3 = members[2] as RealMember;
    const probe = probeOf(kubekeyConfig);
    const m3id = (await probe.status(5000)).members.find((m) => m.name === "m3")?.id;
    // Asked once while it runs: the connection to it is kept.
    expect(await probe.status(5000, undefined, m3id)).toMatchObject({ isMember: true, healthy: true });
    await etcd.stop(m3);

    // A refused connection fails the call at once, far inside the call's 10 s: a status of a stopped member must not
    // use up the caller's deadline.
    const t0 = Date.now();
    const down = await probe.status(10_000, undefined, m3id);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(down).toMatchObject({ isMember: false, healthy: false, memberId: "" });
    expect(down.healthError).toMatch(/ECONNREFUSED|No connection established|UNAVAILABLE/i);
    expect(await probe.status(5000)).toMatchObject({ isMember: true, healthy: true });

    etcd.start(m3);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const st = await probe.status(2000, undefined, m3id);
      if (st.isMember && st.healthy) break;
      if (Date.now() > deadline) throw new Error(`m3 not answered after its restart: ${JSON.stringify(st)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
});

/** Raises or clears a NOSPACE alarm on member `memberId` through m's Maintenance API (with the member's cert). */
async function alarm(m: RealMember, action: "ACTIVATE" | "DEACTIVATE", memberId: string): Promise<void> {
  const Maintenance = (loadEtcdProto().etcdserverpb as Record<string, typeof Client>).Maintenance as typeof Client;
  const [ca, key, cert] = await Promise.all(["ca.crt", "member.key", "member.crt"].map((f) => readFile(join(ssl, f))));
  const client = new Maintenance(new URL(m.client).host, credentials.createSsl(ca, key, cert));
  try {
    await new Promise<void>((resolve, reject) => {
      const c = client as unknown as Record<string, (...a: unknown[]) => void>;
      c.Alarm?.call(
        client,
        { action, memberID: memberId, alarm: "NOSPACE" },
        new Metadata(),
        { deadline: new Date(Date.now() + 5000) },
        (err: ServiceError | null) => (err ? reject(err) : resolve()),
      );
    });
  } finally {
    client.close();
  }
}

/** The TCP connections (socket inodes) this process holds established to the host and port of `url`. */
async function connectionsTo(url: string): Promise<string[]> {
  const port = Number(new URL(url).port).toString(16).toUpperCase().padStart(4, "0");
  const own = new Set<string>();
  for (const fd of await readdir("/proc/self/fd")) {
    const link = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode) own.add(inode);
  }
  const table = await readFile("/proc/net/tcp", "utf8");
  return table
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[2]?.endsWith(`:${port}`) && f[3] === "01" && own.has(f[9] ?? ""))
    .map((f) => f[9] as string)
    .sort();
}
