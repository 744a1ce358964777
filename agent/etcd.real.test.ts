// The etcd probe against a real 3-member etcd (Debian's etcd-server, as the lab uses) with mutual TLS on loopback:
// etcdctl is given the layout's credentials and endpoint as flags, another member is asked by its id, a member that
// is down is no member, and a snapshot comes out whole. No root; every etcd started here is stopped at the end.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { EtcdProbe } from "./etcd.js";
import { etcdFromEnvFile, etcdFromManifest, parseEnvFile, type EtcdConfig } from "./layout.js";
import { parseStaticPod } from "./manifests.js";
import { kubekeyEtcdEnv } from "./testing/layouts.js";
import { createTestCa } from "./testing/pki.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

interface Member {
  name: string;
  client: string;
  peer: string;
  dataDir: string;
  proc?: ChildProcess;
}

let dir: string;
let members: Member[];
let ssl: string;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

function start(m: Member): void {
  const cluster = members.map((x) => `${x.name}=${x.peer}`).join(",");
  m.proc = spawn(
    "etcd",
    [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${m.client}`,
      `--advertise-client-urls=${m.client}`,
      `--listen-peer-urls=${m.peer}`,
      `--initial-advertise-peer-urls=${m.peer}`,
      `--initial-cluster=${cluster}`,
      "--initial-cluster-state=new",
      "--initial-cluster-token=kc-test",
      `--cert-file=${ssl}/member.crt`,
      `--key-file=${ssl}/member.key`,
      `--trusted-ca-file=${ssl}/ca.crt`,
      "--client-cert-auth",
      `--peer-cert-file=${ssl}/member.crt`,
      `--peer-key-file=${ssl}/member.key`,
      `--peer-trusted-ca-file=${ssl}/ca.crt`,
      "--peer-client-cert-auth",
      "--heartbeat-interval=50",
      "--election-timeout=500",
      "--log-level=error",
    ],
    { stdio: "ignore" },
  );
}

async function stop(m: Member): Promise<void> {
  const p = m.proc;
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  await gone;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-etcd-real-"));
  const ca = await createTestCa(join(dir, "ssl"));
  ssl = ca.dir;
  await ca.issue("member", { subject: "/CN=etcd-member", san: ["IP:127.0.0.1", "DNS:localhost"] });
  // KubeKey's admin certificate: what etcdctl on the node uses (ETCDCTL_CERT/KEY).
  await ca.issue("admin-node1", { subject: "/O=system:masters/CN=etcd-admin" });
  members = await Promise.all(
    ["m1", "m2", "m3"].map(async (name) => ({
      name,
      client: `https://127.0.0.1:${await freePort()}`,
      peer: `https://127.0.0.1:${await freePort()}`,
      dataDir: join(dir, name),
    })),
  );
  for (const m of members) start(m);
});

afterAll(async () => {
  await Promise.all((members ?? []).map(stop));
  await rm(dir, { recursive: true, force: true });
});

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
    const probe = new EtcdProbe({ config: () => Promise.resolve(kubekeyConfig()), etcdctl: "etcdctl", workDir: dir });
    await healthy(probe);
    const st = await probe.status(5000);
    expect(st).toMatchObject({ isMember: true, healthy: true, endpoint: members[0]?.client });
    expect(st.members.map((m) => m.name).sort()).toEqual(["m1", "m2", "m3"]);
    expect(st.members.find((m) => m.id === st.memberId)?.name).toBe("m1");
  });

  it("asks the same member as kubeadm lays it out (a static pod's flags)", async () => {
    const m1 = members[0] as Member;
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
    const probe = new EtcdProbe({ config: () => Promise.resolve(cfg), etcdctl: "etcdctl", workDir: dir });
    expect(await probe.status(5000)).toMatchObject({ isMember: true, healthy: true, endpoint: m1.client });
  });

  it("asks another member by its id at its client URL; an id not in the list is refused", async () => {
    const probe = new EtcdProbe({ config: () => Promise.resolve(kubekeyConfig()), etcdctl: "etcdctl", workDir: dir });
    const local = await probe.status(5000);
    const m3 = local.members.find((m) => m.name === "m3");
    const other = await probe.status(5000, undefined, m3?.id);
    expect(other).toMatchObject({ isMember: true, healthy: true, memberId: m3?.id, endpoint: members[2]?.client });
    await expect(probe.status(5000, undefined, "12345")).rejects.toMatchObject({ code: "INVALID_REQUEST" });
  });

  it("takes a snapshot whose sha256 matches its bytes", async () => {
    const probe = new EtcdProbe({ config: () => Promise.resolve(kubekeyConfig()), etcdctl: "etcdctl", workDir: dir });
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

  it("a member that is down is no member, and says why; the others still answer for it", async () => {
    const probe = new EtcdProbe({ config: () => Promise.resolve(kubekeyConfig()), etcdctl: "etcdctl", workDir: dir });
    const m3id = (await probe.status(5000)).members.find((m) => m.name === "m3")?.id;
    await stop(members[2] as Member);
    const down = await probe.status(2000, undefined, m3id);
    expect(down).toMatchObject({ isMember: false, healthy: false, memberId: "" });
    expect(down.healthError).not.toBe("");
    expect(await probe.status(5000)).toMatchObject({ isMember: true, healthy: true });
  });
});
