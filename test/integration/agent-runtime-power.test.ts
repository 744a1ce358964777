// The agent against a real systemd for what only systemd can show: socket activation (a runtime stopped without its
// socket is started again by the next client; stopped with it, it stays down) and PowerOff ending the node's systemd,
// with the operation record surviving the power cycle. systemd runs as PID 1 in its own namespaces; the agent runs in
// it from the repo's unit file; every outcome is read with systemctl inside the node.
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentConnection, createCa, issueAgentCert, issueClientCert } from "../../coordinator/index.js";
import { readTlsFiles } from "../../shared/index.js";
import { claimHostTargets, freePort, prepareAgent, releaseHostTargets } from "../lab/agent.js";
import { bootSystemdNode, cleanupStaleNodes, type Bind, type SystemdNode } from "../lab/systemd-node.js";
import { waitForAgent } from "./fixtures.js";

const NODE = "kc-it-runtime";
const SOCKET = "/run/kc-it-docker.sock";
const CRI_SOCKET = "/run/kc-it-cri-dockerd.sock";

// Shaped like moby's and cri-dockerd's upstream units: the service Requires= its socket, the socket is what
// sockets.target starts at boot, and a connection to the socket starts the service.
const RUNTIME_UNITS: Record<string, string> = {
  "containerd.service": `[Unit]
Description=containerd stand-in
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
`,
  "docker.socket": `[Unit]
Description=Docker Socket for the API (stand-in)
[Socket]
ListenStream=${SOCKET}
SocketMode=0660
[Install]
WantedBy=sockets.target
`,
  "docker.service": `[Unit]
Description=Docker Application Container Engine (stand-in)
After=network-online.target docker.socket containerd.service
Wants=containerd.service
Requires=docker.socket
[Service]
Type=simple
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
`,
  "cri-docker.socket": `[Unit]
Description=CRI Docker Socket for the API (stand-in)
PartOf=cri-docker.service
[Socket]
ListenStream=${CRI_SOCKET}
SocketMode=0660
[Install]
WantedBy=sockets.target
`,
  "cri-docker.service": `[Unit]
Description=CRI Interface for Docker Application Container Engine (stand-in)
After=network-online.target firewalld.service docker.service
Requires=cri-docker.socket
[Service]
Type=simple
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
`,
  "kubelet.service": `[Unit]
Description=kubelet stand-in
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
`,
};

// What `systemctl poweroff` starts, as systemd ships them (the lab's minimal unit set lacks them): poweroff.target
// pulls in systemd-poweroff.service, whose success makes PID 1 stop everything and exit.
const POWEROFF_UNITS: Record<string, string> = {
  "poweroff.target": `[Unit]
Description=System Power Off
DefaultDependencies=no
Requires=systemd-poweroff.service
After=systemd-poweroff.service
AllowIsolate=yes
JobTimeoutSec=30min
JobTimeoutAction=poweroff-force
`,
  "systemd-poweroff.service": `[Unit]
Description=System Power Off
DefaultDependencies=no
Requires=shutdown.target umount.target final.target
After=shutdown.target umount.target final.target
SuccessAction=poweroff-force
`,
  "final.target": `[Unit]
Description=Late Shutdown Services
DefaultDependencies=no
RefuseManualStart=yes
After=shutdown.target umount.target
`,
};

// Each boot of the node gets a boot id of its own (the kernel's is one for the whole machine), bound over the
// kernel's, and into the agent's own /proc: as the lab does for its nodes.
const BOOT_ID_UNIT = "kc-it-boot-id.service";
const BOOT_ID_UNITS: Record<string, string> = {
  [BOOT_ID_UNIT]: `[Unit]
Description=a boot id of this node's own
DefaultDependencies=no
Before=sysinit.target systemd-journald.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'cat /proc/sys/kernel/random/uuid > /run/kc-it-boot-id && mount --bind -o ro /run/kc-it-boot-id /proc/sys/kernel/random/boot_id'
[Install]
WantedBy=sysinit.target
`,
};
const AGENT_BOOT_ID_DROPIN = `[Unit]
After=${BOOT_ID_UNIT}
[Service]
BindReadOnlyPaths=/run/kc-it-boot-id:/proc/sys/kernel/random/boot_id
`;

let node: SystemdNode;
let agent: AgentConnection;
let workDir: string;
let stateDir: string;
let binds: Bind[];
let unitFiles: Record<string, string>;
const ENABLED = [
  "kubecycle-agent.service",
  BOOT_ID_UNIT,
  "containerd.service",
  "docker.socket",
  "docker.service",
  "cri-docker.socket",
  "cri-docker.service",
  "kubelet.service",
];

async function boot(): Promise<SystemdNode> {
  return bootSystemdNode({ name: NODE, stateDir, binds, unitFiles, enable: ENABLED });
}

beforeAll(async () => {
  await cleanupStaleNodes(NODE);
  workDir = await mkdtemp(join(tmpdir(), "kc-it-runtime-"));
  const pki = join(workDir, "pki");
  await createCa(pki);
  await issueAgentCert(pki, { node: NODE, ips: ["127.0.0.1"] });
  await issueClientCert(pki, { name: "alice", role: "operator" });
  const port = await freePort();
  stateDir = join(workDir, "node");
  const prepared = await prepareAgent({
    stateDir,
    nodeName: NODE,
    pkiDir: pki,
    listenAddress: "127.0.0.1",
    port,
    config: { units: { startStableMs: 200 }, log: { level: "debug" } },
  });
  binds = prepared.binds;
  unitFiles = { ...prepared.unitFiles, ...RUNTIME_UNITS, ...BOOT_ID_UNITS, ...POWEROFF_UNITS };
  const dropIns = join(stateDir, "etc/systemd/system/kubecycle-agent.service.d");
  await mkdir(dropIns, { recursive: true });
  await writeFile(join(dropIns, "kc-it-boot-id.conf"), AGENT_BOOT_ID_DROPIN);
  await claimHostTargets(binds);
  node = await boot();
  const tls = await readTlsFiles({
    ca: join(pki, "ca.crt"),
    cert: join(pki, "clients", "alice.crt"),
    key: join(pki, "clients", "alice.key"),
  });
  agent = new AgentConnection({ node: NODE, address: `127.0.0.1:${port}`, tls });
  await waitForAgent(agent);
});

afterAll(async () => {
  agent?.close();
  await node?.shutdown();
  if (workDir) {
    await releaseHostTargets();
    await rm(workDir, { recursive: true, force: true });
  }
});

const active = async (unit: string): Promise<string> => (await node.show(unit, ["ActiveState"])).ActiveState ?? "";

/** Connects to a unix socket inside the node, as a docker client would: "connected" or the error code. */
async function knock(path: string): Promise<string> {
  const r = await node.exec([
    "/usr/bin/node",
    "-e",
    `const s = require("net").connect(${JSON.stringify(path)});
     s.on("connect", () => { console.log("connected"); s.destroy(); });
     s.on("error", (e) => console.log(e.code));`,
  ]);
  return r.stdout.trim();
}

/** Watches a unit for `ms` and returns every ActiveState seen (to show that something does not happen). */
async function statesFor(unit: string, ms: number): Promise<Set<string>> {
  const seen = new Set<string>();
  const until = Date.now() + ms;
  while (Date.now() < until) {
    seen.add(await active(unit));
    await new Promise((r) => setTimeout(r, 100));
  }
  return seen;
}

describe("socket-activated runtime units", () => {
  it("reports docker with its socket and cri-dockerd's upstream units in the layout", async () => {
    const layout = await agent.getNodeLayout();
    expect(layout.runtime).toEqual({
      kind: "docker",
      units: [
        { service: "containerd.service", socket: "" },
        { service: "docker.service", socket: "docker.socket" },
        { service: "cri-docker.service", socket: "cri-docker.socket" },
      ],
    });
    expect(layout.kubeletUnit).toBe("kubelet.service");
    expect(layout.etcd?.mode).toBe("ETCD_MODE_NONE");
  });

  it("a service stopped without its socket is started again by the next client", async () => {
    const res = await agent.stopUnits({ operationId: "rt-service-only", units: [{ name: "docker.service" }] });
    expect(res.ok).toBe(true);
    expect(await active("docker.service")).toBe("inactive");
    expect(await active("docker.socket")).toBe("active");
    expect(await knock(SOCKET)).toBe("connected");
    await node.waitFor("docker.service", (p) => p.ActiveState === "active", ["ActiveState"], 10_000);
  });

  it("the socket and the service stopped together, socket first, stay down when a client comes", async () => {
    const res = await agent.stopUnits({
      operationId: "rt-stop-all",
      units: [
        { name: "cri-docker.socket" },
        { name: "cri-docker.service" },
        { name: "docker.socket" },
        { name: "docker.service" },
      ],
    });
    expect(res.ok).toBe(true);
    for (const u of ["cri-docker.socket", "cri-docker.service", "docker.socket", "docker.service"]) {
      expect(await active(u)).toBe("inactive");
    }
    expect(await knock(SOCKET)).toMatch(/^(ENOENT|ECONNREFUSED)$/);
    expect(await knock(CRI_SOCKET)).toMatch(/^(ENOENT|ECONNREFUSED)$/);
    expect([...(await statesFor("docker.service", 1500))]).toEqual(["inactive"]);

    const start = await agent.startUnits({
      operationId: "rt-start-all",
      units: [
        { name: "docker.socket" },
        { name: "docker.service" },
        { name: "cri-docker.socket" },
        { name: "cri-docker.service" },
      ],
    });
    expect(start.ok).toBe(true);
    expect(await active("docker.service")).toBe("active");
    expect(await knock(SOCKET)).toBe("connected");
  });
});

describe("PowerOff", () => {
  it("answers, then ends the node's systemd; after the node boots again the same operation is only replayed", async () => {
    const bootBefore = (await node.exec(["cat", "/proc/sys/kernel/random/boot_id"])).stdout.trim();
    const pid1 = node.pid;
    const res = await agent.powerOff({ operationId: "rt-poweroff-1", delayMs: 500 });
    expect(res).toMatchObject({ operationId: "rt-poweroff-1", replayed: false, bootId: bootBefore });
    // The node's PID 1 (systemd) ends: systemctl poweroff in a PID namespace ends the namespace's init.
    const deadline = Date.now() + 30_000;
    while (pidAlive(pid1)) {
      if (Date.now() > deadline) {
        const why = await Promise.all([
          node.exec(["systemctl", "is-system-running"]),
          node.exec(["systemctl", "list-jobs", "--no-pager"]),
          node.exec(["journalctl", "--no-pager", "-n", "40", "-o", "cat"]),
        ]);
        throw new Error(
          `the node's systemd did not end within 30 s of PowerOff:\n${why.map((r) => r.stdout + r.stderr).join("\n")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await node.shutdown();

    node = await boot();
    await waitForAgent(agent, 30_000);
    const bootAfter = (await node.exec(["cat", "/proc/sys/kernel/random/boot_id"])).stdout.trim();
    expect(bootAfter).not.toBe(bootBefore);
    expect((await agent.getNodeLayout()).bootId).toBe(bootAfter);

    const replay = await agent.powerOff({ operationId: "rt-poweroff-1", delayMs: 500 });
    expect(replay).toEqual({ ...res, replayed: true });
    // Not powered off again: the node's systemd is still there well after the delay.
    const pidNow = node.pid;
    await new Promise((r) => setTimeout(r, 2000));
    expect(pidAlive(pidNow)).toBe(true);
    expect((await node.exec(["systemctl", "is-system-running"])).stdout.trim()).toMatch(/^(running|degraded)$/);
  });
});

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
