// Security of the agent, every case against the real agent in a real systemd node over real mTLS sockets: each bad
// request is refused with the right status, nothing runs (checked with systemctl in the node and in the agent's
// own debug log), and the agent keeps serving.
import { Client, credentials, status, type ChannelCredentials, type ServiceError } from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentConnection, createCa, issueAgentCert, issueClientCert } from "../../coordinator/index.js";
import { readTlsFiles, type TlsMaterial } from "../../shared/index.js";
import { claimHostTargets, freePort, prepareAgent, releaseHostTargets } from "../lab/agent.js";
import { bootSystemdNode, cleanupStaleNodes, type SystemdNode } from "../lab/systemd-node.js";
import { TEST_UNITS, waitForAgent } from "./fixtures.js";

const NODE = "kc-it-security";
let node: SystemdNode;
let workDir: string;
let address: string;
let pki: string;
let operator: AgentConnection;
let viewer: AgentConnection;
let operatorTls: TlsMaterial;
const WATCHED = ["kubelet.service", "sshd.service", "containerd.service"];
let baseline: Record<string, string>;

function tlsFor(dir: string, kind: "clients" | "agents", name: string): Promise<TlsMaterial> {
  return readTlsFiles({
    ca: join(pki, "ca.crt"),
    cert: join(dir, kind, `${name}.crt`),
    key: join(dir, kind, `${name}.key`),
  });
}

/** InvocationID and state of the watched units: any start, stop or restart changes it. */
async function unitsFingerprint(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const u of WATCHED) {
    const p = await node.show(u, ["ActiveState", "InvocationID"]);
    out[u] = `${p.ActiveState}/${p.InvocationID}`;
  }
  return out;
}

/** Sends raw bytes as a request to an agent method and returns the status code. */
async function rawCall(creds: ChannelCredentials, method: string, body: Buffer): Promise<number> {
  const client = new Client(address, creds, { "grpc.ssl_target_name_override": NODE });
  try {
    return await new Promise<number>((resolve) => {
      client.makeUnaryRequest(
        `/kubecycle.v1.Agent/${method}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        { deadline: new Date(Date.now() + 5000) },
        (err: ServiceError | null) => resolve(err ? err.code : status.OK),
      );
    });
  } finally {
    client.close();
  }
}

/** After every refusal: the agent still answers, and no watched unit was touched. */
async function expectNothingHappened(): Promise<void> {
  expect((await operator.health()).state).toBe("serving");
  expect(await unitsFingerprint()).toEqual(baseline);
}

beforeAll(async () => {
  await cleanupStaleNodes(NODE);
  workDir = await mkdtemp(join(tmpdir(), "kc-it-sec-"));
  pki = join(workDir, "pki");
  await createCa(pki);
  await issueAgentCert(pki, { node: NODE, ips: ["127.0.0.1"] });
  await issueClientCert(pki, { name: "alice", role: "operator" });
  await issueClientCert(pki, { name: "victor", role: "viewer" });
  const port = await freePort();
  address = `127.0.0.1:${port}`;
  const stateDir = join(workDir, "node");
  const { binds, unitFiles } = await prepareAgent({
    stateDir,
    nodeName: NODE,
    pkiDir: pki,
    listenAddress: "127.0.0.1",
    port,
    config: { log: { level: "debug" }, limits: { maxMessageBytes: 64 * 1024 } },
  });
  await claimHostTargets(binds);
  node = await bootSystemdNode({
    name: NODE,
    stateDir,
    binds,
    unitFiles: { ...unitFiles, ...TEST_UNITS },
    enable: ["kubecycle-agent.service", ...WATCHED],
  });
  operatorTls = await tlsFor(pki, "clients", "alice");
  operator = new AgentConnection({ node: NODE, address, tls: operatorTls });
  viewer = new AgentConnection({ node: NODE, address, tls: await tlsFor(pki, "clients", "victor") });
  await waitForAgent(operator);
  baseline = await unitsFingerprint();
  expect(Object.values(baseline).every((v) => v.startsWith("active/"))).toBe(true);
});

afterAll(async () => {
  operator?.close();
  viewer?.close();
  await node?.shutdown();
  if (workDir) {
    await releaseHostTargets();
    await rm(workDir, { recursive: true, force: true });
  }
});

describe("who may call", () => {
  it("refuses a client without a certificate at the handshake", async () => {
    expect(await rawCall(credentials.createSsl(operatorTls.ca), "Health", Buffer.alloc(0))).toBe(status.UNAVAILABLE);
    expect(await rawCall(credentials.createSsl(operatorTls.ca), "StopUnits", Buffer.alloc(0))).toBe(status.UNAVAILABLE);
    await expectNothingHappened();
  });

  it("refuses a certificate from another CA at the handshake", async () => {
    const other = join(workDir, "other-pki");
    await createCa(other, { commonName: "evil-ca" });
    await issueClientCert(other, { name: "mallory", role: "operator" });
    const mallory = await readTlsFiles({
      ca: join(pki, "ca.crt"), // trusts the agent, but presents a certificate the agent's CA did not sign
      cert: join(other, "clients", "mallory.crt"),
      key: join(other, "clients", "mallory.key"),
    });
    const conn = new AgentConnection({ node: NODE, address, tls: mallory });
    try {
      await expect(
        conn.stopUnits({ operationId: "sec-mallory", units: [{ name: "kubelet" }] }, { deadlineMs: 3000 }),
      ).rejects.toMatchObject({ code: "NODE_UNREACHABLE" });
    } finally {
      conn.close();
    }
    await expectNothingHappened();
  });

  it("lets a viewer read but not change anything", async () => {
    expect((await viewer.health()).callerRole).toBe("ROLE_VIEWER");
    expect((await viewer.getStatus()).units.length).toBeGreaterThan(0);
    const calls = [
      () => viewer.stopUnits({ operationId: "sec-viewer-1", units: [{ name: "kubelet" }] }),
      () => viewer.startUnits({ operationId: "sec-viewer-2", units: [{ name: "kubelet" }] }),
      () => viewer.setAutoStart({ operationId: "sec-viewer-3", units: ["kubelet"], enabled: false }),
    ];
    for (const call of calls) {
      await expect(call()).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    }
    expect((await node.show("kubelet.service", ["UnitFileState"])).UnitFileState).toBe("enabled");
    await expectNothingHappened();
  });

  it("refuses a certificate from our CA that grants no role (an agent's own)", async () => {
    const agentAsClient = new AgentConnection({ node: NODE, address, tls: await tlsFor(pki, "agents", NODE) });
    try {
      await expect(agentAsClient.health()).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
      await expect(
        agentAsClient.stopUnits({ operationId: "sec-agent-1", units: [{ name: "kubelet" }] }),
      ).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    } finally {
      agentAsClient.close();
    }
    await expectNothingHappened();
  });
});

describe("what may be asked", () => {
  it.each([
    ["sshd", "UNIT_NOT_ALLOWED"],
    ["sshd.service", "UNIT_NOT_ALLOWED"],
    ["kubelet;reboot", "INVALID_UNIT_NAME"],
    ["../etc/x", "INVALID_UNIT_NAME"],
    ["", "INVALID_UNIT_NAME"],
    ["k".repeat(300), "INVALID_UNIT_NAME"],
    ["-H", "INVALID_UNIT_NAME"],
  ])("refuses unit %j with %s and runs nothing", async (name, code) => {
    for (const call of [
      () => operator.stopUnits({ operationId: "sec-name", units: [{ name }] }),
      () => operator.startUnits({ operationId: "sec-name", units: [{ name }] }),
      () => operator.setAutoStart({ operationId: "sec-name", units: [name], enabled: false }),
    ]) {
      await expect(call()).rejects.toMatchObject({ code, fields: { rpc: expect.any(String), node: NODE } });
    }
    await expectNothingHappened();
  });

  it("refuses the whole call when one unit is bad, before touching the good ones", async () => {
    await expect(
      operator.stopUnits({ operationId: "sec-mixed", units: [{ name: "kubelet" }, { name: "sshd" }] }),
    ).rejects.toMatchObject({ code: "UNIT_NOT_ALLOWED" });
    await expectNothingHappened();
  });

  it.each([
    ["no operation id", { units: [{ name: "kubelet" }] }],
    ["an operation id with a slash", { operationId: "../../etc/passwd", units: [{ name: "kubelet" }] }],
    ["no units", { operationId: "sec-empty", units: [] }],
    [
      "a settle timeout above the maximum",
      { operationId: "sec-t", units: [{ name: "kubelet", settleTimeoutMs: 4_000_000_000 }] },
    ],
    ["too many units", { operationId: "sec-many", units: Array.from({ length: 17 }, () => ({ name: "kubelet" })) }],
    ["the same unit twice", { operationId: "sec-dup", units: [{ name: "kubelet" }, { name: "kubelet.service" }] }],
  ])("refuses %s with INVALID_REQUEST", async (_what, req) => {
    await expect(operator.stopUnits(req)).rejects.toMatchObject({ code: "INVALID_REQUEST" });
    await expectNothingHappened();
  });

  it("refuses a message over the size limit with RESOURCE_EXHAUSTED", async () => {
    await expect(
      operator.stopUnits({ operationId: "sec-big", units: [{ name: "k".repeat(100 * 1024) }] }),
    ).rejects.toMatchObject({ fields: { grpcCode: status.RESOURCE_EXHAUSTED } });
    await expectNothingHappened();
  });

  it("refuses random bytes as a request, and random bytes in the fields", async () => {
    const creds = credentials.createSsl(operatorTls.ca, operatorTls.key, operatorTls.cert);
    for (let i = 0; i < 20; i++) {
      // Undecodable bytes are INTERNAL by gRPC's own table; bytes that happen to decode fail validation.
      expect([status.INTERNAL, status.INVALID_ARGUMENT]).toContain(
        await rawCall(creds, "StopUnits", randomBytes(8 + i * 13)),
      );
    }
    for (let i = 0; i < 10; i++) {
      const junk = randomBytes(40).toString("latin1");
      await expect(operator.stopUnits({ operationId: junk, units: [{ name: "kubelet" }] })).rejects.toMatchObject({
        code: "INVALID_REQUEST",
      });
      await expect(operator.stopUnits({ operationId: `sec-junk-${i}`, units: [{ name: junk }] })).rejects.toMatchObject(
        {
          code: expect.stringMatching(/^(INVALID_UNIT_NAME|UNIT_NOT_ALLOWED)$/),
        },
      );
    }
    await expectNothingHappened();
  });

  it("never began a unit action for any refused call", async () => {
    const journal = await node.exec(["journalctl", "--no-pager", "-o", "cat", "-u", "kubecycle-agent.service"]);
    const lines = journal.stdout.split("\n").filter((l) => l.startsWith("{"));
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.filter((l) => l.msg === "unit action begins")).toEqual([]);
    // The refusals were audited.
    expect(parsed.filter((l) => l.audit === true && l.result === "refused").length).toBeGreaterThan(20);
    expect(parsed.find((l) => l.audit === true && l.caller === "victor")).toMatchObject({
      role: "viewer",
      code: "PERMISSION_DENIED",
    });
  });
});
