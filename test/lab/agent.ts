import { chmod, copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { run } from "./host.js";
import { createBindTargets, createdPathsRecord, removeCreatedPaths } from "./host-paths.js";
import type { Bind } from "./systemd-node.js";

/** The repository root; a node sees it read-only at {@link IN_NODE_REPO}. */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Where the built kubecycle lives inside a lab node, independent of where the repo is checked out. */
export const IN_NODE_REPO = "/opt/kubecycle";
/** Where a lab node finds what it installs the agent from, as an operator would copy it to root's home. */
export const IN_NODE_INSTALL = "/root/kubecycle-install";
/** The product's own unit file, installed unchanged in every node. */
export const AGENT_UNIT_FILE = join(REPO_ROOT, "systemd", "kubecycle-agent.service");

/** What a node needs to run the agent from this repo. */
export interface AgentSetup {
  /** The node's state directory (the harness's stateDir). */
  stateDir: string;
  nodeName: string;
  /** PKI directory made by coordinator/pki: ca.crt and agents/<nodeName>.{crt,key}. */
  pkiDir: string;
  listenAddress: string;
  port: number;
  /** Agent config fields merged over the lab's defaults (units.allow, timeouts...). */
  config?: Record<string, unknown>;
}

/** The agent's shipped entry point, relative to the repo root: one bundled file that carries its node flags. */
export const AGENT_ENTRY = "dist/bin/kubecycle-agent.mjs";

/**
 * The per-node directories the agent is installed into, empty on the host: /usr/local/bin, /etc/kubecycle and the
 * agent's state directory (no side effects: usable at every boot).
 */
export function agentBinds(stateDir: string): Bind[] {
  return [
    { source: join(stateDir, "usr-local-bin"), target: "/usr/local/bin" },
    { source: join(stateDir, "etc-kubecycle"), target: "/etc/kubecycle" },
    // What an operator copies to a node to install from (the unpacked release, the node's certificates, its config).
    { source: join(stateDir, "install"), target: IN_NODE_INSTALL },
    { source: join(stateDir, "var-lib-kubecycle-agent"), target: "/var/lib/kubecycle-agent" },
  ];
}

/** Creates the (empty) host sides of {@link agentBinds}. */
export async function makeAgentDirs(stateDir: string): Promise<void> {
  await mkdir(join(stateDir, "etc-kubecycle"), { recursive: true, mode: 0o755 });
  await mkdir(join(stateDir, "usr-local-bin"), { recursive: true });
  await mkdir(join(stateDir, "var-lib-kubecycle-agent"), { recursive: true, mode: 0o700 });
  await mkdir(join(stateDir, "install"), { recursive: true, mode: 0o700 });
}

/** The release package as `npm run release` leaves it, relative to the repo root (its name carries the version). */
export async function releasePackage(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { name: string; version: string };
  return join(REPO_ROOT, "release", `${pkg.name}-${pkg.version}.tgz`);
}

/**
 * The release to install from: `npm run release`'s package, made again (scripts/release.mjs) when it is missing or
 * older than the bundles it packs. Returns its path.
 */
export async function ensureRelease(log: (line: string) => void = () => undefined): Promise<string> {
  const tgz = await releasePackage();
  const mtime = (p: string) =>
    stat(p).then(
      (s) => s.mtimeMs,
      () => undefined,
    );
  const packed = await mtime(tgz);
  const bundles = await Promise.all(
    ["dist/bin/kubecycle-agent.mjs", "dist/bin/kubecycle.mjs"].map((b) => mtime(join(REPO_ROOT, b))),
  );
  if (packed !== undefined && bundles.every((b) => b !== undefined && b <= packed)) return tgz;
  log("packing the release (npm run release)");
  const r = await run(process.execPath, [join(REPO_ROOT, "scripts/release.mjs")], {
    cwd: REPO_ROOT,
    timeoutMs: 120_000,
    env: { HOME: process.env.HOME ?? "/root" },
  });
  if (r.code !== 0) throw new Error(`scripts/release.mjs failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  return tgz;
}

/** Unpacks the release package into `dir` as a user does (`tar -xzf`); returns the agent program in it. */
export async function unpackRelease(tgz: string, dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const r = await run("tar", ["-xzf", tgz, "-C", dir]);
  if (r.code !== 0) throw new Error(`tar -xzf ${tgz}: ${r.stderr}`);
  return join(dir, "package", AGENT_ENTRY);
}

/** What {@link agentInstallArgs} installs on a node. */
export interface AgentInstall {
  /** The agent program of the unpacked release (the node sees the host's root, so the host path works in it). */
  program: string;
  nodeName: string;
  /** PKI directory made by coordinator/pki: ca.crt and agents/<nodeName>.{crt,key}. */
  pkiDir: string;
  /** The agent config to install (written by {@link writeAgentConfig}). */
  configFile: string;
}

/** The README's install command for one node, as argv to run inside it. */
export function agentInstallArgs(i: AgentInstall): string[] {
  return [
    i.program,
    "install",
    "--config",
    i.configFile,
    "--ca",
    join(i.pkiDir, "ca.crt"),
    "--cert",
    join(i.pkiDir, "agents", `${i.nodeName}.crt`),
    "--key",
    join(i.pkiDir, "agents", `${i.nodeName}.key`),
  ];
}

/** The agent config a lab node is installed with: its name and address, then the lab's overrides. */
export async function writeAgentConfig(
  file: string,
  c: { nodeName: string; listenAddress: string; port: number; config?: Record<string, unknown> },
): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(
    file,
    stringify({ nodeName: c.nodeName, listen: { address: c.listenAddress, port: c.port }, ...c.config }),
  );
}

/**
 * For the tests that boot a lone agent node (not the lab, which installs from the release): prepares a node's state
 * directory so that its systemd runs `kubecycle-agent.service` exactly as shipped:
 * a per-node /etc/kubecycle (config and certificates), a per-node /usr/local/bin holding the `kubecycle-agent`
 * launcher, a per-node agent state directory, and the repo mounted read-only at /opt/kubecycle.
 * Returns the binds the node must be booted with.
 */
export async function prepareAgent(setup: AgentSetup): Promise<{ binds: Bind[]; unitFiles: Record<string, string> }> {
  const etc = join(setup.stateDir, "etc-kubecycle");
  const bin = join(setup.stateDir, "usr-local-bin");
  // Every bind's host side, the install directory included (empty here: this node's agent runs from the repo).
  await makeAgentDirs(setup.stateDir);
  await mkdir(join(etc, "pki"), { recursive: true, mode: 0o700 });

  await copyFile(join(setup.pkiDir, "ca.crt"), join(etc, "pki", "ca.crt"));
  await copyFile(join(setup.pkiDir, "agents", `${setup.nodeName}.crt`), join(etc, "pki", "agent.crt"));
  await copyFile(join(setup.pkiDir, "agents", `${setup.nodeName}.key`), join(etc, "pki", "agent.key"));
  await chmod(join(etc, "pki", "agent.key"), 0o600);

  const config = {
    nodeName: setup.nodeName,
    listen: { address: setup.listenAddress, port: setup.port },
    ...setup.config,
  };
  await writeFile(join(etc, "agent.yaml"), stringify(config));

  const launcher = join(bin, "kubecycle-agent");
  // The agent runs as it ships: the executable bundle, with its node flags in its #! line.
  await writeFile(launcher, `#!/bin/sh\nexec ${IN_NODE_REPO}/${AGENT_ENTRY} "$@"\n`);
  await chmod(launcher, 0o755);

  return {
    binds: [{ source: REPO_ROOT, target: IN_NODE_REPO, readOnly: true }, ...agentBinds(setup.stateDir)],
    unitFiles: { "kubecycle-agent.service": await readFile(AGENT_UNIT_FILE, "utf8") },
  };
}

/** A TCP port free on the host right now (the single-node harness shares the host's network namespace). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Creates the binds' targets that the host lacks (empty mount points on the shared root), recorded machine-wide, so
 * that {@link releaseHostTargets} removes exactly those after the node is gone. What an earlier test run that crashed
 * left is removed first.
 */
export async function claimHostTargets(binds: readonly Bind[]): Promise<void> {
  await releaseHostTargets();
  await createBindTargets(
    createdPathsRecord("agent-test"),
    binds.map((b) => ({ path: b.target, kind: "dir" as const })),
  );
}

/** Removes the mount points {@link claimHostTargets} created (only empty ones not in use). */
export async function releaseHostTargets(): Promise<void> {
  await removeCreatedPaths(createdPathsRecord("agent-test"));
}
