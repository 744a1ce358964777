// `kubecycle pki check`, `pki renew` and the certificate warnings of `status`, through the real CLI entry. The PKI is
// real (openssl, files); the agents are the simulated cluster's (test/sim: real gRPC over real mTLS on loopback),
// whose reported certificates the tests set. Fast tier: no root. Outcomes are checked in the files and in what the
// agents report, and the exit codes.
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { issueClientCert, main } from "../../coordinator/index.js";
import { startSimFixture, writeSimConfig, type SimFixture } from "../sim/fixture.js";
import { createSimPki, type SimPki } from "../sim/pki.js";
import { simClusterSpec } from "../sim/spec.js";

const DAY = 86_400_000;
const NODES = ["sim-master-1", "sim-worker-1"];

let work: string;
let pki: SimPki;
let sim: SimFixture;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "kc-pki-cli-"));
  pki = await createSimPki(join(work, "pki"), NODES);
  sim = await startSimFixture({ dir: join(work, "sim"), pki, spec: simClusterSpec({ masters: 1, workers: 1 }) });
}, 60_000);
afterAll(async () => {
  sim.close();
  await rm(work, { recursive: true, force: true });
});

async function kubecycle(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { PATH: process.env.PATH ?? "" },
    clusterApi: sim.api,
  });
  return { code, stdout, stderr };
}

/** The simulated agent's report of the certificate it serves. */
const served = (node: string, purpose = "kubecycle-agent") => {
  const c = sim.cluster.node(node).certificates.find((x) => x.purpose === purpose);
  if (!c) throw new Error(`${node} reports no ${purpose}`);
  return c;
};

/** Makes a simulated agent report exactly the certificate of `file` (as a real agent serving it would). */
async function serveFile(node: string, file: string) {
  const cert = new X509Certificate(await readFile(file));
  Object.assign(served(node), {
    subject: cert.subject.split("\n").join(", "),
    notBeforeUnixMs: Date.parse(cert.validFrom),
    notAfterUnixMs: Date.parse(cert.validTo),
  });
}

describe("kubecycle pki check", { timeout: 60_000 }, () => {
  it("lists every certificate with role and expiry; exit 0 inside the window, 1 and the renew command outside", async () => {
    const dir = pki.dir;
    const ok = await kubecycle("pki", "check", "--dir", dir);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ca +ca +CN=kubecycle-ca, O=kubecycle +\d{4}-\d\d-\d\d +36\d\d +ok$/m);
    expect(ok.stdout).toMatch(/^agents\/sim-master-1 +agent +CN=sim-master-1, O=kubecycle:agent .* ok$/m);
    expect(ok.stdout).toMatch(/^clients\/sim-operator +operator +/m);
    expect(ok.stdout).toMatch(/^clients\/sim-viewer +viewer +/m);
    expect(ok.stdout).toContain("all 5 certificates valid for more than 30d");

    // The same PKI with a window longer than the leaves' year: all four leaves named, with how to renew each.
    const late = await kubecycle("pki", "check", "--dir", dir, "--window", "400d", "-o", "json");
    expect(late.code).toBe(1);
    const data = JSON.parse(late.stdout) as { ok: boolean; certificates: Array<{ name: string; state: string }> };
    expect(data.ok).toBe(false);
    expect(data.certificates.map((c) => [c.name, c.state])).toEqual([
      ["ca", "ok"],
      ["agents/sim-master-1", "expiring"],
      ["agents/sim-worker-1", "expiring"],
      ["clients/sim-operator", "expiring"],
      ["clients/sim-viewer", "expiring"],
    ]);
    const text = await kubecycle("pki", "check", "--dir", dir, "--window", "400d");
    expect(text.stdout).toMatch(
      /^agents\/sim-worker-1: expires .* renew with `kubecycle pki renew agents\/sim-worker-1`$/m,
    );
    expect(text.stdout).toContain("4 need attention (window 400d)");
  });

  it("--agents: what each agent serves, whether it is the one in the directory, and its expiry counts", async () => {
    await serveFile("sim-master-1", join(pki.dir, "agents", "sim-master-1.crt"));
    // sim-worker-1 still serves an older certificate (the simulation's own), ending in 10 days.
    served("sim-worker-1").notAfterUnixMs = Date.now() + 10 * DAY;
    const r = await kubecycle("pki", "check", "--dir", pki.dir, "--agents", "-c", sim.config, "-o", "json");
    expect(r.code).toBe(1);
    const data = JSON.parse(r.stdout) as {
      agents: Array<{ node: string; agent: string; state: string; matchesDir: boolean; ca: Array<{ state: string }> }>;
    };
    expect(data.agents.map((a) => [a.node, a.agent, a.state, a.matchesDir, a.ca.map((c) => c.state)])).toEqual([
      ["sim-master-1", "ok", "ok", true, ["ok"]],
      ["sim-worker-1", "ok", "expiring", false, ["ok"]],
    ]);
    const text = await kubecycle("pki", "check", "--dir", pki.dir, "--agents", "-c", sim.config);
    expect(text.stdout).toContain("agent sim-worker-1 serves a certificate or CA that expires within the window");
    expect(text.stdout).toContain(`agent sim-worker-1 does not serve ${pki.dir}/agents/sim-worker-1.crt`);

    // Rolled out (the agent serves the directory's certificate): all fine again.
    await serveFile("sim-worker-1", join(pki.dir, "agents", "sim-worker-1.crt"));
    expect((await kubecycle("pki", "check", "--dir", pki.dir, "--agents", "-c", sim.config)).code).toBe(0);
  });
});

describe("kubecycle pki renew", { timeout: 60_000 }, () => {
  it("without names renews what expires within the window, keeps the old files, and says how to roll out", async () => {
    const dir = join(work, "renew-pki");
    expect((await kubecycle("pki", "init", "--dir", dir, "--days", "3650")).code).toBe(0);
    await kubecycle("pki", "agent", "node-1", "--ip", "10.0.0.1", "--dir", dir, "--days", "10");
    await kubecycle("pki", "agent", "node-2", "--ip", "10.0.0.2", "--dir", dir, "--days", "200");
    await kubecycle("pki", "client", "alice", "--role", "operator", "--dir", dir, "--days", "20");
    const before = new X509Certificate(await readFile(join(dir, "agents", "node-2.crt"))).fingerprint256;

    const r = await kubecycle("pki", "renew", "--dir", dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^renewed agents\/node-1 \(node-1\): valid until \d{4}-\d\d-\d\d/m);
    expect(r.stdout).toMatch(/^renewed clients\/alice \(alice\)/m);
    expect(r.stdout).not.toContain("node-2");
    expect(r.stdout).toContain("install -m 0600");
    expect(r.stdout).toContain("systemctl kill -s HUP kubecycle-agent");
    expect(await readdir(join(dir, "agents", "old"))).toHaveLength(2); // node-1's certificate and key
    expect(new X509Certificate(await readFile(join(dir, "agents", "node-2.crt"))).fingerprint256).toBe(before);
    // The renewed ones keep their period (10 and 20 days): inside 30 days, and renewed again when asked.
    expect((await kubecycle("pki", "check", "--dir", dir, "--window", "9d")).code).toBe(0);
    expect((await kubecycle("pki", "check", "--dir", dir)).code).toBe(1);

    const json = await kubecycle("pki", "renew", "node-2", "--dir", dir, "--days", "100", "-o", "json");
    const out = JSON.parse(json.stdout) as { renewed: Array<{ name: string; notAfter: string; rollout: string[] }> };
    expect(out.renewed.map((x) => x.name)).toEqual(["agents/node-2"]);
    expect(Date.parse(out.renewed[0]?.notAfter ?? "")).toBeGreaterThan(Date.now() + 99 * DAY);

    // The CA ends before a 5000-day certificate would: refused with the way out, nothing changed.
    const refused = await kubecycle("pki", "renew", "node-2", "--dir", dir, "--days", "5000");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/error: the CA expires on .* before a 5000-day certificate would/);
    expect(refused.stderr).toMatch(/hint: renew the CA first \(`kubecycle pki renew ca`.*--days 36\d\d or less/);
    expect(
      (
        JSON.parse((await kubecycle("pki", "check", "--dir", dir, "-o", "json")).stdout) as {
          certificates: Array<{ name: string; notAfter: string }>;
        }
      ).certificates.find((c) => c.name === "agents/node-2")?.notAfter,
    ).toBe(out.renewed[0]?.notAfter);

    const unknown = await kubecycle("pki", "renew", "nobody", "--dir", dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no agent or client certificate "nobody"');
  });
});

describe("kubecycle status warns of kubecycle certificates that expire within 30 days", { timeout: 60_000 }, () => {
  it("an agent's served certificate, and this coordinator's own; nothing when all are fine", async () => {
    await serveFile("sim-master-1", join(pki.dir, "agents", "sim-master-1.crt"));
    await serveFile("sim-worker-1", join(pki.dir, "agents", "sim-worker-1.crt"));
    // Generous call deadlines: status drops the certificates of an agent that answers late, and CI is busy.
    const base = parseYaml(await readFile(sim.config, "utf8")) as { cluster: string };
    const configFor = async (name: string, tls: { ca: string; cert: string; key: string }) => {
      const path = join(work, `${name}.yaml`);
      await writeSimConfig({
        path,
        cluster: base.cluster,
        port: sim.agents.port,
        tls,
        stateDir: sim.stateDir,
        agents: { callTimeoutMs: 8000, unreachableMs: 8000 },
      });
      return path;
    };
    const operatorConfig = await configFor("operator", pki.operator);
    const fine = await kubecycle("status", "-c", operatorConfig);
    expect(fine.stderr).toBe("");
    expect(fine.code).toBe(0);
    expect(fine.stdout).not.toContain("WARNING");

    served("sim-worker-1").notAfterUnixMs = Date.now() + 12 * DAY + 3_600_000;
    const short = await issueClientCert(pki.dir, { name: "short-lived", role: "viewer", days: 5 });
    const config = await configFor("short", { ca: pki.viewer.ca, ...short });
    const r = await kubecycle("status", "-c", config);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^WARNING: kubecycle agent certificate CN=sim-worker-1, O=kubecycle:agent \(sim-worker-1\) expires \d{4}-\d\d-\d\d \(in 12 days\): renew with `kubecycle pki renew agents\/sim-worker-1`$/m,
    );
    expect(r.stdout).toMatch(
      /^WARNING: kubecycle client certificate CN=short-lived, O=kubecycle:viewer \(this coordinator\) expires .* \(in 4 days\): renew with `kubecycle pki renew clients\/short-lived`$/m,
    );
    const json = JSON.parse((await kubecycle("status", "-c", config, "-o", "json")).stdout) as {
      certificateWarnings: Array<{ what: string; holders: string[]; daysLeft: number }>;
    };
    expect(json.certificateWarnings.map((w) => [w.what, w.holders, w.daysLeft]).sort()).toEqual([
      ["agent certificate", ["sim-worker-1"], 12],
      ["client certificate", ["this coordinator"], 4],
    ]);

    // The CA the agents serve, ending soon: one line naming every agent.
    for (const n of NODES) served(n, "kubecycle-ca").notAfterUnixMs = Date.now() + 20 * DAY + 3_600_000;
    const ca = await kubecycle("status", "-c", operatorConfig);
    expect(ca.stdout).toMatch(
      /^WARNING: kubecycle CA CN=kubecycle-ca, O=kubecycle \(sim-master-1, sim-worker-1\) expires .* \(in 20 days\): renew with `kubecycle pki renew ca`$/m,
    );
  });
});
