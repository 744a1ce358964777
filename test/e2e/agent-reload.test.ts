// The shipped agent binary (dist/, `npm run build` first) as a process: SIGHUP reloads its certificate, key and CA
// without a restart (same pid), and a refused reload keeps the old certificate serving. No lab: the agent listens on
// loopback and no call here reaches systemd. The independent channel is a plain TLS handshake reading the certificate
// the process serves.
import { spawn, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCa, issueAgentCert, issueClientCert } from "../../coordinator/index.js";
import { REPO_ROOT, freePort } from "../lab/agent.js";

const AGENT = join(REPO_ROOT, "dist/bin/kubecycle-agent.mjs");

let work: string;
let child: ChildProcess;
let log = "";
let port: number;
const pki = { a: "", b: "" };
const tlsDir = () => join(work, "node", "pki");

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "kc-agent-reload-"));
  pki.a = join(work, "pki-a");
  pki.b = join(work, "pki-b");
  for (const dir of [pki.a, pki.b]) {
    await createCa(dir);
    await issueAgentCert(dir, { node: "node-1", ips: ["127.0.0.1"] });
    await issueClientCert(dir, { name: "alice", role: "viewer" });
  }
  await mkdir(tlsDir(), { recursive: true });
  await install(pki.a);
  port = await freePort();
  const config = join(work, "agent.yaml");
  await writeFile(
    config,
    JSON.stringify({
      nodeName: "node-1",
      listen: { address: "127.0.0.1", port },
      tls: { ca: join(tlsDir(), "ca.crt"), cert: join(tlsDir(), "agent.crt"), key: join(tlsDir(), "agent.key") },
      stateDir: join(work, "state"),
    }),
  );
  child = spawn(process.execPath, [AGENT, "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  await waitFor("the agent serving", () => (log.includes("agent serving") ? true : undefined));
}, 60_000);

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
  await rm(work, { recursive: true, force: true });
});

/** Puts a PKI's CA, agent certificate and key in the node's TLS directory, each renamed over the old one. */
async function install(dir: string, parts: { cert?: string; key?: string } = {}): Promise<void> {
  const files: Array<[string, string]> = [
    [join(dir, "ca.crt"), "ca.crt"],
    [parts.cert ?? join(dir, "agents", "node-1.crt"), "agent.crt"],
    [parts.key ?? join(dir, "agents", "node-1.key"), "agent.key"],
  ];
  for (const [from, to] of files) {
    await copyFile(from, join(tlsDir(), `.${to}`));
    await rename(join(tlsDir(), `.${to}`), join(tlsDir(), to));
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const got = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; agent log:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The fingerprint of the certificate the agent serves to a client of `dir`'s PKI (rejects when the handshake fails). */
async function served(dir: string): Promise<string> {
  const [ca, cert, key] = await Promise.all(
    ["ca.crt", "clients/alice.crt", "clients/alice.key"].map((f) => readFile(join(dir, f))),
  );
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, cert, key, servername: "node-1", ALPNProtocols: ["h2"] });
    socket.once("secureConnect", () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.once("error", (err: Error) => reject(err));
  });
}

const fingerprint = async (dir: string) =>
  new X509Certificate(await readFile(join(dir, "agents", "node-1.crt"))).fingerprint256;

describe("the agent process on SIGHUP", () => {
  it("serves the new certificate and CA, same process; refuses a mismatched pair and keeps serving", async () => {
    expect(await served(pki.a)).toBe(await fingerprint(pki.a));
    const pid = child.pid;

    // A mismatched pair (B's certificate, A's key) first: refused, A still served.
    await install(pki.a, { cert: join(pki.b, "agents", "node-1.crt") });
    child.kill("SIGHUP");
    await waitFor("the refusal", () => (log.includes("TLS reload refused") ? true : undefined));
    expect(await served(pki.a)).toBe(await fingerprint(pki.a));

    await install(pki.b);
    const before = (log.match(/TLS reloaded/g) ?? []).length;
    child.kill("SIGHUP");
    await waitFor("the reload", () => ((log.match(/TLS reloaded/g) ?? []).length > before ? true : undefined));
    expect(await served(pki.b)).toBe(await fingerprint(pki.b));
    await expect(served(pki.a)).rejects.toThrow();
    expect(child.pid).toBe(pid);
    expect(child.exitCode).toBeNull();
    // The signal did it, not the file watcher (whose reload, 500 ms after the copy, then finds nothing changed).
    const lines = log
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg?: string; trigger?: string });
    expect(lines.filter((l) => l.msg?.startsWith("TLS reloaded")).map((l) => l.trigger)).toEqual(["SIGHUP"]);
    expect(lines.find((l) => l.msg?.startsWith("TLS reload refused"))?.trigger).toBe("SIGHUP");
  }, 60_000);
});
