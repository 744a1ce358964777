// The lab as kubeadm lays a cluster out, with node names as a cloud gives them: `labUp({ layout: "kubeadm",
// nodeNames: "cloud" })`, 3 masters and a worker. etcd is a static pod the kubelet runs through the runtime, with
// kubeadm's manifest and file names; the nodes are ip-198-18-7-NN.eu-west-1.compute.internal in Kubernetes and to
// their agents, while the lab's host objects keep their short names. Every claim is checked through a channel of its
// own: files, crictl, ps and systemctl inside the node, etcdctl with kubeadm's healthcheck certificate, the API
// through @kubernetes/client-node, the agents over mTLS, TCP from the host.
import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { waitFor, type RunResult } from "../lab/host.js";
import { labDown, labUp, readInventory, type Lab, type LabNode } from "../lab/lab.js";
import { cgroupDirsWithPrefix } from "../lab/host.js";

const UP_TIMEOUT_MS = 180_000;
let lab: Lab;
let core: CoreV1Api;

function ok(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return r;
}

interface CriSandbox {
  id: string;
  metadata: { name: string; namespace: string; attempt: number };
  state: string;
}

/** etcd's sandboxes on a node, as crictl lists them. */
async function etcdSandboxes(node: LabNode): Promise<CriSandbox[]> {
  const r = ok(await node.exec(["crictl", "pods", "-o", "json"]), `crictl pods on ${node.name}`);
  return (JSON.parse(r.stdout) as { items: CriSandbox[] }).items.filter((s) => s.metadata.name.startsWith("etcd-"));
}

/** The pid of the node's etcd process, or undefined. */
async function etcdPid(node: LabNode): Promise<number | undefined> {
  const r = await node.exec(["pgrep", "-x", "etcd"]);
  return r.code === 0 ? Number(r.stdout.trim().split("\n")[0]) : undefined;
}

/** Endpoint health of every member, from another master with kubeadm's healthcheck client certificate. */
async function memberHealth(from: LabNode): Promise<Record<string, boolean>> {
  const h = await lab.etcdHealth(from.name);
  return Object.fromEntries(h.endpoints.map((e) => [e.endpoint, e.health]));
}

/** Whether a TCP connection to host:port from where this runs (the host, outside every node) is accepted. */
function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 2000 });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
    s.once("timeout", () => {
      s.destroy();
      resolve(false);
    });
  });
}

beforeAll(async () => {
  await labDown();
  lab = await labUp({
    masters: 3,
    workers: 1,
    layout: "kubeadm",
    nodeNames: "cloud",
    kube: true,
    log: (l) => console.log(`lab: ${l}`),
  });
  console.log(`lab up (kubeadm, cloud names, 4 nodes): ${JSON.stringify(lab.timings)}`);
  const kc = new KubeConfig();
  kc.loadFromFile(lab.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
}, UP_TIMEOUT_MS);

afterAll(async () => {
  await labDown();
}, UP_TIMEOUT_MS);

describe("kubeadm's layout: etcd as a static pod", () => {
  it("lays the masters out as kubeadm does: etcd.yaml with kubeadm's flags, /etc/kubernetes/pki/etcd, no etcd.env or etcd.service", async () => {
    for (const m of lab.masters) {
      const manifest = parse(
        ok(await m.exec(["cat", "/etc/kubernetes/manifests/etcd.yaml"]), "cat etcd.yaml").stdout,
      ) as {
        metadata: { name: string; namespace: string; labels: Record<string, string> };
        spec: { hostNetwork: boolean; containers: Array<{ name: string; command: string[] }> };
      };
      expect([manifest.metadata.name, manifest.metadata.namespace, manifest.metadata.labels]).toEqual([
        "etcd",
        "kube-system",
        { component: "etcd", tier: "control-plane" },
      ]);
      expect(manifest.spec.hostNetwork).toBe(true);
      const [cmd, ...flags] = manifest.spec.containers[0]?.command ?? [];
      expect(cmd).toBe("/usr/bin/etcd");
      const pki = "/etc/kubernetes/pki/etcd";
      expect(flags).toEqual(
        expect.arrayContaining([
          `--name=${m.kubeName}`,
          `--advertise-client-urls=https://${m.ip}:2379`,
          `--initial-advertise-peer-urls=https://${m.ip}:2380`,
          `--listen-client-urls=https://127.0.0.1:2379,https://${m.ip}:2379`,
          `--listen-peer-urls=https://${m.ip}:2380`,
          `--initial-cluster=${lab.masters.map((x) => `${x.kubeName}=https://${x.ip}:2380`).join(",")}`,
          "--data-dir=/var/lib/etcd",
          `--cert-file=${pki}/server.crt`,
          `--key-file=${pki}/server.key`,
          `--trusted-ca-file=${pki}/ca.crt`,
          "--client-cert-auth=true",
          `--peer-cert-file=${pki}/peer.crt`,
          `--peer-key-file=${pki}/peer.key`,
          `--peer-trusted-ca-file=${pki}/ca.crt`,
          "--peer-client-cert-auth=true",
        ]),
      );
      const certs = ok(await m.exec(["ls", pki]), "ls pki/etcd")
        .stdout.split("\n")
        .filter(Boolean)
        .sort();
      expect(certs).toEqual(
        [
          "ca.crt",
          "ca.key",
          "healthcheck-client.crt",
          "healthcheck-client.key",
          "peer.crt",
          "peer.key",
          "server.crt",
          "server.key",
        ].sort(),
      );
      expect((await m.exec(["test", "-s", "/etc/kubernetes/pki/apiserver-etcd-client.key"])).code).toBe(0);
      // The server certificate names the node as kubeadm's does: CN and a SAN of its node name.
      const subject = ok(
        await m.exec(["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName", "-in", `${pki}/server.crt`]),
        "openssl x509",
      ).stdout;
      expect(subject).toContain(`CN = ${m.kubeName}`);
      expect(subject).toContain(`DNS:${m.kubeName}`);
    }
    for (const n of lab.nodes) {
      expect((await n.exec(["test", "-e", "/etc/etcd.env"])).code).toBe(1);
      expect(await n.unitState("etcd.service")).toBe("-");
    }
    const w = lab.workers[0];
    expect(w && (await w.exec(["test", "-e", "/etc/kubernetes/manifests/etcd.yaml"])).code).toBe(1);
  });

  it("runs etcd under the kubelet, through the runtime: a sandbox, a process in the runtime's cgroup, a mirror pod", async () => {
    for (const m of lab.masters) {
      const sandboxes = await etcdSandboxes(m);
      expect(sandboxes.map((s) => [s.metadata.name, s.metadata.namespace, s.state])).toEqual([
        [`etcd-${m.kubeName}`, "kube-system", "SANDBOX_READY"],
      ]);
      const pid = await etcdPid(m);
      expect(pid).toBeDefined();
      const cgroup = ok(await m.exec(["cat", `/proc/${pid}/cgroup`]), "cat cgroup").stdout;
      // A container of the runtime (KillMode=process keeps it there), not a unit of its own.
      expect(cgroup).toMatch(/system\.slice\/containerd\.service/);
    }
    const mirrors = await core.listNamespacedPod({ namespace: "kube-system", labelSelector: "component=etcd" });
    expect(mirrors.items.map((p) => p.metadata?.name).sort()).toEqual(
      lab.masters.map((m) => `etcd-${m.kubeName}`).sort(),
    );
  });

  it("has 3 healthy members named after their nodes, as etcdctl with kubeadm's healthcheck certificate sees it on each master", async () => {
    for (const m of lab.masters) {
      expect(Object.values(await memberHealth(m))).toEqual([true, true, true]);
    }
    const rows = ok(await lab.etcdctl(["member", "list", "-w", "simple"]), "member list")
      .stdout.trim()
      .split("\n")
      .map((l) => l.split(", "));
    expect(rows.map((r) => [r[2], r[3]]).sort()).toEqual(
      lab.masters.map((m) => [m.kubeName, `https://${m.ip}:2380`]).sort(),
    );
    // The API server reaches its own member with kubeadm's apiserver-etcd-client certificate.
    const m1 = lab.masters[0] as LabNode;
    const args = ok(await m1.exec(["pgrep", "-a", "-f", "kube-apiserver.mjs"]), "pgrep apiserver").stdout;
    expect(args).toContain("--etcd-servers=https://127.0.0.1:2379");
    expect(args).toContain("--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt");
    const status = await lab.status();
    expect(status.nodes.filter((n) => n.role === "master").map((n) => n.units.etcd)).toEqual([
      "pod running",
      "pod running",
      "pod running",
    ]);
  });

  it("keeps etcd through a stop of kubelet and of the runtime; its sandbox's stop ends it; kubelet brings it back", async () => {
    const m = lab.masters[1] as LabNode;
    const other = lab.masters[0] as LabNode;
    const endpoint = `https://${m.ip}:2379`;
    const pid = await etcdPid(m);
    ok(await m.systemctl("stop", "kubelet.service", "containerd.service"), "systemctl stop");
    expect([await m.unitState("kubelet.service"), await m.unitState("containerd.service")]).toEqual([
      "inactive",
      "inactive",
    ]);
    expect(await etcdPid(m)).toBe(pid);
    expect((await memberHealth(other))[endpoint]).toBe(true);

    // crictl needs the runtime; the kubelet stays stopped, so nothing restarts the pod.
    ok(await m.systemctl("start", "containerd.service"), "start containerd");
    const [sandbox] = await etcdSandboxes(m);
    expect(sandbox).toBeDefined();
    ok(await m.exec(["crictl", "stopp", sandbox?.id ?? ""]), "crictl stopp");
    expect(await etcdPid(m)).toBeUndefined();
    await waitFor(
      `${endpoint} to be unhealthy`,
      async () => ((await memberHealth(other))[endpoint] === false ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 500 },
    );

    ok(await m.systemctl("start", "kubelet.service"), "start kubelet");
    await lab.waitEtcdHealthy();
    const after = await etcdSandboxes(m);
    expect(after.filter((s) => s.state === "SANDBOX_READY").map((s) => s.metadata.attempt)).toEqual([1]);
    expect(await etcdPid(m)).not.toBe(pid);
  });

  it("after a power-off runs etcd again only once the runtime and kubelet run", async () => {
    const m = lab.masters[2] as LabNode;
    const endpoint = `https://${m.ip}:2379`;
    ok(await m.systemctl("disable", "kubelet.service"), "disable kubelet");
    await lab.poweroff(m.name);
    await lab.boot(m.name);
    expect(await m.unitState("kubelet.service")).toBe("inactive");
    expect(await m.unitState("containerd.service")).toBe("active");
    expect(await etcdPid(m)).toBeUndefined();
    expect(await etcdSandboxes(m)).toEqual([]);
    expect((await memberHealth(lab.masters[0] as LabNode))[endpoint]).toBe(false);

    ok(await m.systemctl("enable", "--now", "kubelet.service"), "enable --now kubelet");
    await lab.waitEtcdHealthy();
    expect(await etcdPid(m)).toBeDefined();
  });
});

describe("node names as a cloud gives them", () => {
  it("names the nodes ip-...eu-west-1.compute.internal in the API, to the kubelet and as the node's host name", async () => {
    const nodes = await core.listNode();
    const names = nodes.items.map((n) => n.metadata?.name).sort();
    expect(names).toEqual(lab.nodes.map((n) => `ip-${n.ip.replaceAll(".", "-")}.eu-west-1.compute.internal`).sort());
    for (const n of lab.nodes) {
      expect(n.kubeName).toHaveLength(n.ip.length === 11 ? 41 : 42);
      expect((await n.exec(["hostname"])).stdout.trim()).toBe(n.kubeName);
      const kubelet = ok(await n.exec(["pgrep", "-a", "-f", "kubelet.mjs"]), "pgrep kubelet").stdout;
      expect(kubelet).toContain(`--hostname-override=${n.kubeName}`);
      // The lab's own host objects keep the short name.
      expect(n.name).toMatch(/^kclab-(master|worker)-\d$/);
      expect((await n.pid1())?.netNs).toBeDefined();
    }
    const cgroups = new Set((await cgroupDirsWithPrefix("kclab")).map((c) => c.split("/").pop()));
    expect([...cgroups].sort()).toEqual(lab.nodes.map((n) => n.name).sort());
  });

  it("has every agent answer to its cloud name, with a certificate for it", async () => {
    for (const n of lab.nodes) {
      const agent = await lab.agent(n.name);
      try {
        const h = await agent.health();
        expect([h.state, h.nodeName]).toEqual(["serving", n.kubeName]);
        expect((await agent.getStatus({})).facts?.hostname).toBe(n.kubeName);
      } finally {
        agent.close();
      }
      const cert = ok(
        await n.exec(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", "/etc/kubecycle/pki/agent.crt"]),
        "openssl agent cert",
      ).stdout;
      expect(cert).toContain(`DNS:${n.kubeName}`);
    }
  });

  it("maps both names in inventory.json and gives the coordinator the cloud names", async () => {
    const inv = await readInventory();
    expect(inv.variants).toEqual({
      kube: true,
      layout: "kubeadm",
      runtime: "containerd",
      nodeNames: "cloud",
      sshd: false,
    });
    expect(inv.nodes.map((n) => [n.name, n.kubeName, n.hostname, n.etcdMember ?? null])).toEqual(
      lab.nodes.map((n) => [n.name, n.kubeName, n.kubeName, n.role === "master" ? n.kubeName : null]),
    );
    const config = parse(await readFile(lab.kubecycleConfigPath, "utf8")) as {
      nodes: Record<string, { address: string }>;
    };
    expect(config.nodes).toEqual(Object.fromEntries(lab.nodes.map((n) => [n.kubeName, { address: n.ip }])));
    // Either name finds the node.
    const w = lab.workers[0] as LabNode;
    expect(lab.node(w.kubeName)).toBe(lab.node(w.name));
  });
});

describe("the scheduler's and controller-manager's health ports on 127.0.0.1, as kubeadm binds them", () => {
  it("refuses them from outside the node and answers inside it; the API server still answers from outside", async () => {
    const m = lab.masters[0] as LabNode;
    expect(await tcpAccepts(m.ip, 10257)).toBe(false);
    expect(await tcpAccepts(m.ip, 10259)).toBe(false);
    expect(await tcpAccepts(m.ip, 6443)).toBe(true);
    for (const port of [10257, 10259]) {
      const probe = `require("https").get({host:"127.0.0.1",port:${port},path:"/healthz",rejectUnauthorized:false},r=>{let b="";r.on("data",c=>b+=c);r.on("end",()=>console.log(r.statusCode,b))}).on("error",e=>{console.log("error",e.message);process.exit(1)})`;
      const r = await m.exec(["/usr/bin/node", "-e", probe]);
      expect(r.stdout.trim()).toBe("200 ok");
    }
  });
});
