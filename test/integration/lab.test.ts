// The lab itself: 3 masters and 2 workers, each a real systemd in its own namespaces on the lab bridge, a real
// 3-member etcd, the product's agent on every node. Every claim is checked through a channel of its own: etcdctl in
// the node with the node's /etc/etcd.env, the agents over mTLS from the host, files on the host, /proc and iproute2.
import { lstat, readFile, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "../lab/agent.js";
import { pidNamespaceAlive, run, type RunResult } from "../lab/host.js";
import { labDown, labUp, readInventory, type Lab } from "../lab/lab.js";
import { BRIDGE, BRIDGE_ADDRESS, LAB_PREFIX } from "../lab/layout.js";
import { hostPathKinds, runLabCli } from "../lab/testing.js";
import { labProcesses, labTraces, stillAlive } from "../lab/traces.js";

const UP_TIMEOUT_MS = 180_000;
let lab: Lab;
let hostPathsBefore: Record<string, string>;

const cli = (...args: string[]): Promise<RunResult> => runLabCli(args);

async function sh(node: string, script: string): Promise<RunResult> {
  return lab.node(node).exec(["/bin/sh", "-c", script]);
}

async function agentStatus(node: string) {
  const agent = await lab.agent(node);
  try {
    return await agent.getStatus({ refreshFacts: true });
  } finally {
    agent.close();
  }
}

beforeAll(async () => {
  await labDown();
  hostPathsBefore = await hostPathKinds();
  lab = await labUp({ masters: 3, workers: 2, log: (l) => console.log(`lab: ${l}`) });
}, UP_TIMEOUT_MS);

afterAll(async () => {
  await labDown();
}, UP_TIMEOUT_MS);

describe("a lab of 3 masters and 2 workers", () => {
  // The bound keeps every lab test file fast. It covers all of `up` but the build and packing the release: the PKI and
  // each node's files, the release unpacked and copied to every node, the five nodes booting concurrently, each one's
  // `kubecycle-agent install` run once it has booted (three start-ups of the agent's bundle: install, the unit's
  // --check, the agent), the agents serving, etcd's quorum and the workload seeded. CI (load ~10 on 2 cores) measured
  // 15-28 s before the install; the install adds ~7-10 s per node there, mostly overlapping the other nodes' boots.
  it("boots in under 35 s, the nodes concurrently, each installing its agent once booted", () => {
    const t = lab.timings;
    expect(t).toBeDefined();
    console.log(`lab up: ${JSON.stringify(t)}`);
    expect(t?.totalMs).toBeLessThan(35_000);
    expect(Object.keys(t?.nodeInstallMs ?? {})).toHaveLength(5);
    // Concurrent: the boot phase is shorter than the sum of the nodes' boots.
    const sum = Object.values(t?.nodeBootMs ?? {}).reduce((a, b) => a + b, 0);
    expect(Object.keys(t?.nodeBootMs ?? {})).toHaveLength(5);
    expect(t?.bootMs).toBeLessThan(sum);
  });

  it("describes itself in .lab/: inventory, kubecycle config, PKI, and env lines for the coordinator", async () => {
    const inv = await readInventory();
    expect(inv.nodes.map((n) => [n.name, n.role, n.ip, n.etcdMember ?? null])).toEqual([
      ["kclab-master-1", "master", "198.18.7.11", "etcd-kclab-master-1"],
      ["kclab-master-2", "master", "198.18.7.12", "etcd-kclab-master-2"],
      ["kclab-master-3", "master", "198.18.7.13", "etcd-kclab-master-3"],
      ["kclab-worker-1", "worker", "198.18.7.21", null],
      ["kclab-worker-2", "worker", "198.18.7.22", null],
    ]);
    expect(inv.etcd.endpoints).toEqual([
      "https://198.18.7.11:2379",
      "https://198.18.7.12:2379",
      "https://198.18.7.13:2379",
    ]);
    const config = parse(await readFile(lab.kubecycleConfigPath, "utf8")) as {
      cluster: string;
      kubeconfig: string;
      stateDir: string;
      agents: { port: number; tls: { ca: string; cert: string; key: string } };
    };
    expect(config.cluster).toBe("kclab");
    expect(config.agents.port).toBe(9443);
    // kubecycle's own identity on the API (deploy/rbac.yaml's group), not the admin's the tests look through.
    expect(config.kubeconfig).toBe(join(REPO_ROOT, ".lab", "kubecycle-operator.kubeconfig"));
    for (const f of [config.agents.tls.ca, config.agents.tls.cert, config.agents.tls.key, inv.etcd.certFile]) {
      expect((await stat(f)).size).toBeGreaterThan(0);
    }
    expect(config.agents.tls.cert).toMatch(/\/\.lab\/pki\/clients\/lab-operator\.crt$/);
    expect(((await stat(config.agents.tls.key)).mode & 0o777).toString(8)).toBe("600");
    expect(lab.envLines()).toContain(`export KUBECYCLE_CONFIG='${lab.kubecycleConfigPath}'`);
    if (lab.state.kube) expect((await stat(lab.kubeconfigPath)).size).toBeGreaterThan(0);
  });

  it("gives every node its own network namespace and address on the lab bridge, reachable from the host", async () => {
    const bridge = await run("ip", ["-o", "-4", "addr", "show", "dev", BRIDGE]);
    expect(bridge.stdout).toContain(`inet ${BRIDGE_ADDRESS}/24`);
    const hostNet = await readlink("/proc/self/ns/net");
    const seen = new Set<string>();
    for (const n of lab.nodes) {
      const p = await n.pid1();
      expect(p?.comm).toBe("systemd");
      expect(p?.netNs).not.toBe(hostNet);
      seen.add(p?.netNs ?? "");
      const addr = await n.exec(["ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
      expect(addr.stdout).toContain(`inet ${n.ip}/24`);
      // Lab-only: no default route out of the lab's subnet.
      expect((await n.exec(["ip", "route", "show", "default"])).stdout.trim()).toBe("");
      expect((await n.exec(["hostname"])).stdout.trim()).toBe(n.name);
    }
    expect(seen.size).toBe(5);
  });

  it("keeps each node's state to itself: nothing written in one node shows in another or on the host", async () => {
    const marker = `/etc/kubernetes/lab-test-${process.pid}`;
    expect((await sh("kclab-master-1", `echo m1 > ${marker}`)).code).toBe(0);
    expect((await sh("kclab-master-2", `test -e ${marker}`)).code).toBe(1);
    await expect(lstat(marker)).rejects.toThrow();
    expect(
      await readFile(
        join(lab.node("kclab-master-1").stateDir, "etc-kubernetes", marker.split("/").pop() ?? ""),
        "utf8",
      ),
    ).toBe("m1\n");
    // etcd's data is the master's own; the host's /var/lib/etcd is untouched.
    expect((await sh("kclab-master-1", "test -d /var/lib/etcd/member")).code).toBe(0);
    await expect(lstat("/var/lib/etcd/member")).rejects.toThrow();
  });

  it("installs the agent from the release as the README says, and runs the repo's own unit on every node", async () => {
    const shipped = await readFile(join(REPO_ROOT, "systemd", "kubecycle-agent.service"), "utf8");
    const released = await readFile(
      join(REPO_ROOT, ".lab", "release", "package", "dist", "bin", "kubecycle-agent.mjs"),
    );
    const version = (JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { version: string })
      .version;
    // The nodes one at a time, each checked by one process in it (a process in a node costs a second or more on a
    // loaded 2-core machine): the unit file as shipped, active and enabled, no package left in /opt, the key 0600.
    const script = [
      "cat /etc/systemd/system/kubecycle-agent.service",
      "echo '--'",
      "systemctl is-active kubecycle-agent",
      "systemctl is-enabled kubecycle-agent",
      "test -e /opt/kubecycle/package.json && echo package-left || echo no-package",
      "stat -c %a /etc/kubecycle/pki/agent.key",
    ].join("; ");
    for (const n of lab.nodes) {
      const out = (await n.exec(["sh", "-c", script])).stdout;
      const [unit, rest = ""] = out.split("--\n");
      expect(unit, n.name).toBe(`${shipped}`);
      expect(rest.trim().split("\n"), n.name).toEqual(["active", "enabled", "no-package", "600"]);
      // The program systemd runs is the release's, copied into the node's own /usr/local/bin, not the checkout's.
      expect(await readFile(join(n.stateDir, "usr-local-bin", "kubecycle-agent"))).toEqual(released);
    }
    // The installed program runs in the node as itself (the same file on every node, so one node says it).
    expect((await lab.node("kclab-worker-1").exec(["/usr/local/bin/kubecycle-agent", "--version"])).stdout).toBe(
      `kubecycle-agent ${version}\n`,
    );
    // Installing again changes nothing and leaves the agent running (the install is idempotent).
    const again = await lab.node("kclab-worker-1").exec(["/usr/local/bin/kubecycle-agent", "install"]);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/^(created|updated)/m);
    expect(again.stdout).toContain("kubecycle-agent.service: running");
  }, 120_000);

  it("lays etcd out like KubeKey: etcd.service, /etc/etcd.env with ETCDCTL_*, certificates in /etc/ssl/etcd/ssl", async () => {
    for (const m of lab.masters) {
      const unit = (await m.exec(["systemctl", "show", "-p", "Type,Restart,EnvironmentFiles,ExecStart", "etcd"]))
        .stdout;
      expect(unit).toContain("Type=notify");
      expect(unit).toContain("Restart=always");
      expect(unit).toMatch(/EnvironmentFiles=\/etc\/etcd\.env/);
      expect(unit).toContain("path=/usr/bin/etcd");
      const env = (await m.exec(["cat", "/etc/etcd.env"])).stdout;
      for (const key of ["ETCDCTL_API=3", "ETCDCTL_ENDPOINTS=", "ETCDCTL_CACERT=", "ETCDCTL_CERT=", "ETCDCTL_KEY="]) {
        expect(env).toContain(key);
      }
      expect(env).toContain(`ETCD_INITIAL_ADVERTISE_PEER_URLS=https://${m.ip}:2380`);
      expect(env).toContain(`ETCD_LISTEN_PEER_URLS=https://${m.ip}:2380`);
      const ssl = (await m.exec(["ls", "/etc/ssl/etcd/ssl"])).stdout.split("\n").filter(Boolean).sort();
      expect(ssl).toEqual(
        [
          "ca-key.pem",
          "ca.pem",
          `admin-${m.name}-key.pem`,
          `admin-${m.name}.pem`,
          `member-${m.name}-key.pem`,
          `member-${m.name}.pem`,
          `node-${m.name}-key.pem`,
          `node-${m.name}.pem`,
        ].sort(),
      );
    }
    // Workers are no etcd members: no /etc/etcd.env (the agent reads its presence that way), no etcd unit.
    for (const w of lab.workers) {
      expect((await w.exec(["test", "-e", "/etc/etcd.env"])).code).toBe(1);
      expect((await w.exec(["systemctl", "show", "-p", "LoadState", "--value", "etcd"])).stdout.trim()).toBe(
        "not-found",
      );
    }
  });

  it("has 3 healthy etcd members, as etcdctl on each master sees it through its own /etc/etcd.env", async () => {
    for (const m of lab.masters) {
      const health = await lab.etcdctl(["endpoint", "health", "--cluster", "-w", "json"], { node: m.name });
      expect(health.code, health.stderr).toBe(0);
      const endpoints = JSON.parse(health.stdout) as Array<{ endpoint: string; health: boolean }>;
      expect(endpoints.map((e) => [e.endpoint, e.health]).sort()).toEqual([
        ["https://198.18.7.11:2379", true],
        ["https://198.18.7.12:2379", true],
        ["https://198.18.7.13:2379", true],
      ]);
    }
    const members = await lab.etcdctl(["member", "list", "-w", "simple"]);
    const rows = members.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(", "));
    expect(rows.map((r) => [r[2], r[3]]).sort()).toEqual([
      ["etcd-kclab-master-1", "https://198.18.7.11:2380"],
      ["etcd-kclab-master-2", "https://198.18.7.12:2380"],
      ["etcd-kclab-master-3", "https://198.18.7.13:2380"],
    ]);
  });

  it("answers on every agent over mTLS from the host, with the node's units and its own boot id", async () => {
    const hostBootId = (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
    const bootIds = new Set<string>();
    for (const n of lab.nodes) {
      const agent = await lab.agent(n.name);
      try {
        const h = await agent.health();
        expect([h.state, h.nodeName, h.callerIdentity, h.callerRole]).toEqual([
          "serving",
          n.name,
          "lab-operator",
          "ROLE_OPERATOR",
        ]);
      } finally {
        agent.close();
      }
      const st = await agentStatus(n.name);
      expect(st.facts?.hostname).toBe(n.name);
      const etcd = st.units.find((u) => u.name === "etcd.service");
      if (n.role === "master") expect([etcd?.exists, etcd?.activeState]).toEqual([true, "active"]);
      else expect(etcd?.exists).toBe(false);
      const bootId = st.facts?.bootId ?? "";
      expect(bootId).toMatch(/^[0-9a-f-]{36}$/);
      expect(bootId).toBe(await n.bootId());
      bootIds.add(bootId);
    }
    expect(bootIds.size).toBe(5);
    expect(bootIds.has(hostBootId)).toBe(false);
  });

  it("is idempotent: up again with the same shape keeps the running lab", async () => {
    const before = await Promise.all(lab.nodes.map(async (n) => (await n.pid1())?.pid));
    const again = await labUp({ masters: 3, workers: 2, kube: lab.state.kube });
    expect(again.timings).toBeUndefined();
    expect(await Promise.all(again.nodes.map(async (n) => (await n.pid1())?.pid))).toEqual(before);
  });

  it("powers a master off and on: persistent state survives, /run and /tmp do not, the boot id changes", async () => {
    const m2 = lab.node("kclab-master-2");
    const key = `/lab-test/${process.pid}`;
    expect((await lab.etcdctl(["put", key, "survives"], { node: m2.name })).code).toBe(0);
    expect(
      (await sh(m2.name, "echo x > /run/lab-runtime; echo x > /tmp/lab-runtime; echo x > /etc/kubecycle/lab-persist"))
        .code,
    ).toBe(0);
    const bootBefore = (await agentStatus(m2.name)).facts?.bootId;

    await lab.poweroff(m2.name);
    expect(await m2.isRunning()).toBe(false);
    const agent = await lab.agent(m2.name);
    await expect(agent.health({ deadlineMs: 1500 })).rejects.toThrow();
    agent.close();
    const degraded = await lab.etcdHealth("kclab-master-1");
    expect(degraded.endpoints.map((e) => e.health).sort()).toEqual([false, true, true]);

    const poweredOnMs = Date.now();
    const bootMs = await lab.boot(m2.name);
    expect(bootMs[m2.name]).toBeGreaterThan(0);
    // Read from the rebooted member itself (ETCDCTL_ENDPOINTS is its own 127.0.0.1), then the whole cluster.
    const got = await lab.etcdctl(["get", key, "--print-value-only"], { node: m2.name });
    expect(got.stdout.trim()).toBe("survives");
    await lab.waitEtcdHealthy();
    expect((await sh(m2.name, "cat /etc/kubecycle/lab-persist")).stdout).toBe("x\n");
    expect((await sh(m2.name, "test -e /run/lab-runtime || test -e /tmp/lab-runtime")).code).toBe(1);
    const bootAfter = (await agentStatus(m2.name)).facts?.bootId;
    expect(bootAfter).toMatch(/^[0-9a-f-]{36}$/);
    expect(bootAfter).not.toBe(bootBefore);
    // The node's own clock since boot: the agent reports when this node booted, not when the host did.
    const bootedUnixMs = Number((await agentStatus(m2.name)).facts?.bootedUnixMs);
    expect(bootedUnixMs).toBeGreaterThanOrEqual(poweredOnMs - 2000);
    expect(bootedUnixMs).toBeLessThanOrEqual(Date.now());
  });

  it("refuses to boot a lone etcd member of a stopped cluster, and boots the masters together", async () => {
    const key = `/lab-test/all-${process.pid}`;
    expect((await lab.etcdctl(["put", key, "kept"])).code).toBe(0);
    const names = lab.masters.map((m) => m.name);
    await lab.poweroff(...names);
    const first = names[0] ?? "";
    await expect(lab.boot(first)).rejects.toThrow(/quorum/);
    expect(await lab.node(first).isRunning()).toBe(false);

    await lab.boot(...names);
    await lab.waitEtcdHealthy();
    expect((await lab.etcdctl(["get", key, "--print-value-only"])).stdout.trim()).toBe("kept");
  });

  it("ends a node on `systemctl poweroff` inside it as a power cut does; boot brings it back with its disks", async () => {
    const w = lab.node("kclab-worker-1");
    expect((await sh(w.name, "echo kept > /etc/kubecycle/lab-poweroff; echo gone > /run/lab-poweroff")).code).toBe(0);
    const bootBefore = await w.bootId();
    const pid1 = await w.pid1();
    const poweroff = await w.systemctl("poweroff");
    expect(poweroff.code, poweroff.stderr).toBe(0);
    await lab.waitPoweredOff([w.name], 30_000);
    expect(await w.isRunning()).toBe(false);
    // Every process of that boot is gone, as after a power cut.
    expect(await pidNamespaceAlive(pid1?.pidNs ?? "")).toBe(false);
    const agent = await lab.agent(w.name);
    await expect(agent.health({ deadlineMs: 1500 })).rejects.toThrow();
    agent.close();

    await lab.boot(w.name);
    expect((await sh(w.name, "cat /etc/kubecycle/lab-poweroff")).stdout).toBe("kept\n");
    expect((await sh(w.name, "test -e /run/lab-poweroff")).code).toBe(1);
    expect(await w.bootId()).not.toBe(bootBefore);
  });

  it("works from the CLI: status, env and exec", async () => {
    const status = await cli("status", "-o", "json");
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { nodes: Array<{ name: string; running: boolean; agent: string }> };
    expect(s.nodes.map((n) => [n.name, n.running, n.agent])).toEqual(lab.nodes.map((n) => [n.name, true, "serving"]));

    const env = await cli("env");
    expect(env.code).toBe(0);
    const evaluated = await run("/bin/sh", ["-c", `${env.stdout}\nprintf '%s\\n' "$KUBECYCLE_CONFIG"`]);
    expect(evaluated.stdout.trim()).toBe(lab.kubecycleConfigPath);

    const hostname = await cli("exec", "kclab-worker-2", "--", "hostname");
    expect([hostname.code, hostname.stdout.trim()]).toEqual([0, "kclab-worker-2"]);
    expect((await cli("exec", "kclab-worker-2", "--", "sh", "-c", "exit 7")).code).toBe(7);
    const unknown = await cli("exec", "kclab-nope", "--", "true");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no lab node");
  });

  it("goes down leaving nothing: no namespaces, links, cgroups, processes, mounts, created paths or state", async () => {
    const processes = await labProcesses();
    // systemd, journald, the agent and (on masters) etcd in each node, at least.
    expect(processes.filter((p) => / systemd: /.test(p.what))).toHaveLength(5);
    expect(processes.filter((p) => / etcd: /.test(p.what))).toHaveLength(3);
    const during = await labTraces();
    expect(during.netns).toHaveLength(5);
    expect(during.links).toHaveLength(6);
    expect(await hostPathKinds()).not.toEqual(hostPathsBefore);

    await labDown();

    expect(await stillAlive(processes)).toEqual([]);
    expect(await labTraces()).toEqual({ netns: [], links: [], cgroups: [], processes: [], mounts: [] });
    const links = await run("ip", ["-o", "link", "show"]);
    expect(links.stdout).not.toContain(LAB_PREFIX);
    expect((await run("ip", ["netns", "list"])).stdout).not.toContain(LAB_PREFIX);
    expect(await hostPathKinds()).toEqual(hostPathsBefore);
    await expect(lstat(join(REPO_ROOT, ".lab"))).rejects.toThrow();
  });
});
