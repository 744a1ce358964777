import { execFile } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { connect, createServer, type TLSSocket } from "node:tls";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KubecycleError, roleFromSubject, type Role } from "../../shared/index.js";
import { createCa, issueAgentCert, issueClientCert } from "./index.js";

const run = promisify(execFile);
let dir: string;

beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), "kubecycle-pki-")), "pki");
});
afterEach(async () => {
  await rm(join(dir, ".."), { recursive: true, force: true });
});

async function cert(path: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(path));
}

/** The KubecycleError `work` rejects with. */
async function rejection(work: Promise<unknown>): Promise<KubecycleError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof KubecycleError) return err;
    throw err;
  }
  throw new Error("expected a KubecycleError, but it succeeded");
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

async function opensslVerify(ca: string, leaf: string, purpose: string): Promise<string> {
  const { stdout } = await run("openssl", ["verify", "-CAfile", ca, "-purpose", purpose, leaf]);
  return stdout.trim();
}

describe("createCa", () => {
  it("writes a self-signed P-256 CA with a private key only its owner can read", async () => {
    const files = await createCa(dir, { commonName: "lab-ca", days: 10 });
    expect(files).toEqual({ cert: join(dir, "ca.crt"), key: join(dir, "ca.key") });

    const ca = await cert(files.cert);
    expect(ca.ca).toBe(true);
    expect(ca.subject.split("\n")).toEqual(["CN=lab-ca", "O=kubecycle"]);
    expect(ca.checkIssued(ca)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(Date.parse(ca.validTo) - Date.parse(ca.validFrom)).toBe(10 * 86_400_000);
    expect(ca.checkPrivateKey(createPrivateKey(await readFile(files.key)))).toBe(true);

    expect(await mode(dir)).toBe(0o700);
    expect(await mode(files.key)).toBe(0o600);
    expect(await mode(files.cert)).toBe(0o644);
    expect((await readdir(dir)).sort()).toEqual(["ca.crt", "ca.key"]); // no temp dir left behind
  });

  it("refuses to replace an existing CA unless forced", async () => {
    const files = await createCa(dir);
    const before = await readFile(files.key, "utf8");
    const err = await rejection(createCa(dir));
    expect(err.code).toBe("ALREADY_EXISTS");
    expect(err.fields.hint).toContain("--force");
    expect(await readFile(files.key, "utf8")).toBe(before);

    await createCa(dir, { force: true });
    expect(await readFile(files.key, "utf8")).not.toBe(before);
    expect(await mode(files.key)).toBe(0o600);
  });

  it("rejects a common name that could smuggle fields into the subject", async () => {
    await expect(createCa(dir, { commonName: "x/O=kubecycle:operator" })).rejects.toMatchObject({
      code: "INVALID_REQUEST",
      fields: { field: "commonName" },
    });
  });

  it("names the package to install when openssl is missing", async () => {
    const err = await rejection(createCa(dir, { openssl: "/nonexistent/openssl" }));
    expect(err.code).toBe("PKI_FAILED");
    expect(err.fields.hint).toContain("apt-get install openssl");
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("issueAgentCert", () => {
  it("issues a server+client certificate for the node's names and addresses", async () => {
    const ca = await createCa(dir);
    const files = await issueAgentCert(dir, {
      node: "master-1",
      ips: ["10.0.0.11", "fd00::11"],
      dnsNames: ["master-1.lab.local"],
    });
    expect(files).toEqual({ cert: join(dir, "agents", "master-1.crt"), key: join(dir, "agents", "master-1.key") });

    const agent = await cert(files.cert);
    const caCert = await cert(ca.cert);
    expect(agent.subject.split("\n")).toEqual(["CN=master-1", "O=kubecycle:agent"]);
    expect(agent.subjectAltName?.split(", ")).toEqual([
      "DNS:master-1",
      "DNS:master-1.lab.local",
      "IP Address:10.0.0.11",
      "IP Address:FD00:0:0:0:0:0:0:11",
    ]);
    expect(agent.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]); // serverAuth, clientAuth
    expect(agent.ca).toBe(false);
    expect(agent.checkHost("master-1")).toBe("master-1");
    expect(agent.checkIP("10.0.0.11")).toBe("10.0.0.11");
    expect(agent.checkIssued(caCert)).toBe(true); // "this was issued by other"
    expect(agent.verify(caCert.publicKey)).toBe(true);
    expect(agent.checkPrivateKey(createPrivateKey(await readFile(files.key)))).toBe(true);
    expect(Date.parse(agent.validTo) - Date.parse(agent.validFrom)).toBe(365 * 86_400_000);
    expect(await opensslVerify(ca.cert, files.cert, "sslserver")).toBe(`${files.cert}: OK`);
    expect(await opensslVerify(ca.cert, files.cert, "sslclient")).toBe(`${files.cert}: OK`);

    expect(await mode(join(dir, "agents"))).toBe(0o700);
    expect(await mode(files.key)).toBe(0o600);
    expect(await mode(files.cert)).toBe(0o644);
    expect((await readdir(join(dir, "agents"))).sort()).toEqual(["master-1.crt", "master-1.key"]);
  });

  it("is not trusted under another CA", async () => {
    await createCa(dir);
    const files = await issueAgentCert(dir, { node: "n1", ips: ["10.0.0.1"] });
    const other = await createCa(join(dir, "other"));
    expect((await cert(files.cert)).verify((await cert(other.cert)).publicKey)).toBe(false);
  });

  it("refuses to overwrite unless forced", async () => {
    await createCa(dir);
    const first = await issueAgentCert(dir, { node: "n1", ips: ["10.0.0.1"] });
    const before = await readFile(first.cert, "utf8");
    await expect(issueAgentCert(dir, { node: "n1", ips: ["10.0.0.2"] })).rejects.toMatchObject({
      code: "ALREADY_EXISTS",
    });
    expect(await readFile(first.cert, "utf8")).toBe(before);
    await issueAgentCert(dir, { node: "n1", ips: ["10.0.0.2"], force: true });
    expect((await cert(first.cert)).checkIP("10.0.0.2")).toBe("10.0.0.2");
  });

  it.each([
    ["a bad IP", { node: "n1", ips: ["10.0.0.256"] }, "ips"],
    ["an IP with a zone", { node: "n1", ips: ["fe80::1%eth0"] }, "ips"],
    ["no IP", { node: "n1", ips: [] }, "ips"],
    ["an upper-case node name", { node: "Node1", ips: ["10.0.0.1"] }, "node"],
    ["a node name that is a path", { node: "../n1", ips: ["10.0.0.1"] }, "node"],
    ["a bad DNS name", { node: "n1", ips: ["10.0.0.1"], dnsNames: ["a_b"] }, "dnsNames"],
    ["zero days", { node: "n1", ips: ["10.0.0.1"], days: 0 }, "days"],
  ])("rejects %s", async (_, opts, field) => {
    await createCa(dir);
    await expect(issueAgentCert(dir, opts)).rejects.toMatchObject({ code: "INVALID_REQUEST", fields: { field } });
    expect(await readdir(dir)).not.toContain("agents");
  });

  it("asks for `pki init` when there is no CA", async () => {
    const err = await rejection(issueAgentCert(dir, { node: "n1", ips: ["10.0.0.1"] }));
    expect(err.code).toBe("PKI_FAILED");
    expect(err.fields.hint).toContain("kubecycle pki init");
  });

  it("leaves nothing behind when openssl fails halfway", async () => {
    const ca = await createCa(dir);
    await writeFile(ca.key, "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n");
    await expect(issueAgentCert(dir, { node: "n1", ips: ["10.0.0.1"] })).rejects.toMatchObject({
      code: "PKI_FAILED",
    });
    expect(await readdir(join(dir, "agents"))).toEqual([]);
  });
});

describe("issueClientCert", () => {
  it.each<Role>(["operator", "viewer"])(
    "issues a %s certificate the agents' authorization reads back",
    async (role) => {
      const ca = await createCa(dir);
      const files = await issueClientCert(dir, { name: "alice", role, days: 30 });
      expect(files).toEqual({ cert: join(dir, "clients", "alice.crt"), key: join(dir, "clients", "alice.key") });

      const client = await cert(files.cert);
      expect(client.subject.split("\n")).toEqual(["CN=alice", `O=kubecycle:${role}`]);
      expect(roleFromSubject({ CN: "alice", O: `kubecycle:${role}` })).toBe(role);
      expect(client.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]); // clientAuth only
      expect(client.subjectAltName).toBeUndefined();
      expect(client.checkIssued(await cert(ca.cert))).toBe(true);
      expect(await opensslVerify(ca.cert, files.cert, "sslclient")).toBe(`${files.cert}: OK`);
      await expect(opensslVerify(ca.cert, files.cert, "sslserver")).rejects.toThrow(/unsuitable certificate purpose/);
      expect(await mode(files.key)).toBe(0o600);
      expect(await mode(join(dir, "clients"))).toBe(0o700);
    },
  );

  it.each([
    ["an unknown role", { name: "alice", role: "admin" as Role }, "role"],
    ["a name that is a path", { name: "../alice", role: "viewer" as const }, "name"],
    ["a name with a slash", { name: "a/O=kubecycle:operator", role: "viewer" as const }, "name"],
  ])("rejects %s", async (_, opts, field) => {
    await createCa(dir);
    await expect(issueClientCert(dir, opts)).rejects.toMatchObject({ code: "INVALID_REQUEST", fields: { field } });
  });

  it("asks for `pki init` when there is no CA", async () => {
    const err = await rejection(issueClientCert(dir, { name: "alice", role: "operator" }));
    expect(err.code).toBe("PKI_FAILED");
    expect(err.fields.hint).toContain("kubecycle pki init");
  });
});

describe("the issued certificates", () => {
  it("carry an mTLS handshake to an agent by IP, and the server sees the client's role", async () => {
    const ca = await createCa(dir);
    const agent = await issueAgentCert(dir, { node: "n1", ips: ["127.0.0.1"] });
    const client = await issueClientCert(dir, { name: "alice", role: "operator" });
    const read = (p: string) => readFile(p);

    const server = createServer({
      ca: await read(ca.cert),
      cert: await read(agent.cert),
      key: await read(agent.key),
      requestCert: true,
      rejectUnauthorized: true,
    });
    const peer = once(server, "secureConnection") as Promise<[TLSSocket]>;
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const socket = connect({
        host: "127.0.0.1",
        port: (server.address() as AddressInfo).port,
        ca: await read(ca.cert),
        cert: await read(client.cert),
        key: await read(client.key),
      });
      await once(socket, "secureConnect");
      expect(socket.authorized).toBe(true);
      const [accepted] = await peer;
      expect(roleFromSubject(accepted.getPeerCertificate().subject)).toBe("operator");
      socket.destroy();
      accepted.destroy();
    } finally {
      server.close();
    }
  });
});
