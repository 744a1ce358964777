// The runbook's section 3 (a planned outage) as two commands, on the lab: `kubecycle cluster stop` and `cluster
// start`, the refusals, and a node dropping off half-way. (A whole power cycle with nothing lost, started on boot,
// is serve.test.ts's.) Every outcome is checked through an independent channel: systemctl and its unit timestamps
// inside each node, etcd itself (its JSON gateway and etcdctl), and the API through @kubernetes/client-node.
// kubecycle's own words are not the proof.
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../lab/host.js";
import { labUp, type Lab } from "../lab/lab.js";
import { ClusterProbe } from "./cluster.js";
import { downLab, journalOf, kubecycle as cli, opOf } from "./helpers.js";

let lab: Lab;
let probe: ClusterProbe;

const kubecycle = (args: string[], onStart?: Parameters<typeof cli>[2]) => cli(lab, args, onStart);
const unitTimes = (node: string, unit: string) => probe.unitTimes(node, unit);
const masters = () => probe.masters;
const everyNode = () => probe.nodes;
const lockLease = () => probe.lockLease();
const untouched = () => probe.untouched();
const settled = (timeoutMs?: number) => probe.settled(timeoutMs);
/** The agent's operation fence on `node`, read from its file inside the node. */
const fenceOf = async (node: string) =>
  JSON.parse((await lab.node(node).exec(["cat", "/var/lib/kubecycle-agent/fence.json"])).stdout) as { op: string };

beforeAll(async () => {
  lab = await labUp({ masters: 3, workers: 2, build: "skip" });
  probe = await ClusterProbe.open(lab);
  await settled();
}, 240_000);

afterAll(async () => {
  await downLab(lab, import.meta.url);
}, 120_000);

describe("kubecycle cluster stop/start on the lab", () => {
  it("prints both plans with --dry-run, phase by phase, and changes nothing", async () => {
    const stop = await kubecycle(["cluster", "stop", "--dry-run", "--boot-hold", "--poweroff"]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(
      /Preflight[\s\S]*Record the inventory[\s\S]*Cordon every node[\s\S]*Disable start at boot[\s\S]*Stop kubelet on every node[\s\S]*Stop the etcd followers together[\s\S]*Stop the etcd leader last[\s\S]*Stop the container runtime[\s\S]*Power the nodes off/,
    );
    await untouched();
  });

  describe("refuses, changing nothing", () => {
    it("a certificate that expires within --cert-window, naming its node, path and date", async () => {
      const r = await kubecycle(["cluster", "stop", "--yes", "--cert-window", "3650d"]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/certificate\(s\) expire within the window: \S+ \/\S+ \(.*\) expires \d{4}-\d\d-\d\d/);
      expect(r.stderr).toContain("hint:");
      await untouched();
    });

    it("an agent that does not answer, naming the node", async () => {
      const w = lab.workers[0]?.name ?? "";
      await lab.node(w).systemctl("stop", "kubecycle-agent");
      try {
        const r = await kubecycle(["cluster", "stop", "--yes"]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(`${w}: Health: the agent is unreachable`);
        await untouched();
      } finally {
        await lab.node(w).systemctl("start", "kubecycle-agent");
        await lab.waitAgents([w]);
      }
    }, 120_000);

    it("an unhealthy etcd member, naming it", async () => {
      const m3 = masters()[2] ?? "";
      await lab.node(m3).systemctl("stop", "etcd");
      try {
        const r = await kubecycle(["cluster", "stop", "--yes"]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain("etcd is not healthy");
        expect(r.stderr).toContain(m3);
        expect(await lockLease()).toBeUndefined();
      } finally {
        await lab.node(m3).systemctl("start", "--no-block", "etcd");
        await lab.waitEtcdHealthy();
      }
      await untouched();
    }, 120_000);

    it("a node whose address drifted from its InternalIP", async () => {
      const w = lab.workers[1]?.name ?? "";
      // The API says the node is at another address (as after a DHCP change); its kubelet, which would report the
      // real one, is stopped meanwhile.
      await lab.node(w).systemctl("stop", "kubelet");
      try {
        await probe.core.patchNodeStatus({
          name: w,
          body: [{ op: "replace", path: "/status/addresses", value: [{ type: "InternalIP", address: "198.18.7.99" }] }],
        });
        const r = await kubecycle(["cluster", "stop", "--yes"]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(`${w} no longer has 198.18.7.99 (its InternalIP in the API)`);
        expect(await lockLease()).toBeUndefined();
      } finally {
        await lab.node(w).systemctl("start", "kubelet");
      }
      await settled();
      await untouched();
    }, 180_000);
  });

  it("stops at the phase's barrier, naming the node, when a node drops off the network; then starts again", async () => {
    const w = lab.workers[0];
    if (!w) throw new Error("no worker");
    // The node drops off as soon as the stop phases begin: its link on the lab bridge goes down.
    let dropped = false;
    const r = await kubecycle(["cluster", "stop", "--yes", "-o", "json"], (child) => {
      child.stdout?.on("data", (d: Buffer) => {
        if (!dropped && d.toString().includes('"phase":"stop-kubelet"')) {
          dropped = true;
          void run("ip", ["link", "set", w.hostVeth, "down"]);
        }
      });
    });
    try {
      expect(dropped).toBe(true);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`failed at stop-kubelet/stop-units/${w.name}`);
      expect(r.stderr).toContain("unreachable");
      const journal = await journalOf(lab, opOf(r));
      expect(journal.result).toBe("failed");
      for (const [id, s] of Object.entries(journal.steps)) {
        if (/^(stop-workload|park-lease|stop-control-plane|stop-etcd|stop-etcd-leader|stop-runtime)\//.test(id)) {
          expect(s.status, id).toBe("pending");
        }
      }
    } finally {
      await run("ip", ["link", "set", w.hostVeth, "up"]);
    }
    // Nothing of the next phases ran on any node: etcd and the runtime run everywhere (systemd in each node).
    for (const m of masters()) expect((await unitTimes(m, "etcd")).active).toBe("active");
    for (const n of everyNode()) expect((await unitTimes(n, "containerd")).active).toBe("active");
    // The lock stays parked for the start, which brings everything back.
    expect(await lockLease()).toBe(opOf(r));
    await lab.waitAgents([w.name]);
    const start = await kubecycle(["cluster", "start", "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    await settled();
    await untouched();
  }, 300_000);

  it("stops phase by phase and starts in order, as the nodes' own systemd recorded it", async () => {
    const stop = await kubecycle(["cluster", "stop", "--yes"]);
    expect(stop.code, stop.stderr).toBe(0);
    const nodes = everyNode();
    const kubelet = await Promise.all(nodes.map((n) => unitTimes(n, "kubelet")));
    const etcd = await Promise.all(masters().map((n) => unitTimes(n, "etcd")));
    const runtime = await Promise.all(nodes.map((n) => unitTimes(n, "containerd")));
    for (const u of [...kubelet, ...etcd, ...runtime]) expect(u.active).toBe("inactive");
    // No etcd began to stop before every kubelet had stopped; no runtime before every etcd.
    expect(Math.min(...etcd.map((u) => u.activeExit))).toBeGreaterThanOrEqual(
      Math.max(...kubelet.map((u) => u.inactiveEnter)),
    );
    expect(Math.min(...runtime.map((u) => u.activeExit))).toBeGreaterThanOrEqual(
      Math.max(...etcd.map((u) => u.inactiveEnter)),
    );
    // Every change carried the stop's operation: each agent's fence names it.
    for (const n of nodes) expect((await fenceOf(n)).op, `${n} fence`).toBe(opOf(stop));
    // No container process is left on any node.
    for (const n of nodes) {
      const ps = await lab.node(n).exec(["pgrep", "-f", "lab-container:"]);
      expect(ps.stdout.trim(), `${n} containers`).toBe("");
    }
    // The API is down: the start works from the recorded inventory. The test watches the apiservers' readiness itself.
    await expect(probe.core.listNode()).rejects.toThrow();
    let apiReadyAt = Number.NaN;
    let watching = true;
    const watcher = (async () => {
      while (watching && Number.isNaN(apiReadyAt)) {
        const t = Date.now();
        const ok = await new Promise<boolean>((resolve) => {
          const req = request(
            `https://${lab.masters[0]?.ip}:6443/readyz`,
            { rejectUnauthorized: false, timeout: 1000 },
            (res) => {
              res.resume();
              resolve(res.statusCode === 200);
            },
          );
          req.on("error", () => resolve(false));
          req.on("timeout", () => req.destroy());
          req.end();
        });
        if (ok) apiReadyAt = t;
        else await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const start = await kubecycle(["cluster", "start", "--yes"]);
    watching = false;
    await watcher;
    expect(start.code, start.stderr).toBe(0);
    // Each agent keeps the newest operation that changed its node (its fence): the start's now, on every node.
    for (const n of nodes) expect((await fenceOf(n)).op, `${n} fence`).toBe(opOf(start));
    const after = {
      runtime: await Promise.all(nodes.map((n) => unitTimes(n, "containerd"))),
      etcd: await Promise.all(masters().map((n) => unitTimes(n, "etcd"))),
      masterKubelet: await Promise.all(masters().map((n) => unitTimes(n, "kubelet"))),
      workerKubelet: await Promise.all(lab.workers.map((n) => unitTimes(n.name, "kubelet"))),
    };
    // etcd (Type=notify) is active only once it has joined a quorum: the majority's time is when quorum came.
    const etcdActive = after.etcd.map((u) => u.activeEnter).sort((a, b) => a - b);
    const quorumAt = etcdActive[Math.floor(etcdActive.length / 2)] ?? Number.NaN;
    expect(Math.min(...after.etcd.map((u) => u.activeEnter))).toBeGreaterThanOrEqual(
      Math.max(...after.runtime.map((u) => u.activeEnter)),
    );
    expect(Math.min(...after.masterKubelet.map((u) => u.activeEnter))).toBeGreaterThanOrEqual(quorumAt);
    expect(Number.isNaN(apiReadyAt)).toBe(false);
    expect(Math.min(...after.workerKubelet.map((u) => u.activeEnter))).toBeGreaterThanOrEqual(apiReadyAt);
    // The members were started together and none waited long for the others: started one by one, a Type=notify
    // member waits for a quorum that never comes until systemd's start timeout.
    const began = after.etcd.map((u) => u.inactiveExit);
    expect(Math.max(...began) - Math.min(...began)).toBeLessThan(3000);
    expect(Math.max(...etcdActive) - Math.min(...began)).toBeLessThan(20_000);
    await settled();
    await untouched();
  }, 300_000);
});
