// The lab with docker and cri-dockerd as every node's runtime (`labUp({ runtime: "docker" })`), and with sshd in every
// node (`sshd: true`; one small lab of a master and a worker serves both, to keep CI short). Socket activation is
// real: systemd passes docker.socket's listening fd to docker.service, and while that socket listens, a stopped
// docker is started again by the next client, which is the trap kubecycle must not fall into. Checked with systemctl,
// /proc and crictl inside the node, the API, and ssh from the host.
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, waitFor, type RunResult } from "../lab/host.js";
import { labDown, labUp, type Lab, type LabNode } from "../lab/lab.js";

const UP_TIMEOUT_MS = 180_000;
let lab: Lab;
let core: CoreV1Api;
let worker: LabNode;

function ok(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return r;
}

async function show(node: LabNode, unit: string, prop: string): Promise<string> {
  return ok(
    await node.exec(["systemctl", "show", "-p", prop, "--value", unit]),
    `systemctl show ${unit}`,
  ).stdout.trim();
}

/** The container processes in a node (argv[0] lab-container:...), by pid. */
async function containerPids(node: LabNode): Promise<number[]> {
  const r = ok(await node.exec(["ps", "-e", "-o", "pid=,stat=,args="]), "ps");
  return r.stdout
    .split("\n")
    .map((l) => /^\s*(\d+)\s+(\S+)\s+lab-container:/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && !(m[2] ?? "").startsWith("Z"))
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

async function nodeReady(name: string): Promise<string | undefined> {
  const n = await core.readNode({ name });
  return n.status?.conditions?.find((c) => c.type === "Ready")?.status;
}

beforeAll(async () => {
  await labDown();
  lab = await labUp({ masters: 1, workers: 1, runtime: "docker", sshd: true, log: (l) => console.log(`lab: ${l}`) });
  console.log(`lab up (docker, sshd, 2 nodes): ${JSON.stringify(lab.timings)}`);
  worker = lab.workers[0] as LabNode;
  const kc = new KubeConfig();
  kc.loadFromFile(lab.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
}, UP_TIMEOUT_MS);

afterAll(async () => {
  await labDown();
}, UP_TIMEOUT_MS);

describe("docker with cri-dockerd", () => {
  it("runs docker.service + docker.socket and cri-docker.service + cri-docker.socket, and no containerd; the kubelet and crictl talk to cri-dockerd", async () => {
    for (const n of lab.nodes) {
      for (const u of [
        "docker.socket",
        "docker.service",
        "cri-docker.socket",
        "cri-docker.service",
        "kubelet.service",
      ]) {
        expect([u, await n.unitState(u), await show(n, u, "UnitFileState")]).toEqual([u, "active", "enabled"]);
      }
      expect(await n.unitState("containerd.service")).toBe("-");
      expect(await show(n, "docker.socket", "Listen")).toBe("/run/docker.sock (Stream)");
      expect(await show(n, "cri-docker.socket", "Listen")).toBe("/run/cri-dockerd.sock (Stream)");
      expect(await show(n, "docker.service", "KillMode")).toBe("process");
      const kubelet = ok(await n.exec(["pgrep", "-a", "-f", "kubelet.mjs"]), "pgrep kubelet").stdout;
      expect(kubelet).toContain("--container-runtime-endpoint=unix:///run/cri-dockerd.sock");
      const version = ok(await n.exec(["crictl", "version"]), "crictl version").stdout;
      expect(version).toMatch(/RuntimeName:\s+docker/);
    }
    const info = (await core.readNode({ name: worker.kubeName })).status?.nodeInfo;
    expect(info?.containerRuntimeVersion).toMatch(/^docker:\/\//);
  });

  it("is socket-activated for real: systemd hands docker.socket's fd to docker, and a stopped docker comes back on the next client while its socket listens", async () => {
    const pid = Number(await show(worker, "docker.service", "MainPID"));
    // What systemd passed: LISTEN_PID/LISTEN_FDS in the process's initial environment, fd 3 a socket.
    const environ = ok(await worker.exec(["cat", `/proc/${pid}/environ`]), "environ").stdout.split("\0");
    expect(environ).toEqual(expect.arrayContaining([`LISTEN_PID=${pid}`, "LISTEN_FDS=1"]));
    expect(ok(await worker.exec(["readlink", `/proc/${pid}/fd/3`]), "readlink fd 3").stdout).toMatch(/^socket:/);

    const containers = await containerPids(worker);
    expect(containers.length).toBeGreaterThan(0);
    const stop = await worker.systemctl("stop", "docker.service");
    expect(stop.code).toBe(0);
    expect(stop.stderr).toContain("can still be activated by");
    // Nobody starts it but the socket: the kubelet's next CRI call through cri-dockerd does.
    const restarted = await waitFor(
      "docker.service to be started again by its socket",
      async () => {
        const p = Number(await show(worker, "docker.service", "MainPID"));
        return (await worker.unitState("docker.service")) === "active" && p !== pid && p > 0 ? p : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(restarted).not.toBe(pid);
    const journal = ok(
      await worker.exec(["journalctl", "-u", "docker.service", "-o", "cat", "--no-pager"]),
      "journalctl",
    ).stdout;
    expect(journal.match(/Started docker\.service/g)?.length).toBe(2);
    // The containers lived through it and were re-adopted.
    expect(await containerPids(worker)).toEqual(containers);
  });

  it("stays down with its socket stopped too: containers keep running, the node goes NotReady; the socket brings it back", async () => {
    const containers = await containerPids(worker);
    ok(await worker.systemctl("stop", "docker.socket", "docker.service"), "stop docker.socket docker.service");
    await waitFor(
      `${worker.kubeName} NotReady`,
      async () => ((await nodeReady(worker.kubeName)) === "False" ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    // The kubelet kept calling all along, and docker stayed down.
    expect([await worker.unitState("docker.service"), await worker.unitState("docker.socket")]).toEqual([
      "inactive",
      "inactive",
    ]);
    expect(await containerPids(worker)).toEqual(containers);
    expect((await worker.exec(["crictl", "pods"])).code).toBe(1);

    // Stopping cri-dockerd stops its socket too (PartOf=): nothing listens on /run/cri-dockerd.sock.
    ok(await worker.systemctl("stop", "cri-docker.service"), "stop cri-docker");
    expect(await worker.unitState("cri-docker.socket")).toBe("inactive");

    ok(await worker.systemctl("start", "docker.socket", "cri-docker.socket"), "start the sockets");
    await waitFor(
      `${worker.kubeName} Ready`,
      async () => ((await nodeReady(worker.kubeName)) === "True" ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect([await worker.unitState("docker.service"), await worker.unitState("cri-docker.service")]).toEqual([
      "active",
      "active",
    ]);
    expect(await containerPids(worker)).toEqual(containers);
  });
});

describe("sshd in every node", () => {
  it("takes root logins with the lab's key under either name, the node's own host key pinned", async () => {
    const env = lab.envLines().join("\n");
    expect(env).toContain("KUBECYCLE_LAB_SSH_CONFIG=");
    const config = `${lab.paths.ssh}/config`;
    const keys = new Set<string>();
    for (const n of lab.nodes) {
      for (const name of [n.name, n.kubeName, n.ip]) {
        const r = await run("ssh", [
          "-F",
          config,
          "-o",
          "BatchMode=yes",
          `root@${name}`,
          "hostname; systemctl is-active kubelet",
        ]);
        expect([name, r.code, r.stdout.trim().split("\n")]).toEqual([name, 0, [n.plan.hostname, "active"]]);
      }
      keys.add(
        ok(await n.exec(["cat", "/etc/kubecycle-lab/ssh/ssh_host_ed25519_key.pub"]), "host key").stdout.split(" ")[1] ??
          "",
      );
      expect(await n.unitState("ssh.service")).toBe("active");
    }
    expect(keys.size).toBe(lab.nodes.length);
    // A host key that is not the node's is refused (StrictHostKeyChecking against the lab's known_hosts).
    const other = await run("ssh", [
      "-F",
      config,
      "-o",
      "BatchMode=yes",
      "-o",
      "HostKeyAlias=not-a-lab-node",
      `root@${worker.name}`,
      "true",
    ]);
    expect(other.code).toBe(255);
  });
});
