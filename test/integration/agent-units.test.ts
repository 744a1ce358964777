// The agent controlling a real systemd: systemd runs as PID 1 in its own namespaces, the agent runs inside it as
// kubecycle-agent.service from the repo's unit file, and the test drives it over mTLS from outside. Every outcome
// is checked independently, with `systemctl show` inside the node.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentConnection, createCa, issueAgentCert, issueClientCert } from "../../coordinator/index.js";
import { readTlsFiles } from "../../shared/index.js";
import { claimHostTargets, freePort, prepareAgent, releaseHostTargets } from "../lab/agent.js";
import { bootSystemdNode, cleanupStaleNodes, type SystemdNode } from "../lab/systemd-node.js";
import { TEST_UNITS, waitForAgent } from "./fixtures.js";

const NODE = "kc-it-units";
let node: SystemdNode;
let agent: AgentConnection;
let workDir: string;

beforeAll(async () => {
  await cleanupStaleNodes(NODE);
  workDir = await mkdtemp(join(tmpdir(), "kc-it-units-"));
  const pki = join(workDir, "pki");
  await createCa(pki);
  await issueAgentCert(pki, { node: NODE, ips: ["127.0.0.1"] });
  await issueClientCert(pki, { name: "alice", role: "operator" });
  const port = await freePort();
  const stateDir = join(workDir, "node");
  const { binds, unitFiles } = await prepareAgent({
    stateDir,
    nodeName: NODE,
    pkiDir: pki,
    listenAddress: "127.0.0.1",
    port,
    config: {
      units: {
        allow: ["kubelet", "etcd", "containerd", "docker", "cri-dockerd", "broken", "stubborn"],
        startStableMs: 300,
        journalLines: 20,
      },
      status: { pollIntervalMs: 200 },
      log: { level: "debug" },
    },
  });
  await claimHostTargets(binds);
  node = await bootSystemdNode({
    name: NODE,
    stateDir,
    binds,
    unitFiles: { ...unitFiles, ...TEST_UNITS },
    enable: ["kubecycle-agent.service", "kubelet.service", "etcd.service", "containerd.service", "sshd.service"],
  });
  const tls = await readTlsFiles({
    ca: join(pki, "ca.crt"),
    cert: join(pki, "clients", "alice.crt"),
    key: join(pki, "clients", "alice.key"),
  });
  agent = new AgentConnection({ node: NODE, address: `127.0.0.1:${port}`, tls });
  await waitForAgent(agent);
});

afterAll(async () => {
  agent?.close();
  await node?.shutdown();
  if (workDir) {
    await releaseHostTargets();
    await rm(workDir, { recursive: true, force: true });
  }
});

const ACTIVE_ENTER = "ActiveEnterTimestampMonotonic";
const INACTIVE_ENTER = "InactiveEnterTimestampMonotonic";

async function show(unit: string): Promise<Record<string, string>> {
  return node.show(unit, [
    "ActiveState",
    "SubState",
    "Result",
    "InvocationID",
    "UnitFileState",
    ACTIVE_ENTER,
    INACTIVE_ENTER,
  ]);
}

describe("agent unit control against a real systemd", () => {
  it("reports every allow-listed unit, including ones that do not exist here", async () => {
    const status = await agent.getStatus();
    expect(status.nodeName).toBe(NODE);
    expect(status.units.map((u) => u.name)).toEqual([
      "kubelet.service",
      "etcd.service",
      "containerd.service",
      "docker.service",
      "cri-dockerd.service",
      "broken.service",
      "stubborn.service",
    ]);
    const byName = new Map(status.units.map((u) => [u.name, u]));
    expect(byName.get("kubelet.service")).toMatchObject({ exists: true, activeState: "active", subState: "running" });
    expect(byName.get("docker.service")).toMatchObject({ exists: false, loadState: "not-found" });
    expect(status.facts?.hostname).toBe(NODE);
    expect(status.facts?.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(status.facts?.memoryTotalBytes).toBeGreaterThan(0);
    expect(status.facts?.uptimeSeconds).toBeGreaterThan(0);
  });

  it("fills in the slower facts (OS, kernel, CPU, disks, addresses) when asked to refresh", async () => {
    const status = await agent.getStatus({ refreshFacts: true }, { deadlineMs: 30_000 });
    expect(status.facts?.kernel).not.toBe("");
    expect(status.facts?.os).not.toBe("");
    expect(status.facts?.cpuCores).toBeGreaterThan(0);
    expect(status.facts?.factsCollectedUnixMs).toBeGreaterThan(0);
  });

  it("stops units in the order given, each verified inactive, and starts them again in order", async () => {
    const stop = await agent.stopUnits(
      { operationId: "it-stop-1", units: [{ name: "kubelet" }, { name: "etcd" }, { name: "containerd" }] },
      { deadlineMs: 60_000 },
    );
    expect(stop.ok).toBe(true);
    expect(stop.outcomes.map((o) => [o.unit, o.outcome])).toEqual([
      ["kubelet.service", "OUTCOME_DONE"],
      ["etcd.service", "OUTCOME_DONE"],
      ["containerd.service", "OUTCOME_DONE"],
    ]);
    const [k, e, c] = await Promise.all([show("kubelet.service"), show("etcd.service"), show("containerd.service")]);
    for (const s of [k, e, c]) expect(s.ActiveState).toBe("inactive");
    expect(Number(k?.[INACTIVE_ENTER])).toBeLessThan(Number(e?.[INACTIVE_ENTER]));
    expect(Number(e?.[INACTIVE_ENTER])).toBeLessThan(Number(c?.[INACTIVE_ENTER]));

    const start = await agent.startUnits(
      { operationId: "it-start-1", units: [{ name: "containerd" }, { name: "etcd" }, { name: "kubelet" }] },
      { deadlineMs: 60_000 },
    );
    expect(start.ok).toBe(true);
    expect(start.outcomes.map((o) => o.outcome)).toEqual(["OUTCOME_DONE", "OUTCOME_DONE", "OUTCOME_DONE"]);
    const [k2, e2, c2] = await Promise.all([show("kubelet.service"), show("etcd.service"), show("containerd.service")]);
    for (const s of [k2, e2, c2]) expect(s.ActiveState).toBe("active");
    expect(Number(c2?.[ACTIVE_ENTER])).toBeLessThan(Number(e2?.[ACTIVE_ENTER]));
    expect(Number(e2?.[ACTIVE_ENTER])).toBeLessThan(Number(k2?.[ACTIVE_ENTER]));
  });

  it("says ALREADY for a unit in the requested state, without touching it", async () => {
    const before = await show("kubelet.service");
    const res = await agent.startUnits({ operationId: "it-already-1", units: [{ name: "kubelet" }] });
    expect(res.outcomes[0]?.outcome).toBe("OUTCOME_ALREADY");
    expect((await show("kubelet.service")).InvocationID).toBe(before.InvocationID);
  });

  it("reports a unit that fails to start with its state and journal, and skips the rest", async () => {
    const res = await agent.startUnits(
      { operationId: "it-broken-1", units: [{ name: "broken", settleTimeoutMs: 10_000 }, { name: "kubelet" }] },
      { deadlineMs: 30_000 },
    );
    expect(res.ok).toBe(false);
    const [broken, skipped] = res.outcomes;
    expect(broken?.outcome).toBe("OUTCOME_FAILED");
    expect(broken?.state).toMatchObject({ activeState: "failed", result: "exit-code" });
    expect(broken?.journal.join("\n")).toContain("broken: cannot read /etc/broken.conf");
    expect(skipped).toMatchObject({ unit: "kubelet.service", outcome: "OUTCOME_SKIPPED" });
    expect((await show("broken.service")).ActiveState).toBe("failed");
  });

  it("times out a unit that does not stop within its deadline, with its state and journal", async () => {
    await node.systemctl("start", "stubborn.service");
    await node.waitFor("stubborn.service", (p) => p.ActiveState === "active", ["ActiveState"], 10_000);
    const t0 = Date.now();
    const res = await agent.stopUnits(
      { operationId: "it-stubborn-1", units: [{ name: "stubborn", settleTimeoutMs: 1500 }] },
      { deadlineMs: 30_000 },
    );
    const took = Date.now() - t0;
    expect(res.ok).toBe(false);
    expect(res.outcomes[0]?.outcome).toBe("OUTCOME_TIMED_OUT");
    expect(res.outcomes[0]?.state?.activeState).toBe("deactivating");
    expect(res.outcomes[0]?.journal.join("\n")).toContain("stubborn: ignoring SIGTERM");
    expect(took).toBeGreaterThanOrEqual(1500);
    expect(took).toBeLessThan(10_000);
    expect((await show("stubborn.service")).ActiveState).toBe("deactivating");
    await node.systemctl("kill", "--signal=SIGKILL", "stubborn.service");
    await node.waitFor("stubborn.service", (p) => p.ActiveState !== "deactivating", ["ActiveState"], 10_000);
  });

  it("reports a unit that does not exist, unless asked to ignore it", async () => {
    const res = await agent.stopUnits({ operationId: "it-missing-1", units: [{ name: "docker" }] });
    expect(res.ok).toBe(false);
    expect(res.outcomes[0]).toMatchObject({ unit: "docker.service", outcome: "OUTCOME_NOT_FOUND" });
    expect(res.outcomes[0]?.state?.exists).toBe(false);

    const ignored = await agent.stopUnits({
      operationId: "it-missing-2",
      units: [{ name: "cri-dockerd" }],
      ignoreMissing: true,
    });
    expect(ignored.ok).toBe(true);
    expect(ignored.outcomes[0]?.outcome).toBe("OUTCOME_MISSING_IGNORED");
  });

  it("starts a Type=notify unit without blocking on its readiness when asked", async () => {
    await node.systemctl("stop", "etcd.service");
    await node.exec(["touch", "/run/etcd-hold"]);
    const res = await agent.startUnits(
      { operationId: "it-noblock-1", units: [{ name: "etcd", settleTimeoutMs: 5000 }], noBlock: true },
      { deadlineMs: 30_000 },
    );
    expect(res.ok).toBe(true);
    expect(res.outcomes[0]?.outcome).toBe("OUTCOME_DONE");
    expect((await show("etcd.service")).ActiveState).toBe("activating");
    await node.exec(["rm", "/run/etcd-hold"]);
    await node.waitFor("etcd.service", (p) => p.ActiveState === "active", ["ActiveState"], 10_000);
  });

  it("enables and disables auto-start", async () => {
    const off = await agent.setAutoStart({ operationId: "it-auto-1", units: ["kubelet"], enabled: false });
    expect(off.outcomes[0]?.outcome).toBe("OUTCOME_DONE");
    expect((await show("kubelet.service")).UnitFileState).toBe("disabled");
    const on = await agent.setAutoStart({ operationId: "it-auto-2", units: ["kubelet"], enabled: true });
    expect(on.outcomes[0]?.outcome).toBe("OUTCOME_DONE");
    expect((await show("kubelet.service")).UnitFileState).toBe("enabled");
  });

  it("does not act twice on a repeated operation id, also after an agent restart", async () => {
    const first = await agent.stopUnits({ operationId: "it-once-1", units: [{ name: "kubelet" }] });
    expect(first).toMatchObject({ ok: true, replayed: false });
    expect((await show("kubelet.service")).ActiveState).toBe("inactive");

    // Someone starts kubelet again by hand; replaying the recorded stop must not stop it.
    await node.systemctl("start", "kubelet.service");
    const invocation = (await show("kubelet.service")).InvocationID;
    const replay = await agent.stopUnits({ operationId: "it-once-1", units: [{ name: "kubelet" }] });
    expect(replay.replayed).toBe(true);
    expect(replay.outcomes).toEqual(first.outcomes);
    expect(await show("kubelet.service")).toMatchObject({ ActiveState: "active", InvocationID: invocation });

    const agentPid = (await node.show("kubecycle-agent.service", ["MainPID"])).MainPID;
    await node.systemctl("restart", "kubecycle-agent.service");
    expect((await node.show("kubecycle-agent.service", ["MainPID"])).MainPID).not.toBe(agentPid);
    // The old agent drained and exited cleanly on SIGTERM (systemd recorded no failure).
    const log = await node.exec(["journalctl", "--no-pager", "-o", "cat", "-u", "kubecycle-agent.service"]);
    expect(log.stdout).toContain('"msg":"agent draining"');
    expect(log.stdout).toContain('"msg":"agent stopped"');
    expect(log.stdout).not.toMatch(/Main process exited, code=(exited|killed), status=[1-9]/);
    await waitForAgent(agent);
    const afterRestart = await agent.stopUnits({ operationId: "it-once-1", units: [{ name: "kubelet" }] });
    expect(afterRestart.replayed).toBe(true);
    expect(afterRestart.outcomes).toEqual(first.outcomes);
    expect(await show("kubelet.service")).toMatchObject({ ActiveState: "active", InvocationID: invocation });

    await expect(agent.stopUnits({ operationId: "it-once-1", units: [{ name: "etcd" }] })).rejects.toMatchObject({
      code: "OPERATION_ID_CONFLICT",
    });
  });

  it("streams status at once and again when a unit changes", async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    const stream = agent.watchStatus({ intervalMs: 60_000 }, ac.signal);
    try {
      const first = await stream.next();
      expect(first.done).toBe(false);
      const units = first.done ? [] : first.value.units;
      expect(units.find((u) => u.name === "kubelet.service")?.activeState).toBe("active");
      await node.systemctl("stop", "kubelet.service");
      for await (const status of stream) {
        const s = status.units.find((u) => u.name === "kubelet.service")?.activeState ?? "";
        seen.push(s);
        if (s === "inactive") break;
      }
      expect(seen).toContain("inactive");
    } finally {
      ac.abort();
      await node.systemctl("start", "kubelet.service");
    }
  });

  it("writes one audit line per mutating call", async () => {
    const journal = await node.exec(["journalctl", "--no-pager", "-o", "cat", "-u", "kubecycle-agent.service"]);
    const audits = journal.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.audit === true);
    const stop = audits.find((a) => a.op === "it-stop-1");
    expect(stop).toMatchObject({
      rpc: "StopUnits",
      caller: "alice",
      role: "operator",
      result: "ok",
      units: ["kubelet", "etcd", "containerd"],
    });
    expect(audits.filter((a) => a.op === "it-once-1").length).toBeGreaterThanOrEqual(3);
  });
});
