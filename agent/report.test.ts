// The agent's reports to kubecycle serve, in the in-process tier: a real agent (startAgent) whose config names a
// serve endpoint, and a real Registry server on that port with real mTLS certificates. The agent serves at once
// while no serve answers; its start report arrives once one does; a unit change is reported; a server that is not
// serve (another certificate of the CA) never gets a report.
import { Server, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRegistryProto, mtlsServerCredentials, type BootReport__Output, type ReportAck } from "../shared/index.js";
import { createTestPki, startTestAgent, type TestPki } from "./testing/harness.js";
import { backoffMs } from "./report.js";

let dir: string;
let pki: TestPki;
let serveCert: { cert: string; key: string };
let impostorCert: { cert: string; key: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-report-"));
  pki = await createTestPki(dir);
  serveCert = await pki.ca.issue("serve", { subject: "/O=kubecycle:serve/CN=admin", san: ["IP:127.0.0.1"] });
  // Of our CA and with the right address, but an agent's: not the place for reports.
  impostorCert = await pki.ca.issue("impostor", { subject: "/O=kubecycle:agent/CN=node-9", san: ["IP:127.0.0.1"] });
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A Registry server on `port` that acknowledges every report and keeps them, with the caller's name. */
async function fakeServe(port: number, cert: { cert: string; key: string }) {
  const reports: Array<{ report: BootReport__Output; caller: string }> = [];
  const server = new Server();
  server.addService(loadRegistryProto().kubecycle.v1.Registry.service, {
    Report(call: ServerUnaryCall<BootReport__Output, ReportAck>, cb: sendUnaryData<ReportAck>) {
      const subject = call.getAuthContext()?.sslPeerCertificate?.subject as { CN?: string } | undefined;
      reports.push({ report: call.request, caller: subject?.CN ?? "" });
      cb(null, { receivedUnixMs: Date.now(), stored: true });
    },
    ListReports(_call: unknown, cb: sendUnaryData<never>) {
      cb({ code: 12 });
    },
  });
  const tls = {
    ca: await readFile(pki.ca.caCert),
    cert: await readFile(cert.cert),
    key: await readFile(cert.key),
  };
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, mtlsServerCredentials(tls), (err) => (err ? reject(err) : resolve())),
  );
  return { reports, stop: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

/** A port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      srv.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("backoff between tries", () => {
  it("doubles from the first pause up to the cap, half of it random", () => {
    const o = { initialMs: 1000, maxMs: 30_000 };
    expect(backoffMs(0, o, () => 0)).toBe(500);
    expect(backoffMs(0, o, () => 1)).toBe(1000);
    expect(backoffMs(3, o, () => 0)).toBe(4000);
    expect(backoffMs(3, o, () => 1)).toBe(8000);
    // Capped, however long the coordinator stays away.
    for (const attempt of [5, 6, 40, 10_000]) {
      expect(backoffMs(attempt, o, () => 1)).toBe(30_000);
      expect(backoffMs(attempt, o, () => 0)).toBe(15_000);
    }
  });
});

describe("reports to kubecycle serve", () => {
  it("serves at once while serve is down, reports its start once serve answers, then every unit change", async () => {
    const port = await freePort();
    const agent = await startTestAgent({
      pki,
      units: ["kubelet.service", "containerd.service"],
      config: {
        report: { endpoints: [`127.0.0.1:${port}`], initialBackoffMs: 100, maxBackoffMs: 400, heartbeatMs: 60_000 },
        status: { pollIntervalMs: 100 },
      },
    });
    try {
      // Nobody listens on the endpoint: the agent serves anyway.
      const op = await agent.client("operator");
      expect((await op.call<{ state: string }>("Health", {})).state).toBe("serving");
      await new Promise((r) => setTimeout(r, 600));
      expect(agent.agent.reporter.acknowledged).toBe(0);
      const serve = await fakeServe(port, serveCert);
      try {
        const first = await until("the start report", () => serve.reports[0]);
        expect(first.caller).toBe("node-1");
        expect(first.report).toMatchObject({
          nodeName: "node-1",
          reason: "REPORT_REASON_START",
          agentVersion: "0.1.0",
        });
        expect(first.report.bootId).not.toBe("");
        expect(first.report.facts?.bootId).toBe(first.report.bootId);
        expect(first.report.units.map((u) => u.name)).toContain("kubelet.service");
        // A unit changes: reported, with the new state.
        await agent.manager.setEnabled("kubelet.service", false);
        const change = await until("the unit-change report", () =>
          serve.reports.find((r) => r.report.reason === "REPORT_REASON_UNIT_CHANGE"),
        );
        expect(change.report.units.find((u) => u.name === "kubelet.service")?.unitFileState).toBe("disabled");
        expect(change.report.sequence).toBeGreaterThan(first.report.sequence);
        expect(change.report.agentInstance).toBe(first.report.agentInstance);
      } finally {
        await serve.stop();
      }
    } finally {
      await agent.stop(true);
    }
  }, 30_000);

  it("keeps trying for as long as serve is down without piling up listeners (one per try warned past ten)", async () => {
    const port = await freePort();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    const agent = await startTestAgent({
      pki,
      units: ["kubelet.service"],
      config: {
        report: { endpoints: [`127.0.0.1:${port}`], initialBackoffMs: 100, maxBackoffMs: 100, heartbeatMs: 60_000 },
      },
    });
    try {
      // Said on the first try and every tenth: the 21st try has been made.
      await until("twenty-one tries", () =>
        agent.logs.find((l) => l.msg === "no coordinator acknowledged the report" && l.attempt === 21),
      );
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.includes("MaxListenersExceeded"))).toEqual([]);
      expect(agent.agent.reporter.acknowledged).toBe(0);
    } finally {
      process.off("warning", onWarning);
      await agent.stop(true);
    }
  }, 30_000);

  it("sends nothing to a server that shows another certificate than serve's", async () => {
    const port = await freePort();
    const impostor = await fakeServe(port, impostorCert);
    const agent = await startTestAgent({
      pki,
      config: { report: { endpoints: [`127.0.0.1:${port}`], initialBackoffMs: 100, maxBackoffMs: 200 } },
    });
    try {
      await until("the agent's refusal in its log", () =>
        agent.logs.find((l) => l.msg === "no coordinator acknowledged the report"),
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(impostor.reports).toEqual([]);
      expect(JSON.stringify(agent.logs)).toContain("is not kubecycle serve's");
    } finally {
      await agent.stop(true);
      await impostor.stop();
    }
  }, 30_000);
});
