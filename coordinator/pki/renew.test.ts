import { execFile } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type TLSSocket } from "node:tls";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KubecycleError, roleFromSubject } from "../../shared/index.js";
import {
  createCa,
  expiryState,
  issueAgentCert,
  issueClientCert,
  listPki,
  renewCa,
  renewCertificate,
  rolloutSteps,
} from "./index.js";

const run = promisify(execFile);
const DAY = 86_400_000;
let dir: string;

beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), "kubecycle-renew-")), "pki");
});
afterEach(async () => {
  await rm(join(dir, ".."), { recursive: true, force: true });
});

const cert = async (path: string) => new X509Certificate(await readFile(path));
const mode = async (path: string) => (await stat(path)).mode & 0o777;

async function rejection(work: Promise<unknown>): Promise<KubecycleError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof KubecycleError) return err;
    throw err;
  }
  throw new Error("expected a KubecycleError, but it succeeded");
}

async function opensslVerify(ca: string, leaf: string): Promise<string> {
  const { stdout } = await run("openssl", ["verify", "-CAfile", ca, leaf]);
  return stdout.trim();
}

/** A PKI directory: the CA (100 days), an agent (10 days), an operator (60 days), a viewer (10 days). */
async function pki() {
  await createCa(dir, { days: 100, commonName: "lab-ca" });
  const agent = await issueAgentCert(dir, {
    node: "master-1",
    ips: ["10.0.0.11", "fd00::11"],
    dnsNames: ["master-1.lab.local"],
    days: 10,
  });
  const operator = await issueClientCert(dir, { name: "alice", role: "operator", days: 60 });
  const viewer = await issueClientCert(dir, { name: "grafana", role: "viewer", days: 10 });
  return { agent, operator, viewer };
}

describe("listPki", { timeout: 30_000 }, () => {
  it("lists the CA, agents and clients with role and expiry, and any other certificate; not the old ones", async () => {
    await pki();
    // A serve certificate at the top, and one from another PKI, and a file kept aside by a renewal.
    const serve = await issueClientCert(dir, { name: "serve", role: "viewer", days: 60 });
    await writeFile(join(dir, "serve.crt"), await readFile(serve.cert));
    await rm(serve.cert);
    const other = join(dir, "..", "other");
    await createCa(other);
    const stranger = await issueClientCert(other, { name: "mallory", role: "operator" });
    await writeFile(join(dir, "clients", "mallory.crt"), await readFile(stranger.cert));
    await renewCertificate(dir, "grafana");

    const certs = await listPki(dir);
    expect(certs.map((c) => [c.name, c.kind, c.role, c.commonName, c.issuedByCa])).toEqual([
      ["ca", "ca", "ca", "lab-ca", true],
      ["serve", "other", "viewer", "serve", true],
      ["agents/master-1", "agent", "agent", "master-1", true],
      ["clients/alice", "client", "operator", "alice", true],
      ["clients/grafana", "client", "viewer", "grafana", true],
      ["clients/mallory", "client", "operator", "mallory", false],
    ]);
    const agent = certs[2];
    expect(agent?.dnsNames).toEqual(["master-1", "master-1.lab.local"]);
    expect(agent?.ips).toEqual(["10.0.0.11", "FD00:0:0:0:0:0:0:11"]);
    const now = Date.now();
    // grafana was renewed above for its old period: 10 days from now, still inside a 30-day window.
    expect(certs.map((c) => expiryState(c, now, 30 * DAY))).toEqual([
      "ok",
      "ok",
      "expiring",
      "ok",
      "expiring",
      "not-issued-by-ca",
    ]);
    expect(expiryState(certs[0]!, now + 101 * DAY, 0)).toBe("expired");
  });

  it("asks for the right --dir when there is no CA", async () => {
    const err = await rejection(listPki(dir));
    expect(err.code).toBe("PKI_FAILED");
    expect(err.fields.hint).toContain("--dir");
  });
});

describe("renewCertificate", { timeout: 30_000 }, () => {
  it("re-issues an agent's certificate: same subject and SANs, new key, new validity, the old pair kept aside", async () => {
    const { agent } = await pki();
    const before = await cert(agent.cert);
    const oldKey = await readFile(agent.key, "utf8");
    const oldCert = await readFile(agent.cert, "utf8");
    const r = await renewCertificate(dir, "master-1", { days: 20 });

    expect(r).toMatchObject({ name: "agents/master-1", kind: "agent", commonName: "master-1", files: agent });
    const after = await cert(agent.cert);
    expect(after.subject).toBe(before.subject);
    expect(after.subjectAltName).toBe(before.subjectAltName);
    expect(after.keyUsage).toEqual(before.keyUsage);
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.publicKey.equals(before.publicKey)).toBe(false);
    expect(after.checkPrivateKey(createPrivateKey(await readFile(agent.key)))).toBe(true);
    expect(Date.parse(after.validTo) - Date.parse(after.validFrom)).toBe(20 * DAY);
    expect(await opensslVerify(join(dir, "ca.crt"), agent.cert)).toBe(`${agent.cert}: OK`);
    // The old pair, byte for byte, in agents/old/, the key still 0600.
    expect(await readFile(r.aside.cert, "utf8")).toBe(oldCert);
    expect(await readFile(r.aside.key, "utf8")).toBe(oldKey);
    expect(r.aside.cert.startsWith(join(dir, "agents", "old", "master-1."))).toBe(true);
    expect(await mode(r.aside.key)).toBe(0o600);
    expect(await mode(agent.key)).toBe(0o600);
    expect((await readdir(join(dir, "agents"))).sort()).toEqual(["master-1.crt", "master-1.key", "old"]);
    expect(rolloutSteps(r).join("\n")).toMatch(/install -m 0600 .*master-1\.key \/etc\/kubecycle\/pki\/agent\.key/);
  });

  it.each([
    ["operator", "clients/alice", 60],
    ["viewer", "grafana", 10],
  ])(
    "re-issues a %s client certificate with the same role, for the old period by default",
    async (role, name, days) => {
      await pki();
      const r = await renewCertificate(dir, name);
      const after = await cert(r.files.cert);
      expect(
        roleFromSubject({
          O: after.subject
            .split("\n")
            .find((l) => l.startsWith("O="))
            ?.slice(2),
        }),
      ).toBe(role);
      expect(after.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
      expect(Date.parse(after.validTo) - Date.parse(after.validFrom)).toBe(days * DAY);
    },
  );

  it("refuses, changing nothing, when the CA expires before the new certificate would", async () => {
    const { agent } = await pki();
    const before = await readFile(agent.cert, "utf8");
    const err = await rejection(renewCertificate(dir, "master-1", { days: 365 }));
    expect(err.code).toBe("PKI_FAILED");
    expect(err.message).toMatch(/the CA expires on \d{4}-\d\d-\d\d, before a 365-day certificate would/);
    expect(err.fields.hint).toMatch(/kubecycle pki renew ca.*--days (99|100) or less/);
    expect(await readFile(agent.cert, "utf8")).toBe(before);
    expect(await readdir(join(dir, "agents"))).not.toContain("old");
  });

  it("is the same rule for issuing: no certificate that outlives its CA", async () => {
    await pki();
    const err = await rejection(issueClientCert(dir, { name: "bob", role: "viewer" }));
    expect(err.message).toMatch(/before a 365-day certificate would/);
    expect(await readdir(join(dir, "clients"))).not.toContain("bob.crt");
  });

  it("names what exists when a name is unknown or ambiguous, and never leaves the directory", async () => {
    await pki();
    await issueClientCert(dir, { name: "master-1", role: "viewer", days: 60 });
    expect((await rejection(renewCertificate(dir, "master-1"))).fields.hint).toContain("agents/master-1");
    expect((await rejection(renewCertificate(dir, "nobody"))).code).toBe("INVALID_REQUEST");
    expect((await rejection(renewCertificate(dir, "agents/../ca"))).code).toBe("INVALID_REQUEST");
    await renewCertificate(dir, "clients/master-1");
  });

  it("refuses a certificate of another CA", async () => {
    await pki();
    const other = join(dir, "..", "other");
    await createCa(other);
    const stranger = await issueClientCert(other, { name: "mallory", role: "operator" });
    await writeFile(join(dir, "clients", "mallory.crt"), await readFile(stranger.cert));
    await writeFile(join(dir, "clients", "mallory.key"), await readFile(stranger.key));
    const err = await rejection(renewCertificate(dir, "mallory"));
    expect(err.message).toMatch(/was not issued by the CA/);
  });
});

describe("renewCa", { timeout: 30_000 }, () => {
  it("renews the CA with its own key: certificates issued before stay valid under it, and the old ones under the new", async () => {
    const { agent, operator } = await pki();
    const oldCaPem = await readFile(join(dir, "ca.crt"));
    const oldCa = new X509Certificate(oldCaPem);
    const r = await renewCa(dir, { days: 3650 });
    const newCa = await cert(join(dir, "ca.crt"));
    expect(newCa.subject).toBe(oldCa.subject);
    expect(newCa.publicKey.equals(oldCa.publicKey)).toBe(true);
    expect(Date.parse(newCa.validTo)).toBeGreaterThan(Date.now() + 3649 * DAY);
    expect(await readFile(r.aside.cert)).toEqual(oldCaPem);
    expect(await opensslVerify(join(dir, "ca.crt"), operator.cert)).toBe(`${operator.cert}: OK`);

    // Now the agent can get a year; and a client that still trusts the old CA file talks to an agent serving the
    // renewed certificate with the new CA file, both ways, over a real mTLS socket.
    await renewCertificate(dir, "master-1", { days: 365 });
    const server = createServer({
      ca: await readFile(join(dir, "ca.crt")),
      cert: await readFile(agent.cert),
      key: await readFile(agent.key),
      requestCert: true,
      rejectUnauthorized: true,
    });
    const accepted = once(server, "secureConnection") as Promise<[TLSSocket]>;
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const socket = connect({
        host: "127.0.0.1",
        port: (server.address() as AddressInfo).port,
        servername: "master-1",
        ca: oldCaPem,
        cert: await readFile(operator.cert),
        key: await readFile(operator.key),
      });
      await once(socket, "secureConnect");
      expect(socket.authorized).toBe(true);
      const [peer] = await accepted;
      expect(roleFromSubject(peer.getPeerCertificate().subject)).toBe("operator");
      socket.destroy();
      peer.destroy();
    } finally {
      server.close();
    }
  });
});
