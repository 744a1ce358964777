// The release artifact as a user gets it: the npm package holds only what runs, and the agent installed from it
// (unpacked far from this checkout: no node_modules, no proto/ to fall back on) serves the contract it carries.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentConnection } from "../../coordinator/index.js";
import { readTlsFiles } from "../../shared/index.js";
import { freePort, REPO_ROOT } from "../lab/agent.js";

const exec = promisify(execFile);
const WHAT_RUNS = [
  "README.md",
  "dist/bin/kubecycle-agent.mjs",
  "dist/bin/kubecycle.mjs",
  "package.json",
  "systemd/kubecycle-agent.service",
];

interface Packed {
  filename: string;
  files: Array<{ path: string }>;
}

describe("the release package", () => {
  let work: string;
  let pkg: string;
  const version = async () =>
    (JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "kc-release-"));
    // As `npm run release` packs (after `npm run build`, which the e2e tier runs first).
    const { stdout } = await exec("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], {
      cwd: REPO_ROOT,
    });
    const [packed] = JSON.parse(stdout) as Packed[];
    if (!packed) throw new Error(`npm pack printed ${stdout}`);
    await exec("tar", ["-xzf", join(work, packed.filename), "-C", work]);
    pkg = join(work, "package");
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("holds only what runs, and needs no dependencies", async () => {
    const { stdout } = await exec("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO_ROOT });
    const [packed] = JSON.parse(stdout) as Packed[];
    expect(packed?.files.map((f) => f.path).sort()).toEqual(WHAT_RUNS);
    const manifest = JSON.parse(await readFile(join(pkg, "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.bin).toEqual({
      kubecycle: "dist/bin/kubecycle.mjs",
      "kubecycle-agent": "dist/bin/kubecycle-agent.mjs",
    });
  });

  it("prints the version from both programs", async () => {
    const v = await version();
    expect((await exec(join(pkg, "dist/bin/kubecycle.mjs"), ["--version"], { cwd: work })).stdout).toBe(
      `kubecycle ${v}\n`,
    );
    expect((await exec(join(pkg, "dist/bin/kubecycle-agent.mjs"), ["--version"], { cwd: work })).stdout).toBe(
      `kubecycle-agent ${v}\n`,
    );
  });

  it("installs an agent that serves the contract it carries", async () => {
    const cli = join(pkg, "dist/bin/kubecycle.mjs");
    const pki = join(work, "pki");
    await exec(cli, ["pki", "init", "--dir", pki], { cwd: work });
    await exec(cli, ["pki", "agent", "node-1", "--ip", "127.0.0.1", "--dir", pki], { cwd: work });
    await exec(cli, ["pki", "client", "ci", "--role", "viewer", "--dir", pki], { cwd: work });

    const root = join(work, "root");
    const agentCert = [
      "--ca",
      `${pki}/ca.crt`,
      "--cert",
      `${pki}/agents/node-1.crt`,
      "--key",
      `${pki}/agents/node-1.key`,
    ];
    const install = await exec(
      join(pkg, "dist/bin/kubecycle-agent.mjs"),
      ["install", "--root", root, "--node-name", "node-1", "--listen", "127.0.0.1", ...agentCert],
      { cwd: work },
    );
    expect(install.stdout).toContain(`created   ${root}/usr/local/bin/kubecycle-agent`);
    const again = await exec(join(root, "usr/local/bin/kubecycle-agent"), ["install", "--root", root], { cwd: work });
    expect(again.stdout).toContain(`unchanged ${root}/usr/local/bin/kubecycle-agent`);
    expect(again.stdout).toContain(`kept      ${root}/etc/kubecycle/agent.yaml`);

    // The installed program, run with the installed config, its paths under the root and a free port.
    const port = await freePort();
    const config = join(work, "agent.yaml");
    await writeFile(
      config,
      [
        "nodeName: node-1",
        `listen: { address: 127.0.0.1, port: ${port} }`,
        `tls: { ca: ${root}/etc/kubecycle/pki/ca.crt, cert: ${root}/etc/kubecycle/pki/agent.crt, key: ${root}/etc/kubecycle/pki/agent.key }`,
        `stateDir: ${work}/state`,
      ].join("\n"),
    );
    const child = spawn(join(root, "usr/local/bin/kubecycle-agent"), ["--config", config], {
      cwd: work,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const conn = new AgentConnection({
      node: "node-1",
      address: `127.0.0.1:${port}`,
      tls: await readTlsFiles({ ca: `${pki}/ca.crt`, cert: `${pki}/clients/ci.crt`, key: `${pki}/clients/ci.key` }),
    });
    try {
      const deadline = Date.now() + 20_000;
      let health;
      while (health === undefined) {
        health = await conn.health({ deadlineMs: 500 }).catch((err: unknown) => {
          if (Date.now() > deadline || child.exitCode !== null)
            throw new Error(`agent did not serve: ${String(err)}\n${stderr}`);
          return undefined;
        });
        if (health === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      expect(health).toMatchObject({ nodeName: "node-1", agentVersion: await version(), callerRole: "ROLE_VIEWER" });
    } finally {
      conn.close();
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  });
});
