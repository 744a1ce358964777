import { chmod, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { createBindTargets, createdPathsRecord, removeCreatedPaths } from "./host-paths.js";
import type { Bind } from "./systemd-node.js";

/** The repository root; a node sees it read-only at {@link IN_NODE_REPO}. */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Where the built kubecycle lives inside a lab node, independent of where the repo is checked out. */
export const IN_NODE_REPO = "/opt/kubecycle";
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

/** The binds a node prepared by {@link prepareAgent} must be booted with (no side effects: usable at every boot). */
export function agentBinds(stateDir: string): Bind[] {
  return [
    { source: REPO_ROOT, target: IN_NODE_REPO, readOnly: true },
    { source: join(stateDir, "usr-local-bin"), target: "/usr/local/bin" },
    { source: join(stateDir, "etc-kubecycle"), target: "/etc/kubecycle" },
    { source: join(stateDir, "var-lib-kubecycle-agent"), target: "/var/lib/kubecycle-agent" },
  ];
}

/**
 * Prepares a node's state directory so that its systemd runs `kubecycle-agent.service` exactly as shipped:
 * a per-node /etc/kubecycle (config and certificates), a per-node /usr/local/bin holding the `kubecycle-agent`
 * launcher, a per-node agent state directory, and the repo mounted read-only at /opt/kubecycle.
 * Returns the binds the node must be booted with.
 */
export async function prepareAgent(setup: AgentSetup): Promise<{ binds: Bind[]; unitFiles: Record<string, string> }> {
  const etc = join(setup.stateDir, "etc-kubecycle");
  const bin = join(setup.stateDir, "usr-local-bin");
  const varLib = join(setup.stateDir, "var-lib-kubecycle-agent");
  await mkdir(join(etc, "pki"), { recursive: true, mode: 0o700 });
  await mkdir(bin, { recursive: true });
  await mkdir(varLib, { recursive: true, mode: 0o700 });

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
    binds: agentBinds(setup.stateDir),
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
