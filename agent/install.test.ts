import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { isKubecycleError } from "../shared/index.js";
import { INSTALL_PATHS, installAgent, parseListen, type InstallOptions } from "./install.js";
import { createTestCa, opensslDate, type TestCa } from "./testing/pki.js";

const REPO_UNIT = new URL("../systemd/kubecycle-agent.service", import.meta.url).pathname;

describe("kubecycle-agent install", () => {
  let dir: string;
  let ca: TestCa;
  let agent: { cert: string; key: string };
  let program: string;
  let n = 0;
  const newRoot = () => join(dir, `root-${n++}`);
  const opts = (root: string, extra: Partial<InstallOptions> = {}): InstallOptions => ({
    root,
    program,
    force: false,
    start: false,
    nodeName: "master-1",
    listen: "10.0.0.11:9443",
    ca: ca.caCert,
    cert: agent.cert,
    key: agent.key,
    ...extra,
  });
  const failure = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isKubecycleError(err, "INSTALL_FAILED")) throw new Error(`expected INSTALL_FAILED, got ${String(err)}`);
    return err;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kc-install-"));
    ca = await createTestCa(join(dir, "pki"));
    agent = await ca.issue("agent", { subject: "/O=kubecycle:agent/CN=master-1", san: ["IP:10.0.0.11"] });
    program = join(dir, "kubecycle-agent.mjs");
    await writeFile(program, "#!/usr/bin/env node\n// the program\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("puts each part where the shipped unit expects it", async () => {
    const unit = await readFile(REPO_UNIT, "utf8");
    expect(unit).toContain(`ExecStart=${INSTALL_PATHS.program} --config ${INSTALL_PATHS.config}\n`);
    expect(unit).toContain(`ExecStartPre=${INSTALL_PATHS.program} --config ${INSTALL_PATHS.config} --check\n`);

    const root = newRoot();
    const result = await installAgent(opts(root));
    expect(result.service).toBe("not asked");
    expect(result.files.map((f) => [f.path.slice(root.length), f.action])).toEqual([
      ["/usr/local/bin/kubecycle-agent", "created"],
      ["/etc/kubecycle/agent.yaml", "created"],
      ["/etc/kubecycle/pki/ca.crt", "created"],
      ["/etc/kubecycle/pki/agent.crt", "created"],
      ["/etc/kubecycle/pki/agent.key", "created"],
      ["/etc/systemd/system/kubecycle-agent.service", "created"],
    ]);
    const mode = async (p: string) => (await stat(join(root, p))).mode & 0o777;
    expect(await readFile(join(root, INSTALL_PATHS.program), "utf8")).toBe(await readFile(program, "utf8"));
    expect(await mode(INSTALL_PATHS.program)).toBe(0o755);
    expect(await readFile(join(root, INSTALL_PATHS.unit), "utf8")).toBe(unit);
    expect(parse(await readFile(join(root, INSTALL_PATHS.config), "utf8"))).toEqual({
      nodeName: "master-1",
      listen: { address: "10.0.0.11", port: 9443 },
    });
    expect(await readFile(join(root, "etc/kubecycle/pki/agent.key"))).toEqual(await readFile(agent.key));
    expect(await mode("etc/kubecycle/pki/agent.key")).toBe(0o600);
    expect(await mode("etc/kubecycle/pki")).toBe(0o700);
    expect(await mode("etc/kubecycle/pki/ca.crt")).toBe(0o644);
  });

  it("changes nothing when run again; an upgrade replaces the program and keeps the site's files", async () => {
    const root = newRoot();
    await installAgent(opts(root));
    const config = await readFile(join(root, INSTALL_PATHS.config));
    const again = await installAgent(opts(root));
    expect(again.files.every((f) => f.action === "unchanged")).toBe(true);

    const v2 = join(dir, "v2.mjs");
    await writeFile(v2, "#!/usr/bin/env node\n// the next version\n");
    const upgrade = await installAgent({ root, program: v2, force: false, start: false });
    expect(upgrade.files.map((f) => [f.path.slice(root.length), f.action])).toEqual([
      ["/usr/local/bin/kubecycle-agent", "updated"],
      ["/etc/kubecycle/agent.yaml", "kept"],
      ["/etc/kubecycle/pki/ca.crt", "kept"],
      ["/etc/kubecycle/pki/agent.crt", "kept"],
      ["/etc/kubecycle/pki/agent.key", "kept"],
      ["/etc/systemd/system/kubecycle-agent.service", "unchanged"],
    ]);
    expect(await readFile(join(root, INSTALL_PATHS.program), "utf8")).toContain("the next version");
    expect(await readFile(join(root, INSTALL_PATHS.config))).toEqual(config);
  });

  it("replaces a config or certificate that differs only with --force", async () => {
    const root = newRoot();
    await installAgent(opts(root));
    const err = await failure(installAgent(opts(root, { listen: "10.0.0.12" })));
    expect(err.message).toBe(`${join(root, INSTALL_PATHS.config)} is already installed and differs`);
    expect(err.fields.hint).toMatch(/--force/);
    expect(parse(await readFile(join(root, INSTALL_PATHS.config), "utf8"))).toMatchObject({
      listen: { address: "10.0.0.11" },
    });

    const other = await ca.issue("agent2", { subject: "/O=kubecycle:agent/CN=master-1" });
    await failure(installAgent(opts(root, { cert: other.cert, key: other.key })));
    const forced = await installAgent(opts(root, { cert: other.cert, key: other.key, force: true }));
    expect(forced.files.filter((f) => f.action === "updated").map((f) => f.path.slice(root.length))).toEqual([
      "/etc/kubecycle/pki/agent.crt",
      "/etc/kubecycle/pki/agent.key",
    ]);
    expect(await readFile(join(root, "etc/kubecycle/pki/agent.crt"))).toEqual(await readFile(other.cert));
  });

  it("installs a given config, with the certificates where it says", async () => {
    const root = newRoot();
    const config = join(dir, "agent.yaml");
    await writeFile(
      config,
      "nodeName: worker-1\ntls: { ca: /etc/kc/ca.pem, cert: /etc/kc/a.pem, key: /etc/kc/a.key }\n",
    );
    await installAgent(opts(root, { configFile: config, nodeName: undefined, listen: undefined }));
    expect(await readFile(join(root, INSTALL_PATHS.config), "utf8")).toBe(await readFile(config, "utf8"));
    expect(await readFile(join(root, "etc/kc/a.key"))).toEqual(await readFile(agent.key));
  });

  it("refuses, before writing anything, what the agent could not start with", async () => {
    const root = newRoot();
    const wrongKey = await ca.issue("stray", {});
    const foreign = await createTestCa(join(dir, "foreign"));
    const foreignCert = await foreign.issue("agent", {});
    const expired = await ca.issue("old", {
      startDate: opensslDate(new Date(Date.now() - 3 * 86_400_000)),
      endDate: opensslDate(new Date(Date.now() - 86_400_000)),
    });
    const cases: Array<[Partial<InstallOptions>, RegExp]> = [
      [{ key: wrongKey.key }, /is not the key of/],
      [{ cert: foreignCert.cert, key: foreignCert.key }, /is not signed by/],
      [{ cert: expired.cert, key: expired.key }, /expired on/],
      [{ ca: join(dir, "missing.crt") }, /--ca .*missing\.crt: no such file/],
      [{ cert: undefined }, /--ca, --cert and --key go together/],
      [{ ca: agent.key }, /is not a PEM certificate/],
      [{ listen: "10.0.0.300" }, /listen\.address/],
      [{ nodeName: "Not_A_Name" }, /nodeName/],
    ];
    for (const [extra, message] of cases) {
      const err = await failure(installAgent(opts(root, extra))).catch((e: unknown) => e as Error);
      expect(err.message, JSON.stringify(extra)).toMatch(message);
    }
    // A fresh node with no certificates given: say which flags are missing.
    const none = await failure(installAgent(opts(root, { ca: undefined, cert: undefined, key: undefined })));
    expect(none.message).toMatch(/ca\.crt \(installed ca\): no such file/);
    expect(none.fields.hint).toMatch(/--ca, --cert and --key/);
    await expect(stat(root)).rejects.toThrow();
  });

  it("reads listen as ADDRESS, ADDRESS:PORT or [IPv6]:PORT", () => {
    expect(parseListen("10.0.0.1")).toEqual({ address: "10.0.0.1" });
    expect(parseListen("10.0.0.1:9443")).toEqual({ address: "10.0.0.1", port: 9443 });
    expect(parseListen("[fd00::1]:9443")).toEqual({ address: "fd00::1", port: 9443 });
    expect(parseListen("fd00::1")).toEqual({ address: "fd00::1" });
  });
});
