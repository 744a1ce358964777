import { X509Certificate } from "node:crypto";
import { copyFile, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  KubecycleError,
  checkIdentity,
  type CertificatesResult__Output,
  type HealthResponse__Output,
} from "../shared/index.js";
import { testClient } from "./testing/client.js";
import { createTestPki, startTestAgent, type TestAgent, type TestPki } from "./testing/harness.js";
import { opensslDate } from "./testing/pki.js";

let dir: string;
/** Two unrelated PKIs: the agent starts with A's; B stands for a new CA. */
let a: TestPki;
let b: TestPki;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-tls-reload-"));
  [a, b] = await Promise.all([createTestPki(join(dir, "a")), createTestPki(join(dir, "b"))]);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const material = async (files: { ca: string; cert: string; key: string }) => ({
  ca: await readFile(files.ca),
  cert: await readFile(files.cert),
  key: await readFile(files.key),
});

function refusal(fn: () => unknown): KubecycleError {
  try {
    fn();
  } catch (err) {
    if (err instanceof KubecycleError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("checkIdentity", () => {
  it("accepts a certificate, its key and the CA that issued it, also in a bundle of two CAs", async () => {
    const files = { ca: a.ca.caCert, ...a.agent };
    const id = checkIdentity(await material(files), files);
    expect(id.cert.subject).toContain("CN=node-1");
    const bundle = Buffer.concat([await readFile(b.ca.caCert), await readFile(a.ca.caCert)]);
    const both = checkIdentity({ ...(await material(files)), ca: bundle }, files);
    expect(both.cas.map((c) => c.subject)).toEqual(["CN=kubecycle-test-ca", "CN=kubecycle-test-ca"]);
    expect(both.digest).not.toBe(id.digest);
  });

  it.each([
    [
      "a key that is not the certificate's",
      () => ({ ca: a.ca.caCert, cert: a.agent.cert, key: b.agent.key }),
      "tls.key",
    ],
    ["a certificate of another CA", () => ({ ca: a.ca.caCert, cert: b.agent.cert, key: b.agent.key }), "tls.cert"],
    ["a CA file holding a leaf", () => ({ ca: a.clients.viewer.cert, cert: a.agent.cert, key: a.agent.key }), "tls.ca"],
    ["a key file that is no key", () => ({ ca: a.ca.caCert, cert: a.agent.cert, key: a.ca.caCert }), "tls.key"],
  ])("refuses %s, naming the file", async (_, files, field) => {
    const f = files();
    const m = await material(f);
    const e = refusal(() => checkIdentity(m, f));
    expect(e.code).toBe("CONFIG_INVALID");
    expect(e.fields.field).toBe(field);
  });

  it("refuses an expired certificate on reload, but serves it at start (logged) rather than not run", async () => {
    const old = await a.ca.issue("expired-agent", {
      subject: "/O=kubecycle:agent/CN=node-1",
      san: ["DNS:localhost", "IP:127.0.0.1"],
      startDate: opensslDate(new Date(Date.now() - 10 * 86_400_000)),
      endDate: opensslDate(new Date(Date.now() - 86_400_000)),
    });
    const files = { ca: a.ca.caCert, ...old };
    const m = await material(files);
    expect(refusal(() => checkIdentity(m, files)).message).toMatch(/expired on/);
    expect(checkIdentity(m, files, { allowExpired: true }).cert.subject).toContain("CN=node-1");
  });
});

/** Copies an identity into the agent's TLS directory: each file written beside its target, then renamed over it. */
async function install(tlsDir: string, files: { ca: string; cert: string; key: string }): Promise<void> {
  for (const [from, to] of [
    [files.ca, "ca.crt"],
    [files.cert, "agent.crt"],
    [files.key, "agent.key"],
  ] as const) {
    await copyFile(from, join(tlsDir, `.${to}.new`));
    await rename(join(tlsDir, `.${to}.new`), join(tlsDir, to));
  }
}

/**
 * The independent channel: a plain TLS handshake (no gRPC), trusting `ca` and presenting `client`. Resolves with
 * the fingerprint of the certificate the agent served, or rejects with the handshake's error.
 */
function handshake(address: string, ca: string, client: { cert: string; key: string }): Promise<string> {
  const [host, port] = address.split(":");
  return Promise.all([readFile(ca), readFile(client.cert), readFile(client.key)]).then(
    ([caPem, cert, key]) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({
          host,
          port: Number(port),
          ca: caPem,
          cert,
          key,
          servername: "localhost",
          ALPNProtocols: ["h2"],
        });
        socket.once("secureConnect", () => {
          const fp = socket.getPeerCertificate().fingerprint256;
          // TLS 1.3: the server checks the client's certificate after the client's handshake is done; an
          // answer from the server (its settings frame) or an error decides.
          socket.once("data", () => {
            socket.destroy();
            resolve(fp);
          });
          socket.write(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00", "latin1"));
        });
        socket.once("error", (err: Error) => {
          socket.destroy();
          reject(err);
        });
        socket.once("close", () => reject(new Error("the agent closed the connection")));
        socket.setTimeout(5000, () => socket.destroy(new Error("no answer in 5 s")));
      }),
  );
}

const fingerprint = async (cert: string) => new X509Certificate(await readFile(cert)).fingerprint256;

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the agent reloads its certificate, key and CA", () => {
  let t: TestAgent;
  let tlsDir: string;

  async function start(debounceMs = 200): Promise<void> {
    tlsDir = await mkdtemp(join(dir, "node-tls-"));
    await install(tlsDir, { ca: a.ca.caCert, ...a.agent });
    t = await startTestAgent({
      pki: a,
      tlsReloadDebounceMs: debounceMs,
      config: {
        tls: { ca: join(tlsDir, "ca.crt"), cert: join(tlsDir, "agent.crt"), key: join(tlsDir, "agent.key") },
      },
    });
  }

  const tlsLogs = (msg: RegExp) => t.logs.filter((l) => typeof l.msg === "string" && msg.test(l.msg));

  it("on SIGHUP's reload, a new CA: clients of the new CA connect, clients of the old one are refused", async () => {
    await start(60_000); // no file-change reload within this test: only the explicit one
    try {
      const before = await t.client("viewer");
      expect((await before.call<HealthResponse__Output>("Health", {})).state).toBe("serving");
      expect(await handshake(t.address, a.ca.caCert, a.clients.viewer)).toBe(await fingerprint(a.agent.cert));

      await install(tlsDir, { ca: b.ca.caCert, ...b.agent });
      expect(await t.agent.reloadTls("SIGHUP")).toMatchObject({
        result: "reloaded",
        subject: "O=kubecycle:agent, CN=node-1",
        fingerprint: await fingerprint(b.agent.cert),
      });

      // New connections: the agent serves B's certificate and takes B's clients.
      expect(await handshake(t.address, b.ca.caCert, b.clients.viewer)).toBe(await fingerprint(b.agent.cert));
      const fresh = await testClient(t.address, { ca: b.ca.caCert, ...b.clients.operator });
      try {
        expect((await fresh.call<HealthResponse__Output>("Health", {})).state).toBe("serving");
        const certs = await fresh.call<CertificatesResult__Output>("GetCertificates", {});
        const served = certs.certificates.filter((c) => c.purpose.startsWith("kubecycle-"));
        expect(served.map((c) => [c.purpose, c.path, c.issuer])).toEqual([
          ["kubecycle-agent", join(tlsDir, "agent.crt"), "CN=kubecycle-test-ca"],
          ["kubecycle-ca", join(tlsDir, "ca.crt"), "CN=kubecycle-test-ca"],
        ]);
        const bAgent = new X509Certificate(await readFile(b.agent.cert));
        expect(served[0]?.notAfterUnixMs).toBe(Date.parse(bAgent.validTo));
      } finally {
        fresh.close();
      }
      // A client that trusts only the old CA refuses the new certificate...
      // (Both test CAs are named alike, as two `kubecycle pki init` CAs are: OpenSSL says which check failed.)
      await expect(handshake(t.address, a.ca.caCert, b.clients.viewer)).rejects.toHaveProperty(
        "code",
        expect.stringMatching(/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|CERT_SIGNATURE_FAILURE)$/),
      );
      // ...and the agent refuses a client certificate of the old CA.
      await expect(handshake(t.address, b.ca.caCert, a.clients.viewer)).rejects.toThrow(
        /unknown ca|certificate|closed the connection/i,
      );
      const old = await testClient(t.address, { ca: a.ca.caCert, ...a.clients.viewer });
      try {
        await expect(old.call("Health", {}, 3000)).rejects.toMatchObject({ grpcCode: 14 }); // UNAVAILABLE
      } finally {
        old.close();
      }
      // The connection made before the reload keeps the handshake it made: in-flight work is not cut.
      expect((await before.call<HealthResponse__Output>("Health", {})).state).toBe("serving");
      expect(tlsLogs(/TLS reloaded/)).toHaveLength(1);
      expect(tlsLogs(/TLS reloaded/)[0]).toMatchObject({ trigger: "SIGHUP", level: "info" });

      // The same files again: nothing to do.
      expect(await t.agent.reloadTls("SIGHUP")).toEqual({ result: "unchanged" });
    } finally {
      await t.stop(true);
    }
  }, 60_000);

  it("refuses a mismatched pair with a logged error and keeps serving the old one", async () => {
    await start(60_000);
    try {
      await install(tlsDir, { ca: a.ca.caCert, cert: b.agent.cert, key: a.agent.key });
      const outcome = await t.agent.reloadTls("SIGHUP");
      expect(outcome.result).toBe("refused");
      const errors = tlsLogs(/TLS reload refused/);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ level: "error", trigger: "SIGHUP", serving: "O=kubecycle:agent, CN=node-1" });
      expect(String(errors[0]?.err)).toMatch(/not issued by a CA|is not the key of/);
      // Still A's certificate, still A's clients.
      expect(await handshake(t.address, a.ca.caCert, a.clients.viewer)).toBe(await fingerprint(a.agent.cert));
      const c = await testClient(t.address, { ca: a.ca.caCert, ...a.clients.viewer });
      try {
        expect((await c.call<HealthResponse__Output>("Health", {})).state).toBe("serving");
      } finally {
        c.close();
      }
    } finally {
      await t.stop(true);
    }
  }, 60_000);

  it("picks up renewed files by itself, once, after the copying is done (debounced)", async () => {
    await start(300);
    try {
      // A renewal: same CA, same subject, a new key. Certificate first, the key 50 ms later: within the debounce,
      // so the mismatched moment in between is never tried.
      const renewed = await a.ca.issue("agent-renewed", {
        subject: "/O=kubecycle:agent/CN=node-1",
        san: ["DNS:localhost", "IP:127.0.0.1"],
      });
      await copyFile(renewed.cert, join(tlsDir, ".agent.crt.new"));
      await rename(join(tlsDir, ".agent.crt.new"), join(tlsDir, "agent.crt"));
      await new Promise((r) => setTimeout(r, 50));
      await copyFile(renewed.key, join(tlsDir, ".agent.key.new"));
      await rename(join(tlsDir, ".agent.key.new"), join(tlsDir, "agent.key"));

      const want = await fingerprint(renewed.cert);
      await waitFor("the renewed certificate served", async () => {
        const fp = await handshake(t.address, a.ca.caCert, a.clients.viewer);
        return fp === want ? fp : undefined;
      });
      // Clients of the same CA go on working: a renewal needs nothing on the clients' side.
      const c = await testClient(t.address, { ca: a.ca.caCert, ...a.clients.operator });
      try {
        expect((await c.call<HealthResponse__Output>("Health", {})).state).toBe("serving");
      } finally {
        c.close();
      }
      expect(tlsLogs(/TLS reload refused/)).toEqual([]);
      expect(tlsLogs(/TLS reloaded/).map((l) => l.trigger)).toEqual(["file-change"]);

      // A bad file arriving later is refused by the watcher too, and the renewed certificate stays.
      await install(tlsDir, { ca: a.ca.caCert, cert: a.agent.cert, key: renewed.key });
      await waitFor("the refusal logged", () => (tlsLogs(/TLS reload refused/).length > 0 ? true : undefined));
      expect(tlsLogs(/TLS reload refused/)[0]).toMatchObject({ trigger: "file-change", level: "error" });
      expect(await handshake(t.address, a.ca.caCert, a.clients.viewer)).toBe(want);
    } finally {
      await t.stop(true);
    }
  }, 60_000);
});
