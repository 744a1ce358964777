// kubecycle on the clusters people run that are not laid out like the runbook's: kubeadm's (etcd as a static pod
// the kubelet runs), docker with cri-dockerd (each behind a socket unit that starts it again at the next client),
// and node names as a cloud gives them (ip-198-18-7-NN.eu-west-1.compute.internal). One lab has all three; a master
// and a worker are cycled, and the quorum guard refuses, each outcome checked through channels of its own: crictl,
// ps and systemctl inside the node, etcdctl with kubeadm's healthcheck certificate, the API, a client on docker's
// socket.
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labUp, type Lab, type LabNode } from "../lab/lab.js";
import { downLab, journalOf, kubecycle as cli, opOf, waitFor } from "./helpers.js";

let lab: Lab;
let core: CoreV1Api;
const kubecycle = (args: string[]) => cli(lab, args);

const master = (i: number): LabNode => {
  const n = lab.masters[i];
  if (!n) throw new Error(`no master ${i}`);
  return n;
};

async function activeState(node: LabNode, unit: string): Promise<string> {
  return (await node.systemctl("show", "-p", "ActiveState", "--value", unit)).stdout.trim();
}

/** etcd's ready sandboxes on the node, as crictl lists them (through cri-dockerd, which needs docker up). */
async function etcdSandboxReady(node: LabNode): Promise<boolean> {
  const r = await node.exec(["crictl", "pods", "--state", "ready", "--label", "component=etcd", "-q"]);
  return r.code === 0 && r.stdout.trim() !== "";
}

/** Whether an etcd process runs in the node (ps, not the runtime's word). */
async function etcdRuns(node: LabNode): Promise<boolean> {
  return (await node.exec(["pgrep", "-x", "etcd"])).code === 0;
}

async function healthyMembers(from: LabNode): Promise<number> {
  const h = await lab.etcdHealth(from.name);
  return h.endpoints.filter((e) => e.health).length;
}

async function nodeReady(name: string): Promise<boolean> {
  const n = await core.readNode({ name });
  return n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

async function settled(): Promise<void> {
  await waitFor(
    "every node Ready and untainted",
    async () => {
      const nodes = (await core.listNode()).items;
      const ok = nodes.every(
        (n) =>
          n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") &&
          !(n.spec?.taints ?? []).some((t) => t.key.startsWith("node.kubernetes.io/")),
      );
      return nodes.length === lab.nodes.length && ok ? true : undefined;
    },
    120_000,
  );
}

beforeAll(async () => {
  lab = await labUp({
    masters: 3,
    workers: 2,
    layout: "kubeadm",
    runtime: "docker",
    nodeNames: "cloud",
    build: "skip",
  });
  const kc = new KubeConfig();
  kc.loadFromFile(lab.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  await settled();
}, 300_000);

afterAll(async () => {
  await downLab(lab, import.meta.url);
}, 120_000);

describe("kubecycle on kubeadm's layout, docker with cri-dockerd, and cloud node names", () => {
  it("finds each node's layout and etcd's members from etcd itself", async () => {
    const r = await kubecycle(["status", "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const st = JSON.parse(r.stdout) as {
      nodes: Array<{ node: string; roles: string[]; etcdMode: string; unitNames: { runtime: string[] } }>;
      etcd: { members: Array<{ node?: string }> };
    };
    const names = lab.nodes.map((n) => n.kubeName);
    expect(st.nodes.map((n) => n.node).sort()).toEqual([...names].sort());
    for (const n of names) expect(n).toMatch(/^ip-198-18-7-\d+\.eu-west-1\.compute\.internal$/);
    for (const m of lab.masters) {
      expect(st.nodes.find((n) => n.node === m.kubeName)).toMatchObject({ etcdMode: "static-pod" });
      expect(st.nodes.find((n) => n.node === m.kubeName)?.roles).toContain("etcd");
    }
    expect(st.etcd.members.map((m) => m.node).sort()).toEqual(lab.masters.map((m) => m.kubeName).sort());
    expect(st.nodes.find((n) => n.node === lab.workers[0]?.kubeName)?.unitNames.runtime).toEqual([
      "docker",
      "cri-docker",
    ]);
  });

  it("cycles a worker: docker and cri-dockerd stopped with their sockets, so nothing starts them again", async () => {
    const w = lab.workers[0];
    if (!w) throw new Error("no worker");
    const stop = await kubecycle(["node", "stop", w.kubeName, "--yes"]);
    expect(stop.code, stop.stderr).toBe(0);
    for (const u of ["kubelet", "docker.service", "docker.socket", "cri-docker.service", "cri-docker.socket"]) {
      expect(await activeState(w, u), u).toBe("inactive");
    }
    // A client knocks on docker's socket, as kubelet or crictl would: nothing listens, nothing starts.
    const knock = await w.exec(["crictl", "--timeout", "2s", "pods"]);
    expect(knock.code).not.toBe(0);
    expect(await activeState(w, "docker.service")).toBe("inactive");
    expect(await nodeReady(w.kubeName)).toBe(false);

    const start = await kubecycle(["node", "start", w.kubeName, "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    for (const u of ["kubelet", "docker.service", "docker.socket", "cri-docker.service", "cri-docker.socket"]) {
      expect(await activeState(w, u), u).toBe("active");
    }
    expect(await nodeReady(w.kubeName)).toBe(true);
  }, 300_000);

  it("cycles a static-pod etcd master: its sandbox stopped last and verified gone, then healthy again", async () => {
    const m = master(1);
    const other = master(0);
    await lab.etcdctl(["put", "/kubecycle-e2e/kubeadm", "kept"], { node: other.name });
    const stop = await kubecycle(["node", "stop", m.kubeName, "--yes"]);
    expect(stop.code, stop.stderr).toBe(0);
    const j = await journalOf(lab, opOf(stop));
    const order = ["stop-pods/stop-pod-sandboxes", "stop-etcd/stop-pod-sandboxes", "stop-runtime/stop-units"];
    for (const id of order) expect(j.steps[`${id}/${m.kubeName}`]?.status, id).toBe("succeeded");
    // etcd's process is gone from the node, the other two members are healthy, and the API serves through them.
    expect(await etcdRuns(m)).toBe(false);
    expect(await activeState(m, "kubelet")).toBe("inactive");
    expect(await activeState(m, "docker.service")).toBe("inactive");
    expect(await healthyMembers(other)).toBe(2);
    expect((await core.listNode()).items).toHaveLength(lab.nodes.length);

    const start = await kubecycle(["node", "start", m.kubeName, "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    expect(await etcdRuns(m)).toBe(true);
    expect(await etcdSandboxReady(m)).toBe(true);
    expect(await healthyMembers(other)).toBe(3);
    const got = await lab.etcdctl(["get", "/kubecycle-e2e/kubeadm", "--print-value-only"], { node: m.name });
    expect(got.stdout.trim()).toBe("kept");
    expect(await nodeReady(m.kubeName)).toBe(true);
  }, 300_000);

  it("refuses to stop a master while another member's static pod is down (quorum guard), changing nothing", async () => {
    const down = master(2);
    const target = master(1);
    // The member goes down as on a real node: kubelet stopped (or it would run the pod again), then the sandbox.
    await down.systemctl("stop", "kubelet");
    const ids = (await down.exec(["crictl", "pods", "--label", "component=etcd", "-q"])).stdout.trim().split("\n");
    for (const id of ids.filter(Boolean)) await down.exec(["crictl", "stopp", id]);
    try {
      await waitFor("the member down", async () => ((await etcdRuns(down)) ? undefined : true), 30_000);
      // Only the quorum guard may refuse: the other masters Ready (on a loaded machine a kubelet stand-in can miss
      // its heartbeat, and the guard of the last ready API server would refuse first).
      for (const m of [master(0), target]) {
        await waitFor(`${m.kubeName} Ready`, async () => ((await nodeReady(m.kubeName)) ? true : undefined), 60_000);
      }
      const r = await kubecycle(["node", "stop", target.kubeName, "--yes"]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain("refusing to stop etcd member");
      expect(r.stderr).toContain(down.kubeName);
      expect(await etcdRuns(target)).toBe(true);
      expect((await core.readNode({ name: target.kubeName })).spec?.unschedulable ?? false).toBe(false);
    } finally {
      await down.systemctl("start", "kubelet");
      await waitFor(
        "three healthy members",
        async () => ((await healthyMembers(target)) === 3 ? true : undefined),
        90_000,
      );
    }
    await settled();
  }, 240_000);
});
