// The in-process test tier: a real agent (startAgent) on a free port with real mTLS certificates, a fake unit
// manager, and a temp directory standing for the node's file system. Test support only; never shipped.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../shared/index.js";
import { startAgent, type RunningAgent } from "../agent.js";
import { compileAgentConfig, type CompiledAgentConfig } from "../config.js";
import { testClient, type TestClient } from "./client.js";
import { FakeUnitManager } from "./fake-manager.js";
import { createTestCa, type TestCa } from "./pki.js";

/** Certificates for a test file: a CA, the agent's, and one client per role (and one that grants none). */
export interface TestPki {
  ca: TestCa;
  agent: { cert: string; key: string };
  clients: Record<"operator" | "operator2" | "viewer" | "viewer2" | "norole", { cert: string; key: string }>;
}

/** Issues the certificates once per test file. */
export async function createTestPki(dir: string): Promise<TestPki> {
  const ca = await createTestCa(join(dir, "pki"));
  const [agent, operator, operator2, viewer, viewer2, norole] = await Promise.all([
    ca.issue("agent", { subject: "/O=kubecycle:agent/CN=node-1", san: ["DNS:localhost", "IP:127.0.0.1"] }),
    ca.issue("alice", { subject: "/O=kubecycle:operator/CN=alice" }),
    ca.issue("bob", { subject: "/O=kubecycle:operator/CN=bob" }),
    ca.issue("victor", { subject: "/O=kubecycle:viewer/CN=victor" }),
    ca.issue("grafana", { subject: "/O=kubecycle:viewer/CN=grafana" }),
    ca.issue("mallory", { subject: "/O=example:other/CN=mallory" }),
  ]);
  return { ca, agent, clients: { operator, operator2, viewer, viewer2, norole } };
}

/** A running test agent with its clients. */
export interface TestAgent {
  agent: RunningAgent;
  address: string;
  /** The node's file system root (paths in the config point into it). */
  root: string;
  config: Readonly<CompiledAgentConfig>;
  manager: FakeUnitManager;
  /** Every log line the agent wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  client(who: keyof TestPki["clients"]): Promise<TestClient>;
  /** Stops the agent and closes the clients; the root stays for a restart unless `removeRoot`. */
  stop(removeRoot?: boolean): Promise<void>;
}

/** Options of {@link startTestAgent}. */
export interface TestAgentOptions {
  pki: TestPki;
  /** Units that exist on the fake node. */
  units?: string[];
  /** Agent config fields over the test defaults (paths inside `root`). */
  config?: Record<string, unknown>;
  /** Reuse a node root (an agent restart). */
  root?: string;
  manager?: FakeUnitManager;
  /** Quiet time before the agent reloads changed TLS files. Default the agent's. */
  tlsReloadDebounceMs?: number;
}

/** Starts an agent whose node lives in `root` (a fresh temp directory unless given). */
export async function startTestAgent(o: TestAgentOptions): Promise<TestAgent> {
  const root = o.root ?? (await mkdtemp(join(tmpdir(), "kc-node-")));
  await mkdir(join(root, "var/lib/kubecycle-agent"), { recursive: true });
  const compiled = compileAgentConfig({
    nodeName: "node-1",
    listen: { address: "127.0.0.1", port: 1 },
    tls: { ca: o.pki.ca.caCert, cert: o.pki.agent.cert, key: o.pki.agent.key },
    stateDir: join(root, "var/lib/kubecycle-agent"),
    etcd: { envFile: join(root, "etc/etcd.env"), ...(o.config?.etcd as object) },
    kubernetes: {
      manifestDir: join(root, "etc/kubernetes/manifests"),
      pkiDir: join(root, "etc/kubernetes/pki"),
      kubeletKubeconfig: join(root, "etc/kubernetes/kubelet.conf"),
      ...(o.config?.kubernetes as object),
    },
    log: { level: "debug" },
    ...Object.fromEntries(Object.entries(o.config ?? {}).filter(([k]) => k !== "etcd" && k !== "kubernetes")),
  });
  // Port 0 (any free port) is for tests only; the config refuses it.
  const config = { ...compiled, listen: { ...compiled.listen, port: 0 } } as Readonly<CompiledAgentConfig>;
  const manager = o.manager ?? new FakeUnitManager(o.units ?? []);
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger({
    name: "kubecycle-agent",
    level: "debug",
    destination: {
      write(line: string) {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  const agent = await startAgent({ config, log, manager, tlsReloadDebounceMs: o.tlsReloadDebounceMs });
  const address = `127.0.0.1:${agent.port}`;
  const clients: TestClient[] = [];
  return {
    agent,
    address,
    root,
    config,
    manager,
    logs,
    async client(who) {
      const c = await testClient(address, { ca: o.pki.ca.caCert, ...o.pki.clients[who] });
      clients.push(c);
      return c;
    },
    async stop(removeRoot = false) {
      for (const c of clients) c.close();
      await agent.shutdown(1000);
      if (removeRoot) await rm(root, { recursive: true, force: true });
    },
  };
}
