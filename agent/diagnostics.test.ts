// The doctor's reads on a node and the staging of a snapshot, in the fast tier: the real agent on a free port with real
// mTLS certificates, a fake unit manager and a temp directory standing for the node. What may be looked at is the
// node's own (allow-listed units, the layout's directories, the endpoints its configuration names), never the caller's.
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type {
  Clock__Output,
  DiskUsage__Output,
  JournalLines__Output,
  NetworkProbes__Output,
  StagedSnapshot__Output,
} from "../shared/index.js";
import {
  containerdRoot,
  dataDirs,
  dockerRoot,
  hostPort,
  initialClusterPeers,
  kubeconfigServer,
  tcpProbe,
} from "./diagnostics.js";
import type { EtcdConfig } from "./layout.js";
import { setEtcdFlags } from "./restore.js";
import { fakeEtcdctl } from "./testing/fake-bin.js";
import type { TestClient } from "./testing/client.js";
import { createTestPki, startTestAgent, type TestPki } from "./testing/harness.js";
import { kubeadmEtcdYaml, kubekeyEtcdEnv, kubeletConf, writeTree } from "./testing/layouts.js";
import { parseStaticPod, componentArgv, flagValue } from "./manifests.js";

vi.setConfig({ testTimeout: 30_000 });

let dir: string;
let pki: TestPki;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-diag-"));
  pki = await createTestPki(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const listen = (): Promise<{ server: Server; port: number }> =>
  new Promise((resolve) => {
    const server = createServer((s) => s.end()).listen(0, "127.0.0.1", () =>
      resolve({ server, port: (server.address() as { port: number }).port }),
    );
  });

describe("what the node's configuration names", () => {
  it("finds containerd's and docker's data roots in their own config files, else their defaults", () => {
    expect(containerdRoot('version = 2\nroot = "/data/containerd"\n[plugins]\n  root = "/nope"\n')).toBe(
      "/data/containerd",
    );
    expect(containerdRoot('[plugins."io.containerd"]\nroot = "/nope"\n')).toBe("/var/lib/containerd");
    expect(dockerRoot('{"data-root": "/data/docker"}')).toBe("/data/docker");
    expect(dockerRoot('{"graph": "/old/docker"}')).toBe("/old/docker");
    expect(dockerRoot("not json")).toBe("/var/lib/docker");
  });

  it("lists etcd's data dir, the runtime's (docker nodes run containerd too) and the kubelet's", async () => {
    const etcd = { mode: "static-pod", dataDir: "/var/lib/etcd" } as EtcdConfig;
    const readConfig = (p: string) =>
      p === "/etc/docker/daemon.json" ? Promise.resolve('{"data-root":"/d"}') : Promise.reject(new Error("ENOENT"));
    expect(await dataDirs({ etcd, runtimeKind: "docker", kubelet: true, readConfig })).toEqual([
      { purpose: "etcd-data", path: "/var/lib/etcd" },
      { purpose: "docker", path: "/d" },
      { purpose: "containerd", path: "/var/lib/containerd" },
      { purpose: "kubelet", path: "/var/lib/kubelet" },
    ]);
    expect(
      await dataDirs({ etcd: { mode: "none" } as EtcdConfig, runtimeKind: "", kubelet: false, readConfig }),
    ).toEqual([]);
  });

  it("takes the API server from the kubelet's kubeconfig and the peers from etcd's initial cluster, not its own", () => {
    expect(kubeconfigServer(kubeletConf({ server: "https://10.0.0.11:6443", clientCert: "/c" }))).toBe(
      "https://10.0.0.11:6443",
    );
    expect(kubeconfigServer("::: not yaml")).toBeUndefined();
    expect(hostPort("https://[fd00::1]:2380")).toEqual({ host: "fd00::1", port: 2380 });
    expect(hostPort("https://lb.example:443")).toEqual({ host: "lb.example", port: 443 });
    expect(hostPort("https://lb.example")).toEqual({ host: "lb.example", port: 443 });
    expect(hostPort("http://10.0.0.1")).toEqual({ host: "10.0.0.1", port: 80 });
    expect(hostPort("not a url")).toBeUndefined();
    expect(
      initialClusterPeers("a=https://10.0.0.1:2380,b=https://10.0.0.2:2380,c=https://10.0.0.3:2380", [
        "https://10.0.0.2:2380",
      ]),
    ).toEqual([
      { name: "a", url: "https://10.0.0.1:2380" },
      { name: "c", url: "https://10.0.0.3:2380" },
    ]);
  });

  it("dials: accepted or refused, each said so", async () => {
    const { server, port } = await listen();
    try {
      expect(await tcpProbe("127.0.0.1", port, 1000)).toMatchObject({ ok: true, error: "" });
    } finally {
      server.close();
    }
    expect(await tcpProbe("127.0.0.1", port, 1000)).toMatchObject({ ok: false, error: "connection refused" });
  });

  it("sets the etcd static pod's join flags in place and appends those it lacks, leaving the rest as written", () => {
    const yaml = kubeadmEtcdYaml({ name: "m1", ip: "10.0.0.11", pki: "/etc/kubernetes/pki" });
    const out = setEtcdFlags(yaml, {
      "initial-cluster": "m1=https://10.0.0.11:2380,m2=https://10.0.0.12:2380",
      "initial-cluster-state": "existing",
    });
    const argv = componentArgv(parseStaticPod(out, "etcd.yaml"));
    expect(flagValue(argv, "initial-cluster")).toBe("m1=https://10.0.0.11:2380,m2=https://10.0.0.12:2380");
    expect(flagValue(argv, "initial-cluster-state")).toBe("existing");
    expect(argv.filter((a) => a.startsWith("--initial-cluster=")).length).toBe(1);
    expect(out.replace(/.*initial-cluster.*\n/g, "")).toBe(yaml.replace(/.*initial-cluster.*\n/g, ""));
  });
});

describe("the doctor's reads, over mTLS", () => {
  it("reads an allow-listed unit's journal for a viewer, bounded, and nothing else", async () => {
    const t = await startTestAgent({ pki, units: ["kubelet.service", "etcd.service"] });
    try {
      t.manager.journals.set(
        "etcd.service",
        Array.from({ length: 40 }, (_, i) => `etcd[1]: line ${i}`),
      );
      const viewer = await t.client("viewer");
      const j = await viewer.call<JournalLines__Output>("ReadJournal", { unit: "etcd", lines: 3 });
      expect(j).toEqual({ unit: "etcd.service", lines: ["etcd[1]: line 37", "etcd[1]: line 38", "etcd[1]: line 39"] });
      // The agent's default number of lines (units.journalLines, 30).
      expect((await viewer.call<JournalLines__Output>("ReadJournal", { unit: "etcd.service" })).lines).toHaveLength(30);
      await expect(viewer.call("ReadJournal", { unit: "sshd" })).rejects.toMatchObject({ code: "UNIT_NOT_ALLOWED" });
      await expect(viewer.call("ReadJournal", { unit: "../../etc/shadow" })).rejects.toMatchObject({
        code: "INVALID_UNIT_NAME",
      });
      await expect(viewer.call("ReadJournal", { unit: "etcd", lines: 501 })).rejects.toMatchObject({
        code: "INVALID_REQUEST",
      });
    } finally {
      await t.stop(true);
    }
  });

  it("tells the node's clock", async () => {
    const t = await startTestAgent({ pki, units: [] });
    try {
      const before = Date.now();
      const c = await (await t.client("viewer")).call<Clock__Output>("GetClock", {});
      expect(c.unixMs).toBeGreaterThanOrEqual(before);
      expect(c.unixMs).toBeLessThanOrEqual(Date.now());
    } finally {
      await t.stop(true);
    }
  });

  it("measures the layout's data directories, with what etcd's holds", async () => {
    const t = await startTestAgent({ pki, units: ["kubelet.service", "containerd.service"] });
    try {
      const data = join(t.root, "var/lib/etcd");
      await writeTree(t.root, {
        "etc/kubernetes/manifests/etcd.yaml": kubeadmEtcdYaml({
          name: "m1",
          ip: "10.0.0.11",
          pki: "/p",
          dataDir: data,
        }),
        "var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal": "w",
        "var/lib/etcd/member/wal/0000000000000001-0000000000000010.wal": "w",
        "var/lib/etcd/member/snap/db": "0123456789",
      });
      const { paths } = await (await t.client("viewer")).call<DiskUsage__Output>("GetDiskUsage", {});
      const etcd = paths.find((p) => p.purpose === "etcd-data");
      expect(etcd).toMatchObject({ path: data, exists: true, measured: data, etcdWalFiles: 2, etcdDbBytes: 10 });
      expect(etcd?.sizeBytes).toBeGreaterThan(0);
      expect(etcd?.inodes).toBeGreaterThan(0);
      expect(paths.map((p) => p.purpose)).toEqual(["etcd-data", "containerd", "kubelet"]);
      // A directory that does not exist is measured at its nearest existing parent, and says so.
      const containerd = paths.find((p) => p.purpose === "containerd");
      if (containerd && !containerd.exists) expect(containerd.measured).not.toBe(containerd.path);
    } finally {
      await t.stop(true);
    }
  });

  it("dials only the API server and etcd peers the node's own files name", async () => {
    const api = await listen();
    const t = await startTestAgent({ pki, units: ["kubelet.service", "etcd.service"] });
    try {
      const env = kubekeyEtcdEnv({ name: "etcd-n1", ip: "127.0.0.1", ssl: "/ssl", node: "n1" }).replace(
        /ETCD_INITIAL_CLUSTER=.*/,
        "ETCD_INITIAL_CLUSTER=etcd-n1=https://127.0.0.1:2380,etcd-n2=https://127.0.0.1:1",
      );
      await writeTree(t.root, {
        "etc/etcd.env": env,
        "etc/kubernetes/kubelet.conf": kubeletConf({ server: `https://127.0.0.1:${api.port}`, clientCert: "/c" }),
      });
      const { probes } = await (
        await t.client("viewer")
      ).call<NetworkProbes__Output>("ProbeNetwork", {
        timeoutMs: 1000,
      });
      expect(probes.map((p) => [p.purpose, p.target, p.name, p.reachable, p.error])).toEqual([
        ["kube-apiserver", `127.0.0.1:${api.port}`, `https://127.0.0.1:${api.port}`, true, ""],
        ["etcd-peer", "127.0.0.1:1", "etcd member etcd-n2", false, "connection refused"],
      ]);
      await expect((await t.client("viewer")).call("ProbeNetwork", { timeoutMs: 600_000 })).rejects.toMatchObject({
        code: "INVALID_REQUEST",
      });
    } finally {
      api.server.close();
      await t.stop(true);
    }
  });
});

/** Streams `bytes` to StageSnapshot in 4 KiB chunks after a header; resolves with the answer or the error. */
function upload(
  client: TestClient,
  header: { operationId: string; sha256: string; sizeBytes: number },
  bytes: Buffer,
): Promise<StagedSnapshot__Output> {
  return new Promise((resolve, reject) => {
    const call = client.raw.StageSnapshot(
      new Metadata(),
      { deadline: new Date(Date.now() + 10_000) },
      (err: ServiceError | null, res?: StagedSnapshot__Output) => {
        if (err) {
          const code = err.metadata?.get("kubecycle-error-code")[0];
          reject(Object.assign(new Error(err.details), { code: typeof code === "string" ? code : "" }));
        } else resolve(res as StagedSnapshot__Output);
      },
    );
    call.write({ header });
    for (let i = 0; i < bytes.length; i += 4096) call.write({ data: bytes.subarray(i, i + 4096) });
    call.end();
  });
}

describe("StageSnapshot", () => {
  it("keeps a snapshot whose bytes match its sha256, for operators only, and reads it with etcdctl when etcdutl is missing", async () => {
    const t0 = await startTestAgent({ pki, units: [] });
    const root = t0.root;
    await t0.stop();
    const bin = join(root, "bin");
    await writeTree(root, { "bin/.keep": "" });
    const etcdctl = await fakeEtcdctl(bin, {
      "": {
        version: { stdout: "etcdctl version: 3.4.23\nAPI version: 3.4\n" },
        "snapshot status": { stdout: '{"hash":123,"revision":42,"totalKey":7,"totalSize":20480}' },
      },
    });
    const t = await startTestAgent({
      pki,
      root,
      units: [],
      config: { etcd: { etcdctl, etcdutl: join(bin, "etcdutl-missing") } },
    });
    try {
      const bytes = Buffer.alloc(20_000, 7);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      const operator = await t.client("operator");
      await expect(
        upload(await t.client("viewer"), { operationId: "op-1", sha256, sizeBytes: bytes.length }, bytes),
      ).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
      await expect(
        upload(operator, { operationId: "op-1", sha256: "f".repeat(64), sizeBytes: bytes.length }, bytes),
      ).rejects.toMatchObject({ code: "SNAPSHOT_CORRUPT" });
      await expect(
        upload(operator, { operationId: "op-1", sha256, sizeBytes: bytes.length - 1 }, bytes),
      ).rejects.toMatchObject({ code: "SNAPSHOT_CORRUPT" });
      const staged = await upload(operator, { operationId: "op-1", sha256, sizeBytes: bytes.length }, bytes);
      expect(staged).toMatchObject({ sha256, sizeBytes: 20_000, revision: 42, totalKeys: 7, replayed: false });
      expect(staged.tool).toBe("etcdctl (etcdctl version: 3.4.23)");
      expect(await readdir(join(root, "var/lib/kubecycle-agent/restore"))).toEqual([`${sha256}.db`]);
      const again = await upload(operator, { operationId: "op-2", sha256, sizeBytes: bytes.length }, bytes);
      expect(again.replayed).toBe(true);
      const audit = t.logs.filter((l) => l.audit === true && l.rpc === "StageSnapshot");
      expect(audit.map((l) => [l.role, l.result])).toEqual([
        ["viewer", "refused"],
        ["operator", "refused"],
        ["operator", "refused"],
        ["operator", "ok"],
        ["operator", "ok"],
      ]);
    } finally {
      await t.stop(true);
    }
  });
});
