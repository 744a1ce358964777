// kubecycle serve in the fast tier: a real Registry server on a free port with real mTLS certificates from
// `kubecycle pki`, real gRPC clients presenting agents', operators', viewers' and another CA's certificates, and the
// state directory on disk. Who may report what, what is kept across a restart and a torn write, the metrics, and
// when the armed start on boot runs.
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { connect } from "node:tls";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadRegistryProto,
  readTlsFiles,
  type BootReport,
  type ReportAck__Output,
  type ReportList__Output,
  type TlsMaterial,
} from "../../shared/index.js";
import { compileCoordinatorConfig, type CompiledCoordinatorConfig } from "../config.js";
import { createCa, issueAgentCert, issueClientCert, issueServeCert } from "../pki/index.js";
import type { Inventory } from "../inventory.js";
import { Journal, readOperation, type OperationOrigin } from "../run/journal.js";
import { startServe, type RunningServe } from "./daemon.js";
import { SERVE_ORIGIN } from "./start-on-boot.js";
import { ReportStore } from "./store.js";

const quiet = pino({ level: "silent" });
let root: string;
let pki: string;
let tls: Record<"node1" | "node2" | "operator" | "viewer" | "foreignNode1", TlsMaterial>;

async function material(ca: string, cert: string): Promise<TlsMaterial> {
  return readTlsFiles({ ca, cert: `${cert}.crt`, key: `${cert}.key` });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kc-serve-"));
  pki = join(root, "pki");
  const other = join(root, "other-pki");
  await createCa(pki);
  await createCa(other, { commonName: "someone-else" });
  await Promise.all([
    issueAgentCert(pki, { node: "node-1", ips: ["127.0.0.1"] }),
    issueAgentCert(pki, { node: "node-2", ips: ["127.0.0.1"] }),
    issueServeCert(pki, { name: "admin", ips: ["127.0.0.1"] }),
    issueClientCert(pki, { name: "alice", role: "operator" }),
    issueClientCert(pki, { name: "victor", role: "viewer" }),
    issueAgentCert(other, { node: "node-1", ips: ["127.0.0.1"] }),
  ]);
  const ca = join(pki, "ca.crt");
  tls = {
    node1: await material(ca, join(pki, "agents/node-1")),
    node2: await material(ca, join(pki, "agents/node-2")),
    operator: await material(ca, join(pki, "clients/alice")),
    viewer: await material(ca, join(pki, "clients/victor")),
    // Another CA's agent certificate, presented to our serve (which trusts only ours).
    // The client trusts our CA for serve's certificate: only its own certificate is another CA's.
    foreignNode1: { ...(await material(join(other, "ca.crt"), join(other, "agents/node-1"))), ca: await readFile(ca) },
  };
}, 60_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function configIn(stateDir: string, withPage = false): CompiledCoordinatorConfig {
  const c = compileCoordinatorConfig(
    {
      cluster: "lab",
      stateDir,
      agents: { tls: { ca: "pki/ca.crt", cert: "pki/clients/alice.crt", key: "pki/clients/alice.key" } },
      serve: {
        listen: { address: "127.0.0.1", port: 1 },
        tls: { cert: "pki/serve/admin.crt", key: "pki/serve/admin.key" },
        ...(withPage ? { page: { probeMs: 500 } } : {}),
      },
    },
    { source: "test", baseDir: root, env: {} },
  );
  // Port 0 (any free port) is for tests only; the config refuses it.
  return {
    ...c,
    serve: c.serve && {
      ...c.serve,
      listen: { address: "127.0.0.1", port: 0 },
      metrics: { address: "127.0.0.1", port: 0 },
      // The status page has tests of its own (test/integration/status-page-sim.test.ts).
      page: withPage && c.serve.page ? { ...c.serve.page, port: 0 } : undefined,
    },
  };
}

async function serveIn(
  stateDir: string,
  runStart: (o: OperationOrigin) => Promise<void> = () => Promise.resolve(),
): Promise<RunningServe> {
  return startServe({ config: configIn(stateDir), log: quiet, runStart, pollMs: 100 });
}

function client(port: number, who: TlsMaterial) {
  const Registry = loadRegistryProto().kubecycle.v1.Registry;
  const c = new Registry(`127.0.0.1:${port}`, credentials.createSsl(who.ca, who.key, who.cert), {
    "grpc.ssl_target_name_override": "admin",
  });
  const call = <T>(method: "Report" | "ListReports", req: object) =>
    new Promise<T>((resolve, reject) => {
      const fn = c[method].bind(c) as (
        r: object,
        md: Metadata,
        o: { deadline: Date },
        cb: (err: ServiceError | null, res?: T) => void,
      ) => void;
      fn(req, new Metadata(), { deadline: new Date(Date.now() + 5000) }, (err, res) =>
        err ? reject(err) : resolve(res as T),
      );
    });
  return {
    report: (r: Partial<BootReport>) => call<ReportAck__Output>("Report", r),
    list: () => call<ReportList__Output>("ListReports", {}),
    close: () => c.close(),
  };
}

const report = (node: string, over: Partial<BootReport> = {}): BootReport => ({
  nodeName: node,
  bootId: "boot-a",
  bootedUnixMs: Date.now() - 60_000,
  agentVersion: "0.1.0",
  agentStartedUnixMs: Date.now() - 5000,
  agentInstance: "instance-1",
  sequence: 1,
  reason: "REPORT_REASON_START",
  collectedUnixMs: Date.now(),
  units: [{ name: "kubelet.service", exists: true, activeState: "inactive", unitFileState: "disabled" }],
  facts: { hostname: node, bootId: "boot-a", addresses: [{ interface: "eth0", address: "127.0.0.1", family: 4 }] },
  ...over,
});

async function codeOf(work: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await work;
  } catch (err) {
    return { code: (err as ServiceError).code, details: (err as ServiceError).details };
  }
  throw new Error("expected the call to fail");
}

describe("who may report what", () => {
  let serve: RunningServe;
  beforeAll(async () => {
    serve = await serveIn(join(root, "authz"));
  });
  afterAll(async () => {
    await serve.stop();
  });

  it("keeps an agent's report about its own node, and serves it to operators and viewers", async () => {
    const agent = client(serve.port, tls.node1);
    const ack = await agent.report(report("node-1"));
    expect(ack.stored).toBe(true);
    expect(ack.receivedUnixMs).toBeGreaterThan(0);
    for (const who of [tls.viewer, tls.operator]) {
      const reader = client(serve.port, who);
      const list = await reader.list();
      const kept = list.reports.find((k) => k.report?.nodeName === "node-1");
      expect(kept?.report?.bootId).toBe("boot-a");
      expect(kept?.report?.units[0]).toMatchObject({ name: "kubelet.service", unitFileState: "disabled" });
      expect(kept?.report?.facts?.addresses[0]?.address).toBe("127.0.0.1");
      reader.close();
    }
    agent.close();
  });

  it("refuses a node certificate claiming another node's name, and keeps nothing of it", async () => {
    const agent = client(serve.port, tls.node1);
    const r = await codeOf(agent.report(report("node-2", { bootId: "forged" })));
    expect(r.code).toBe(7); // PERMISSION_DENIED
    expect(r.details).toContain("the certificate of node node-1 may not report about node node-2");
    expect(serve.store.get("node-2")).toBeUndefined();
    agent.close();
  });

  it("refuses a certificate of another CA at the handshake", async () => {
    const foreign = client(serve.port, tls.foreignNode1);
    const r = await codeOf(foreign.report(report("node-1", { bootId: "foreign", sequence: 99 })));
    expect(r.code).toBe(14); // UNAVAILABLE: no TLS session
    expect(serve.store.get("node-1")?.report.bootId).toBe("boot-a");
    foreign.close();
  });

  it("refuses reports from operator and viewer certificates, and reads from agents' certificates", async () => {
    for (const who of [tls.operator, tls.viewer]) {
      const c = client(serve.port, who);
      const r = await codeOf(c.report(report("node-1", { bootId: "not-an-agent", sequence: 50 })));
      expect(r.code).toBe(7);
      expect(r.details).toContain("only an agent's certificate (O=kubecycle:agent) may report");
      c.close();
    }
    const agent = client(serve.port, tls.node2);
    expect((await codeOf(agent.list())).code).toBe(7);
    agent.close();
    expect(serve.store.get("node-1")?.report.bootId).toBe("boot-a");
  });

  it("keeps the newest report of a node: a retry of an older one, or a late one of an earlier agent process, is not", async () => {
    const agent = client(serve.port, tls.node2);
    const t = Date.now();
    expect((await agent.report(report("node-2", { sequence: 2, agentStartedUnixMs: t, bootId: "b2" }))).stored).toBe(
      true,
    );
    expect((await agent.report(report("node-2", { sequence: 1, agentStartedUnixMs: t, bootId: "b1" }))).stored).toBe(
      false,
    );
    // An earlier process of the agent (started before) retrying late.
    const late = report("node-2", { agentInstance: "old", sequence: 9, agentStartedUnixMs: t - 1000, bootId: "b0" });
    expect((await agent.report(late)).stored).toBe(false);
    // A new process of the agent (a restart, or a boot) wins whatever its number.
    const next = report("node-2", { agentInstance: "new", sequence: 1, agentStartedUnixMs: t + 1, bootId: "b3" });
    expect((await agent.report(next)).stored).toBe(true);
    expect(serve.store.get("node-2")?.report.bootId).toBe("b3");
    agent.close();
  });

  it("exposes the metrics: agents reporting, report age per node, reports by outcome", async () => {
    const text = await (await fetch(`http://127.0.0.1:${serve.metricsPort}/metrics`)).text();
    expect(text).toMatch(/^kubecycle_agents_reporting 2$/m);
    expect(text).toMatch(/^kubecycle_agent_last_report_age_seconds\{node="node-1"\} [\d.]+$/m);
    expect(text).toMatch(/^kubecycle_reports_total\{outcome="refused"\} [3-9]$/m);
    expect(text).toMatch(/^kubecycle_reports_total\{outcome="duplicate"\} 2$/m);
    expect(text).toContain("kubecycle_serve_process_resident_memory_bytes");
    expect((await fetch(`http://127.0.0.1:${serve.metricsPort}/other`)).status).toBe(404);
  });
});

describe("kept durably", () => {
  it("has every acknowledged report after a restart, also with a torn last line and across compactions", async () => {
    const dir = join(root, "durable");
    let serve = await serveIn(dir);
    const agents = { "node-1": client(serve.port, tls.node1), "node-2": client(serve.port, tls.node2) };
    // Enough reports for a few compactions (every 1000 lines and more).
    let seq = 0;
    for (let round = 0; round < 700; round++) {
      seq += 1;
      await Promise.all(
        (["node-1", "node-2"] as const).map((n) =>
          agents[n].report(report(n, { sequence: seq, bootId: `${n}-${seq}` })),
        ),
      );
    }
    for (const a of Object.values(agents)) a.close();
    // No clean stop: the store is read back as a SIGKILL leaves it (every acknowledged line was fsynced).
    const store = await ReportStore.open(join(dir, "serve"), quiet);
    expect(store.get("node-1")?.report.bootId).toBe(`node-1-${seq}`);
    expect(store.get("node-2")?.report.bootId).toBe(`node-2-${seq}`);
    expect((await stat(join(dir, "serve/reports.json"))).size).toBeGreaterThan(0);
    await store.close();
    await serve.stop();
    // A write cut short leaves half a line at the end: ignored, everything before it kept.
    await appendFile(join(dir, "serve/reports.jsonl"), '{"report":{"nodeName":"node-1","bootId":"torn');
    serve = await serveIn(dir);
    expect(serve.store.get("node-1")?.report.bootId).toBe(`node-1-${seq}`);
    const reader = client(serve.port, tls.viewer);
    expect((await reader.list()).reports.map((k) => k.report?.bootId)).toEqual([`node-1-${seq}`, `node-2-${seq}`]);
    reader.close();
    await serve.stop();
  }, 60_000);
});

describe("the start armed on boot", () => {
  const stopOp = "20260101T000000-cluster-stop-lab-aaaa";
  const inventory = {
    source: "api",
    nodes: ["node-1", "node-2"].map((name) => ({ name, address: "127.0.0.1" })),
    etcd: { members: [] },
  } as unknown as Inventory;

  async function armedStateDir(name: string, stopResult: "succeeded" | "failed"): Promise<string> {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    const plan = {
      version: 1 as const,
      procedure: "cluster stop",
      target: "lab",
      phases: [
        {
          name: "power-off",
          title: "Power the nodes off",
          steps: ["node-1", "node-2"].map((n) => ({
            id: `power-off/power-off/${n}`,
            node: n,
            action: { kind: "power-off" as const, delayMs: 1000 },
            timeoutMs: 1000,
            check: "",
          })),
        },
      ],
    };
    const j = await Journal.create(dir, stopOp, plan, inventory);
    for (const s of plan.phases[0]?.steps ?? []) {
      await j.append({ type: "step-started", step: s.id, phase: "power-off", node: s.node });
      await j.append({ type: "step-succeeded", step: s.id, evidence: {} });
    }
    await j.append({ type: "operation-finished", result: stopResult });
    await j.close();
    await writeFile(
      join(dir, "cluster-record.json"),
      JSON.stringify({
        version: 1,
        op: stopOp,
        cluster: "lab",
        recordedAt: new Date().toISOString(),
        bootHold: true,
        poweroff: true,
        startOnBoot: true,
        inventory,
        adminCordoned: [],
        enablement: {},
        bootIds: { "node-1": "old-1", "node-2": "old-2" },
      }),
    );
    return dir;
  }

  /** A start as runStart would journal it: with serve as its origin. */
  function journalingStart(dir: string, calls: string[]) {
    return async (origin: { by: string; why: string }) => {
      calls.push(origin.why);
      const plan = { version: 1 as const, procedure: "cluster start", target: "lab", phases: [] };
      const j = await Journal.create(
        dir,
        `20260101T010000-cluster-start-lab-${String(calls.length).padStart(4, "0")}`,
        plan,
        inventory,
        origin,
      );
      await j.append({ type: "operation-finished", result: "succeeded" });
      await j.close();
    };
  }

  it("runs the start once, and only after every recorded node reported from a new boot", async () => {
    const dir = await armedStateDir("armed", "succeeded");
    const calls: string[] = [];
    const serve = await serveIn(dir, journalingStart(dir, calls));
    const n1 = client(serve.port, tls.node1);
    const n2 = client(serve.port, tls.node2);
    await serve.evaluate();
    expect(serve.startOnBoot()).toMatchObject({ state: "waiting", reported: [] });
    // A late report from the boot that was stopped does not count.
    await n1.report(report("node-1", { bootId: "old-1" }));
    await serve.evaluate();
    const waiting = serve.startOnBoot();
    expect(waiting.state === "waiting" && waiting.missing.map((m) => m.node)).toEqual(["node-1", "node-2"]);
    await n1.report(report("node-1", { bootId: "new-1", sequence: 2 }));
    await serve.evaluate();
    expect(serve.startOnBoot()).toMatchObject({ state: "waiting", reported: ["node-1"] });
    // status's view: the node still missing, since its power-off.
    const list = await client(serve.port, tls.viewer).list();
    expect(list.startOnBoot).toMatchObject({ state: "waiting", stopOperation: stopOp, reported: ["node-1"] });
    expect(list.startOnBoot?.missing.map((m) => m.nodeName)).toEqual(["node-2"]);
    expect(list.startOnBoot?.missing[0]?.sinceUnixMs).toBeGreaterThan(0);
    expect(calls).toEqual([]);
    await n2.report(report("node-2", { bootId: "new-2" }));
    await waitUntil(() => serve.startOnBoot().state === "started");
    await serve.evaluate();
    await serve.evaluate();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toContain(`armed by cluster stop ${stopOp}`);
    // The journal says who began it and why (what `ops show` prints).
    const start = await readOperation(dir, "20260101T010000-cluster-start-lab-0001");
    expect(start.origin).toMatchObject({ by: SERVE_ORIGIN });
    expect(start.origin?.why).toContain("every recorded node (2) reported from a new boot");
    const text = await (await fetch(`http://127.0.0.1:${serve.metricsPort}/metrics`)).text();
    expect(text).toMatch(/^kubecycle_operations_total\{procedure="cluster start",result="succeeded"\} 1$/m);
    n1.close();
    n2.close();
    await serve.stop();
    // A restarted serve does not run it again: the journal says it ran.
    const again = await serveIn(dir, journalingStart(dir, calls));
    await again.evaluate();
    expect(again.startOnBoot().state).toBe("started");
    expect(calls).toHaveLength(1);
    await again.stop();
  }, 30_000);

  it("does not arm when the stop did not finish, nor when someone started the cluster by hand", async () => {
    const dir = await armedStateDir("unfinished", "failed");
    const calls: string[] = [];
    const serve = await serveIn(dir, journalingStart(dir, calls));
    for (const [n, c] of [
      ["node-1", tls.node1],
      ["node-2", tls.node2],
    ] as const) {
      const a = client(serve.port, c);
      await a.report(report(n, { bootId: `new-${n}` }));
      a.close();
    }
    await serve.evaluate();
    expect(serve.startOnBoot()).toMatchObject({ state: "waiting-for-stop" });
    expect(calls).toEqual([]);
    await serve.stop();

    const byHand = await armedStateDir("by-hand", "succeeded");
    const plan = { version: 1 as const, procedure: "cluster start", target: "lab", phases: [] };
    const j = await Journal.create(byHand, "20260101T000500-cluster-start-lab-bbbb", plan, inventory);
    await j.close();
    const s2 = await serveIn(byHand, journalingStart(byHand, calls));
    await s2.evaluate();
    expect(s2.startOnBoot()).toMatchObject({ state: "disarmed" });
    expect(calls).toEqual([]);
    await s2.stop();
  }, 30_000);

  it("keeps the cluster record as cluster stop wrote it", async () => {
    const dir = await armedStateDir("record", "succeeded");
    const before = await readFile(join(dir, "cluster-record.json"), "utf8");
    const serve = await serveIn(dir);
    await serve.evaluate();
    await serve.stop();
    expect(await readFile(join(dir, "cluster-record.json"), "utf8")).toBe(before);
  });
});

describe("its certificate", () => {
  /** The serial number of the certificate served on `port`, read in a handshake that presents Alice's certificate. */
  const servedSerial = (port: number) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(
        { host: "127.0.0.1", port, ...tls.operator, rejectUnauthorized: false, servername: "admin" },
        () => {
          const serial = socket.getPeerCertificate().serialNumber;
          socket.end();
          resolve(serial);
        },
      );
      socket.on("error", reject);
    });

  // Last in this file: it replaces the serve certificate the other cases use (the same name, addresses and CA).
  it("is reloaded without a restart once new files are in place: the Registry's and the page's new connections get it", async () => {
    const dir = join(root, "reload");
    await mkdir(dir, { recursive: true });
    const serve = await startServe({ config: configIn(dir, true), log: quiet, runStart: () => Promise.resolve() });
    try {
      const pagePort = serve.pagePort;
      if (pagePort === undefined) throw new Error("the status page is off");
      const before = await servedSerial(serve.port);
      expect(await servedSerial(pagePort)).toBe(before);
      // A new certificate for the same name and address, as `kubecycle pki serve admin --ip 127.0.0.1 --force` writes.
      await issueServeCert(pki, { name: "admin", ips: ["127.0.0.1"], force: true });
      const fresh = new X509Certificate(await readFile(join(pki, "serve/admin.crt"))).serialNumber;
      expect(fresh).not.toBe(before);
      let served = [before, before];
      const end = Date.now() + 10_000;
      while (served.some((s) => s !== fresh) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        served = await Promise.all([servedSerial(serve.port), servedSerial(pagePort)]);
      }
      expect(served).toEqual([fresh, fresh]);
      // And the Registry answers over the new identity.
      const viewer = client(serve.port, tls.viewer);
      await expect(viewer.list()).resolves.toMatchObject({ reports: [] });
      viewer.close();
    } finally {
      await serve.stop();
    }
  }, 30_000);
});

async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
