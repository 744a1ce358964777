// The README's install on a real systemd: the release package, unpacked, installs the agent with
// `kubecycle-agent install` run as root inside a node (systemd as PID 1 in its own namespaces) into which nothing of
// the checkout is bound. Checked from outside: systemctl in the node, the files in the node's own directories, and
// Health over mTLS.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentConnection, createCa, issueAgentCert, issueClientCert } from "../../coordinator/index.js";
import { readTlsFiles } from "../../shared/index.js";
import {
  agentBinds,
  agentInstallArgs,
  claimHostTargets,
  freePort,
  makeAgentDirs,
  releaseHostTargets,
  REPO_ROOT,
  unpackRelease,
  writeAgentConfig,
} from "../lab/agent.js";
import { bootSystemdNode, cleanupStaleNodes, type SystemdNode } from "../lab/systemd-node.js";
import { waitForAgent } from "./fixtures.js";

const NODE = "kc-it-install";
/** Where the test puts the release and the PKI: a host directory the node sees (removed when empty). */
const WORK_PARENT = "/var/lib/kubecycle-it";
let node: SystemdNode;
let agent: AgentConnection;
let workDir: string;
let stateDir: string;
let program: string;
let installArgs: string[];

beforeAll(async () => {
  await cleanupStaleNodes(NODE);
  // Not in /tmp (nor in the checkout, which CI may clone there): a node has its own /tmp and /var/tmp, and it must
  // see the release and the certificates (as if copied to it); it sees the host's other directories.
  await mkdir(WORK_PARENT, { recursive: true, mode: 0o700 });
  workDir = await mkdtemp(join(WORK_PARENT, "install-"));
  // The release as `npm run release` packs it (from the build the integration tier runs on).
  const { stdout } = await promisify(execFile)(
    "npm",
    ["pack", "--json", "--ignore-scripts", "--pack-destination", workDir],
    { cwd: REPO_ROOT },
  );
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
  program = await unpackRelease(join(workDir, packed?.filename ?? ""), join(workDir, "release"));
  const pki = join(workDir, "pki");
  await createCa(pki);
  await issueAgentCert(pki, { node: NODE, ips: ["127.0.0.1"] });
  await issueClientCert(pki, { name: "alice", role: "operator" });
  const port = await freePort();
  const configFile = join(workDir, "agent.yaml");
  await writeAgentConfig(configFile, { nodeName: NODE, listenAddress: "127.0.0.1", port });
  installArgs = agentInstallArgs({ program, nodeName: NODE, pkiDir: pki, configFile });

  stateDir = join(workDir, "node");
  await makeAgentDirs(stateDir);
  const binds = agentBinds(stateDir);
  await claimHostTargets(binds);
  node = await bootSystemdNode({ name: NODE, stateDir, binds });
  const tls = await readTlsFiles({
    ca: join(pki, "ca.crt"),
    cert: join(pki, "clients", "alice.crt"),
    key: join(pki, "clients", "alice.key"),
  });
  agent = new AgentConnection({ node: NODE, address: `127.0.0.1:${port}`, tls });
});

afterAll(async () => {
  agent?.close();
  await node?.shutdown();
  if (workDir) {
    await releaseHostTargets();
    await rm(workDir, { recursive: true, force: true });
    await rmdir(WORK_PARENT).catch(() => undefined);
  }
});

describe("kubecycle-agent install on a node", () => {
  it("installs from the release, and the agent it starts serves", async () => {
    expect((await node.exec(["systemctl", "is-active", "kubecycle-agent"])).stdout.trim()).not.toBe("active");
    const r = await node.exec(installArgs);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^created +\/usr\/local\/bin\/kubecycle-agent$/m);
    expect(r.stdout).toContain("kubecycle-agent.service: started");

    expect((await node.exec(["systemctl", "is-active", "kubecycle-agent"])).stdout.trim()).toBe("active");
    expect((await node.exec(["systemctl", "is-enabled", "kubecycle-agent"])).stdout.trim()).toBe("enabled");
    const unit = await node.exec(["cat", "/etc/systemd/system/kubecycle-agent.service"]);
    expect(unit.stdout).toBe(await readFile(join(REPO_ROOT, "systemd", "kubecycle-agent.service"), "utf8"));
    // The node's own /usr/local/bin holds the release's program.
    expect(await readFile(join(stateDir, "usr-local-bin", "kubecycle-agent"))).toEqual(await readFile(program));
    expect((await node.exec(["stat", "-c", "%a", "/etc/kubecycle/pki/agent.key"])).stdout.trim()).toBe("600");

    await waitForAgent(agent);
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    expect(await agent.health()).toMatchObject({ state: "serving", nodeName: NODE, agentVersion: pkg.version });
  });

  it("changes nothing and keeps the agent running when run again", async () => {
    const before = await node.show("kubecycle-agent.service", ["InvocationID"]);
    const r = await node.exec(installArgs);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^(created|updated)/m);
    expect(r.stdout).toContain("kubecycle-agent.service: running");
    expect(await node.show("kubecycle-agent.service", ["InvocationID"])).toEqual(before);
  });

  it("refuses a changed config without --force, naming the file, and changes nothing", async () => {
    const args = [...installArgs.slice(0, 2), "--node-name", "other-name", ...installArgs.slice(4)];
    const r = await node.exec(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("/etc/kubecycle/agent.yaml is already installed and differs");
    expect((await node.exec(["cat", "/etc/kubecycle/agent.yaml"])).stdout).toContain(`nodeName: ${NODE}`);
  });
});
