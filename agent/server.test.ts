// The fast tier for what the agent refuses and how it says so: authorization by one default-deny table, audit lines,
// error mapping, the bounds on what is in flight, TLS, and the viewer flood. The real agent on a free port with real
// mTLS certificates and a fake unit manager; no root, no systemd.
import { createServer as createHttpServer, type Server } from "node:http";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type ConnectionOptions } from "node:tls";
import { Worker } from "node:worker_threads";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Metadata } from "@grpc/grpc-js";
import {
  CHANGE_RPCS,
  OPERATION_METADATA,
  agentProtoPath,
  loadAgentProto,
  stampMetadata,
  type OperationStamp,
  type HealthResponse__Output,
  type UnitsResult__Output,
} from "../shared/index.js";
import { Lifecycle } from "./lifecycle.js";
import type { RpcDeps } from "./rpc/context.js";
import { WRITE_ROLES } from "./rpc/writes.js";
import { AUTHORIZATION, buildHandlers } from "./server.js";
import { FakeUnitManager } from "./testing/fake-manager.js";
import { createTestPki, startTestAgent, type TestAgent, type TestPki } from "./testing/harness.js";
import { kubeadmApiserverYaml, writeTree } from "./testing/layouts.js";
import { UnitStateCache } from "./unit-cache.js";

vi.setConfig({ testTimeout: 30_000 });

let dir: string;
let pki: TestPki;
let t: TestAgent;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-server-"));
  pki = await createTestPki(dir);
  t = await startTestAgent({ pki, units: ["kubelet.service", "etcd.service", "containerd.service"] });
});
afterAll(async () => {
  await t?.stop(true);
  await rm(dir, { recursive: true, force: true });
});

const audits = (filter: (l: Record<string, unknown>) => boolean) => t.logs.filter((l) => l.audit === true && filter(l));

describe("the authorization table", () => {
  it("lists every RPC of the contract, and nothing else", () => {
    const rpcs = Object.keys(loadAgentProto().kubecycle.v1.Agent.service).sort();
    expect(Object.keys(AUTHORIZATION).sort()).toEqual(rpcs);
  });

  it("has as its writes exactly the changes a coordinator stamps with their operation (the fence sees every one)", () => {
    expect(Object.keys(WRITE_ROLES).sort()).toEqual([...CHANGE_RPCS].sort());
  });

  it("opens changes and snapshots to operators only, reads to both roles", () => {
    const operatorOnly = Object.entries(AUTHORIZATION)
      .filter(([, roles]) => roles.length === 1 && roles[0] === "operator")
      .map(([m]) => m)
      .sort();
    expect(operatorOnly).toEqual([
      "EtcdRejoin",
      "EtcdReplaceMember",
      "EtcdRestore",
      "EtcdSnapshot",
      "PowerOff",
      "SetAutoStart",
      "StageSnapshot",
      "StartUnits",
      "StopPodSandboxes",
      "StopUnits",
    ]);
    for (const [method, roles] of Object.entries(AUTHORIZATION)) {
      if (!operatorOnly.includes(method)) expect([method, [...roles].sort()]).toEqual([method, ["operator", "viewer"]]);
    }
  });

  it("refuses a method missing from the table to everyone, and never runs it", async () => {
    const table = Object.fromEntries(Object.entries(AUTHORIZATION).filter(([m]) => m !== "GetNodeLayout"));
    let ran = 0;
    const manager = new FakeUnitManager([]);
    const deps = {
      config: t.config,
      lifecycle: Object.assign(new Lifecycle(), {}),
      log: pino({ level: "silent" }),
      unitStates: new UnitStateCache(manager, [], 0),
      layout: { layout: () => Promise.resolve(ran++) },
    } as unknown as RpcDeps;
    const handlers = buildHandlers(deps, table);
    for (const O of ["kubecycle:operator", "kubecycle:viewer"]) {
      const status = await new Promise<{ code?: number; details?: string }>((resolve) => {
        const call = {
          request: {},
          getAuthContext: () => ({ sslPeerCertificate: { subject: { O, CN: "someone" } } }),
          getPeer: () => "127.0.0.1:1",
        } as unknown as Parameters<typeof handlers.GetNodeLayout>[0];
        handlers.GetNodeLayout(call, (err) => resolve(err ?? {}));
      });
      expect(status.code).toBe(7); // PERMISSION_DENIED
      expect(status.details).toContain("GetNodeLayout is not open to any role");
    }
    expect(ran).toBe(0);
  });
});

describe("who may call, over mTLS", () => {
  it("refuses a viewer every change and the snapshot, touches nothing, and audits each with the certificate's subject", async () => {
    const viewer = await t.client("viewer");
    const calls: Array<[string, object]> = [
      ["StopUnits", { operationId: "v-1", units: [{ name: "kubelet" }] }],
      ["StartUnits", { operationId: "v-2", units: [{ name: "kubelet" }] }],
      ["SetAutoStart", { operationId: "v-3", units: ["kubelet"], enabled: false }],
      ["StopPodSandboxes", { operationId: "v-4" }],
      ["PowerOff", { operationId: "v-5" }],
    ];
    for (const [method, req] of calls) {
      await expect(viewer.call(method, req)).rejects.toMatchObject({ grpcCode: 7, code: "PERMISSION_DENIED" });
    }
    const snapshot = viewer.raw.EtcdSnapshot({});
    const snapErr = await new Promise<{ code?: number }>((resolve) => {
      snapshot.on("error", resolve);
      snapshot.on("data", () => undefined);
    });
    expect(snapErr.code).toBe(7);
    expect(t.manager.calls).toEqual([]);
    for (const rpc of [...calls.map(([m]) => m), "EtcdSnapshot"]) {
      expect(audits((l) => l.rpc === rpc && l.caller === "victor")).toEqual([
        expect.objectContaining({
          result: "refused",
          code: "PERMISSION_DENIED",
          role: "viewer",
          subject: "O=kubecycle:viewer, CN=victor",
          peer: expect.stringMatching(/^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):\d+$/),
        }),
      ]);
    }
  });

  it("refuses a certificate of our CA that grants no role, reads included, naming its subject", async () => {
    const mallory = await t.client("norole");
    await expect(mallory.call("Health", {})).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    await expect(mallory.call("StopUnits", { operationId: "m-1", units: [{ name: "kubelet" }] })).rejects.toMatchObject(
      {
        code: "PERMISSION_DENIED",
      },
    );
    const lines = audits((l) => l.caller === "mallory");
    expect(lines.map((l) => [l.rpc, l.subject, l.role, l.result])).toEqual([
      ["Health", "O=example:other, CN=mallory", "none", "refused"],
      ["StopUnits", "O=example:other, CN=mallory", "none", "refused"],
    ]);
    expect(t.manager.calls).toEqual([]);
  });

  it("tells each caller who it is", async () => {
    expect(await (await t.client("viewer")).call<HealthResponse__Output>("Health", {})).toMatchObject({
      callerIdentity: "victor",
      callerRole: "ROLE_VIEWER",
      state: "serving",
    });
    expect(await (await t.client("operator")).call<HealthResponse__Output>("Health", {})).toMatchObject({
      callerIdentity: "alice",
      callerRole: "ROLE_OPERATOR",
    });
  });
});

describe("errors, as the client sees them", () => {
  it.each<[string, string, object, number, string]>([
    [
      "a unit off the allow-list",
      "StopUnits",
      { operationId: "e-1", units: [{ name: "sshd" }] },
      3,
      "UNIT_NOT_ALLOWED",
    ],
    ["a malformed unit name", "StopUnits", { operationId: "e-2", units: [{ name: "a;b" }] }, 3, "INVALID_UNIT_NAME"],
    ["no operation id", "StartUnits", { units: [{ name: "kubelet" }] }, 3, "INVALID_REQUEST"],
    ["an etcd timeout above the maximum", "EtcdStatus", { timeoutMs: 3_600_000 }, 3, "INVALID_REQUEST"],
    ["a probe timeout above the maximum", "ProbeComponents", { timeoutMs: 3_600_000 }, 3, "INVALID_REQUEST"],
    ["a power-off delay above a minute", "PowerOff", { operationId: "e-3", delayMs: 120_000 }, 3, "INVALID_REQUEST"],
    ["an unknown pod scope", "StopPodSandboxes", { operationId: "e-4", scope: 42 }, 3, "INVALID_REQUEST"],
  ])("%s (%s) is refused", async (_what, method, req, grpcCode, code) => {
    await expect((await t.client("operator")).call(method, req)).rejects.toMatchObject({ grpcCode, code });
  });

  it("an operation id reused for another request is ALREADY_EXISTS; another operator's same id is theirs", async () => {
    const alice = await t.client("operator");
    const bob = await t.client("operator2");
    const a = await alice.call<UnitsResult__Output>("StopUnits", {
      operationId: "shared-id",
      units: [{ name: "etcd" }],
    });
    expect(a).toMatchObject({ ok: true, replayed: false });
    // The same units with another settle timeout (a resumed step asks with the time it has left): the same request.
    const resumed = await alice.call<UnitsResult__Output>("StopUnits", {
      operationId: "shared-id",
      units: [{ name: "etcd", settleTimeoutMs: 1234 }],
    });
    expect(resumed).toMatchObject({ ok: true, replayed: true });
    await expect(
      alice.call("StopUnits", { operationId: "shared-id", units: [{ name: "kubelet" }] }),
    ).rejects.toMatchObject({ grpcCode: 6, code: "OPERATION_ID_CONFLICT" });
    // Bob's "shared-id" is his own: no conflict, and not Alice's recorded result.
    const b = await bob.call<UnitsResult__Output>("StartUnits", {
      operationId: "shared-id",
      units: [{ name: "etcd" }],
    });
    expect(b).toMatchObject({ ok: true, replayed: false });
    expect(b.outcomes[0]?.outcome).toBe("OUTCOME_DONE");
    expect(t.manager.calls).toEqual(["stop etcd.service", "start etcd.service"]);
  });

  it("an unexpected failure is INTERNAL, without its message, and logged", async () => {
    const manager = new FakeUnitManager(["kubelet.service"]);
    manager.setEnabled = () => Promise.reject(new TypeError("secret detail from deep inside"));
    const states = manager.states.bind(manager);
    let fail = false;
    manager.states = (u) => (fail ? Promise.reject(new RangeError("another secret")) : states(u));
    const a = await startTestAgent({ pki, manager });
    try {
      const op = await a.client("operator");
      fail = true;
      const err = (await op.call("GetStatus", {}).catch((e: unknown) => e)) as { grpcCode: number; details: string };
      expect(err.grpcCode).toBe(13);
      expect(err.details).not.toContain("secret");
      expect(a.logs.some((l) => l.msg === "read call failed" && JSON.stringify(l).includes("another secret"))).toBe(
        true,
      );
    } finally {
      await a.stop(true);
    }
  });
});

describe("the operation fence, over the wire", () => {
  const older = { op: "20261201T060000-cluster-stop-lab-aaaa", epoch: 1_796_104_800_000 };
  const newer = { op: "20261201T060100-cluster-start-lab-bbbb", epoch: 1_796_104_860_000 };
  const stamped = (s: OperationStamp) => stampMetadata(new Metadata(), s);
  const kubelet = (operationId: string) => ({ operationId, units: [{ name: "kubelet" }] });

  it("refuses a change of an operation older than the newest that changed the node, for every caller, across a restart", async () => {
    const a = await startTestAgent({ pki, units: ["kubelet.service"] });
    let root = a.root;
    try {
      const alice = await a.client("operator");
      await alice.call("StopUnits", kubelet(`${older.op}.1`), 10_000, stamped(older));
      await alice.call("StartUnits", kubelet(`${newer.op}.1`), 10_000, stamped(newer));
      // The older operation's recorded change is answered from its record: nothing acts.
      const replay = await alice.call<UnitsResult__Output>(
        "StopUnits",
        kubelet(`${older.op}.1`),
        10_000,
        stamped(older),
      );
      expect(replay).toMatchObject({ ok: true, replayed: true });
      // A new change of the older operation is refused, whoever sends it; so is a malformed stamp.
      for (const who of ["operator", "operator2"] as const) {
        await expect(
          (await a.client(who)).call("StopUnits", kubelet(`${older.op}.2`), 10_000, stamped(older)),
        ).rejects.toMatchObject({ grpcCode: 9, code: "SUPERSEDED" });
      }
      const bad = new Metadata();
      bad.set(OPERATION_METADATA.epoch, "yesterday");
      await expect(alice.call("StopUnits", kubelet("bad.1"), 10_000, bad)).rejects.toMatchObject({
        code: "INVALID_REQUEST",
      });
      expect(a.manager.calls).toEqual(["stop kubelet.service", "start kubelet.service"]);
      const refused = a.logs.filter((l) => l.audit === true && l.code === "SUPERSEDED");
      expect(refused.map((l) => [l.caller, l.op])).toEqual([
        ["alice", `${older.op}.2`],
        ["bob", `${older.op}.2`],
      ]);
      // After a restart the fence holds; a change without a stamp (an older coordinator) goes through.
      await a.stop();
      const b = await startTestAgent({ pki, root, units: ["kubelet.service"] });
      root = b.root;
      try {
        const again = await b.client("operator");
        await expect(again.call("StopUnits", kubelet(`${older.op}.3`), 10_000, stamped(older))).rejects.toMatchObject({
          code: "SUPERSEDED",
        });
        await expect(again.call<UnitsResult__Output>("StopUnits", kubelet("unstamped.1"))).resolves.toMatchObject({
          ok: true,
        });
        expect(b.manager.calls).toEqual(["stop kubelet.service"]);
      } finally {
        await b.stop();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("bounds on what is in flight", () => {
  let slow: Server;
  let port: number;
  beforeAll(async () => {
    // A control plane that takes its time: each probe holds a read in flight for 800 ms.
    slow = createHttpServer((_q, res) => setTimeout(() => res.end("ok"), 800));
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    port = (slow.address() as AddressInfo).port;
  });
  afterAll(() => {
    slow.close();
  });

  it("refuses a client's reads beyond its bound and a role's beyond the role's, never the other role's", async () => {
    const a = await startTestAgent({
      pki,
      units: ["kubelet.service"],
      config: {
        limits: { readsPerClient: 2, readsPerRole: 3 },
        kubernetes: { kubeletHealthzPort: port },
        probes: { timeoutMs: 5000 },
      },
    });
    try {
      const victor = await a.client("viewer");
      const grafana = await a.client("viewer2");
      const alice = await a.client("operator");
      const probe = (c: typeof victor) =>
        c.call("ProbeComponents", {}).then(
          () => "ok",
          (e: { code: string }) => e.code,
        );
      const first = [probe(victor), probe(victor)];
      await new Promise((r) => setTimeout(r, 200));
      // Victor has 2 in flight: the most one client may have.
      expect(await probe(victor)).toBe("RESOURCE_EXHAUSTED");
      const third = probe(grafana);
      await new Promise((r) => setTimeout(r, 200));
      // Viewers have 3 in flight in all: grafana's second is refused, an operator's read is not.
      expect(await probe(grafana)).toBe("RESOURCE_EXHAUSTED");
      const t0 = Date.now();
      expect((await alice.call<HealthResponse__Output>("Health", {})).state).toBe("serving");
      expect(Date.now() - t0).toBeLessThan(500);
      expect(await Promise.all([...first, third])).toEqual(["ok", "ok", "ok"]);
      // All answered: room again.
      expect(await probe(victor)).toBe("ok");
    } finally {
      await a.stop(true);
    }
  });

  it("refuses a client's streams beyond its bound", async () => {
    const a = await startTestAgent({ pki, units: ["kubelet.service"], config: { limits: { streamsPerClient: 1 } } });
    try {
      const victor = await a.client("viewer");
      const first = victor.raw.WatchStatus({ intervalMs: 60_000 });
      await new Promise((resolve) => first.once("data", resolve));
      const second = victor.raw.WatchStatus({ intervalMs: 60_000 });
      const err = await new Promise<{ code?: number; metadata?: { get(k: string): unknown[] } }>((resolve) =>
        second.on("error", resolve),
      );
      expect(err.code).toBe(8);
      expect(err.metadata?.get("kubecycle-error-code")[0]).toBe("RESOURCE_EXHAUSTED");
      first.on("error", () => undefined);
      first.cancel();
      // Its slot is free again once the first stream is gone.
      await new Promise((r) => setTimeout(r, 300));
      const third = victor.raw.WatchStatus({ intervalMs: 60_000 });
      third.on("error", () => undefined);
      await new Promise((resolve) => third.once("data", resolve));
      third.cancel();
    } finally {
      await a.stop(true);
    }
  });

  it("an operator's call answers within 100 ms while 500 viewer reads and 64 watch streams run", async () => {
    const a = await startTestAgent({ pki, units: ["kubelet.service", "etcd.service", "containerd.service"] });
    await writeTree(a.root, {
      "etc/kubernetes/manifests/kube-apiserver.yaml": kubeadmApiserverYaml({ ip: "10.0.0.11", pki: "/p" }),
    });
    // 8 viewer certificates, 8 streams each (the per-client bound), 64 in all (the viewers' bound).
    const viewers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        pki.ca.issue(`flood-viewer-${i}`, { subject: `/O=kubecycle:viewer/CN=flood-viewer-${i}` }),
      ),
    );
    const worker = new Worker(new URL("./testing/viewer-flood.mjs", import.meta.url), {
      workerData: {
        address: a.address,
        proto: agentProtoPath(),
        ca: await readFile(pki.ca.caCert),
        viewers: await Promise.all(
          viewers.map(async (v) => ({ cert: await readFile(v.cert), key: await readFile(v.key) })),
        ),
        streams: 64,
        reads: 500,
      },
    });
    const next = () => new Promise<Record<string, unknown>>((resolve) => worker.once("message", resolve));
    try {
      const operator = await a.client("operator");
      const time = async () => {
        const t0 = performance.now();
        await operator.call("Health", {});
        return performance.now() - t0;
      };
      for (let i = 0; i < 5; i++) await time();
      expect(await next()).toEqual({ streaming: 64 });
      const readsBefore = a.manager.stateReads;
      const flooded = next();
      worker.postMessage("flood");
      const latencies: number[] = [];
      let done = false;
      void flooded.then(() => (done = true));
      // An operator's calls all through the flood, one after another.
      while (!done || latencies.length < 5) latencies.push(await time());
      const { counts } = (await flooded) as { counts: Record<string, number> };
      // Every viewer read was answered or refused at once for lack of room; none was left waiting.
      expect(Object.keys(counts).sort()).toEqual(
        Object.keys(counts)
          .filter((k) => k === "ok" || k === "RESOURCE_EXHAUSTED")
          .sort(),
      );
      expect(counts.ok ?? 0).toBeGreaterThan(0);
      const sorted = [...latencies].sort((x, y) => x - y);
      const median = sorted[Math.floor(sorted.length / 2)] ?? Number.POSITIVE_INFINITY;
      // Within 100 ms as a rule (the median: on a shared 2-core machine the scheduler alone adds outliers), and never
      // waiting for the viewers: before the bounds and the shared systemctl show, it waited 30 s and more.
      expect(
        median,
        `operator latencies during the flood: ${sorted.map((l) => l.toFixed(0)).join(" ")} ms`,
      ).toBeLessThan(100);
      expect(sorted.at(-1)).toBeLessThan(5000);
      // The readers shared their systemctl shows: far fewer than the 500 reads and 64 streams.
      expect(a.manager.stateReads - readsBefore).toBeLessThan(20);
    } finally {
      worker.postMessage("stop");
      await worker.terminate();
      await a.stop(true);
    }
  });
});

describe("TLS", () => {
  const handshake = (opts: ConnectionOptions) =>
    new Promise<string>((resolve) => {
      const [host, p] = t.address.split(":");
      const s = connect({
        host,
        port: Number(p),
        servername: "localhost",
        ...opts,
      });
      s.once("secureConnect", () => {
        const what = `${s.getProtocol() ?? "?"} ${s.getCipher().name}`;
        s.destroy();
        resolve(what);
      });
      s.once("error", (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code ?? err.message}`));
    });
  let client: ConnectionOptions;
  beforeAll(async () => {
    client = {
      ca: await readFile(pki.ca.caCert),
      cert: await readFile(pki.clients.operator.cert),
      key: await readFile(pki.clients.operator.key),
      ALPNProtocols: ["h2"],
    };
  });

  it("speaks TLS 1.3, and TLS 1.2 with an AEAD suite", async () => {
    expect(await handshake(client)).toMatch(/^TLSv1\.3 TLS_/);
    expect(await handshake({ ...client, maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" })).toBe(
      "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256",
    );
    expect(await handshake({ ...client, maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-CHACHA20-POLY1305" })).toBe(
      "TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305",
    );
  });

  it.each([
    ["a CBC suite", { maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES128-SHA256" }],
    ["a CBC suite with SHA-1", { maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES256-SHA" }],
    ["TLS 1.1", { minVersion: "TLSv1.1", maxVersion: "TLSv1.1", ciphers: "DEFAULT:@SECLEVEL=0" }],
    ["only the P-384 curve", { maxVersion: "TLSv1.2", ecdhCurve: "P-384" }],
  ] as Array<[string, ConnectionOptions]>)("refuses %s at the handshake", async (_what, opts) => {
    expect(await handshake({ ...client, ...opts })).toMatch(/^refused: /);
  });
});
