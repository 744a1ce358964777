// The in-process tier: the real agent on a free port with real mTLS certificates, a fake unit manager, and a temp
// directory holding the node's layout (KubeKey, kubeadm, none, docker with sockets). Real HTTPS/HTTP servers stand
// for the control plane's health endpoints; small executables stand for crictl and etcdctl.
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type {
  CertificatesResult__Output,
  ComponentsHealth__Output,
  EtcdMemberStatus__Output,
  NodeLayout__Output,
  PodSandboxesResult__Output,
  PowerOffResult__Output,
} from "../shared/index.js";
import { fakeCrictl, invocations } from "./testing/fake-bin.js";
import { fakeEtcd } from "./testing/fake-etcd.js";
import { createTestCa } from "./testing/pki.js";
import { FakeUnitManager } from "./testing/fake-manager.js";
import { createTestPki, startTestAgent, type TestAgent, type TestPki } from "./testing/harness.js";
import {
  kubeadmApiserverYaml,
  kubeadmComponentYaml,
  kubeadmEtcdYaml,
  kubekeyEtcdEnv,
  kubeletConf,
  writeTree,
} from "./testing/layouts.js";

// Each test starts one or two agents and runs crictl/etcdctl stand-ins (node processes): seconds on a busy machine.
vi.setConfig({ testTimeout: 30_000 });

let dir: string;
let pki: TestPki;
const servers: Server[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-agent-it-"));
  pki = await createTestPki(dir);
});
afterAll(async () => {
  for (const s of servers) s.close();
  await rm(dir, { recursive: true, force: true });
});

async function listen(srv: Server): Promise<number> {
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return (srv.address() as AddressInfo).port;
}

describe("GetNodeLayout", () => {
  it("KubeKey: etcd.service with /etc/etcd.env, containerd; any role may ask", async () => {
    const t = await startTestAgent({
      pki,
      units: ["kubelet.service", "etcd.service", "containerd.service"],
    });
    try {
      await writeTree(t.root, {
        "etc/etcd.env": kubekeyEtcdEnv({
          name: "etcd-node1",
          ip: "10.0.0.11",
          ssl: "/etc/ssl/etcd/ssl",
          node: "node1",
        }),
      });
      const viewer = await t.client("viewer");
      const layout = await viewer.call<NodeLayout__Output>("GetNodeLayout", {});
      expect(layout).toMatchObject({
        nodeName: "node-1",
        kubeletUnit: "kubelet.service",
        staticPods: [],
        runtime: { kind: "containerd", units: [{ service: "containerd.service", socket: "" }] },
        etcd: {
          mode: "ETCD_MODE_SYSTEMD",
          unit: "etcd.service",
          configFile: join(t.root, "etc/etcd.env"),
          name: "etcd-node1",
          advertiseClientUrls: ["https://10.0.0.11:2379"],
          advertisePeerUrls: ["https://10.0.0.11:2380"],
          dataDir: "/var/lib/etcd",
          caFile: "/etc/ssl/etcd/ssl/ca.pem",
          certFile: "/etc/ssl/etcd/ssl/admin-node1.pem",
          keyFile: "/etc/ssl/etcd/ssl/admin-node1-key.pem",
          error: "",
        },
      });
      expect(layout.bootId).toMatch(/^[0-9a-f-]{36}$/);
      expect(layout.addresses.every((a) => a.address !== "127.0.0.1")).toBe(true);
    } finally {
      await t.stop(true);
    }
  });

  it("kubeadm: etcd as a static pod with kubeadm's health-check client, the control plane's static pods", async () => {
    const t = await startTestAgent({ pki, units: ["kubelet.service", "containerd.service"] });
    try {
      const p = join(t.root, "etc/kubernetes/pki");
      await writeTree(t.root, {
        "etc/kubernetes/manifests/etcd.yaml": kubeadmEtcdYaml({ name: "master-1", ip: "10.0.0.11", pki: p }),
        "etc/kubernetes/manifests/kube-apiserver.yaml": kubeadmApiserverYaml({ ip: "10.0.0.11", pki: p }),
        "etc/kubernetes/manifests/kube-scheduler.yaml": kubeadmComponentYaml("kube-scheduler", {}),
        "etc/kubernetes/manifests/kube-controller-manager.yaml": kubeadmComponentYaml("kube-controller-manager", {}),
        "etc/kubernetes/pki/etcd/healthcheck-client.crt": "x",
        "etc/kubernetes/pki/etcd/healthcheck-client.key": "x",
      });
      const layout = await (await t.client("operator")).call<NodeLayout__Output>("GetNodeLayout", {});
      expect(layout.staticPods).toEqual(["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]);
      expect(layout.etcd).toMatchObject({
        mode: "ETCD_MODE_STATIC_POD",
        unit: "",
        configFile: join(t.root, "etc/kubernetes/manifests/etcd.yaml"),
        name: "master-1",
        advertiseClientUrls: ["https://10.0.0.11:2379"],
        advertisePeerUrls: ["https://10.0.0.11:2380"],
        caFile: `${p}/etcd/ca.crt`,
        certFile: `${p}/etcd/healthcheck-client.crt`,
        keyFile: `${p}/etcd/healthcheck-client.key`,
      });
    } finally {
      await t.stop(true);
    }
  });

  it("a worker without etcd, on docker with its socket and cri-dockerd's upstream units", async () => {
    const t = await startTestAgent({
      pki,
      units: ["kubelet.service", "docker.service", "docker.socket", "cri-docker.service", "cri-docker.socket"],
    });
    try {
      const layout = await (await t.client("viewer")).call<NodeLayout__Output>("GetNodeLayout", {});
      expect(layout.etcd).toMatchObject({ mode: "ETCD_MODE_NONE", unit: "", configFile: "" });
      expect(layout.runtime).toEqual({
        kind: "docker",
        units: [
          { service: "docker.service", socket: "docker.socket" },
          { service: "cri-docker.service", socket: "cri-docker.socket" },
        ],
      });
    } finally {
      await t.stop(true);
    }
  });
});

describe("ProbeComponents", () => {
  it("probes the apiserver, scheduler, controller-manager and kubelet where the manifests say; only ok counts", async () => {
    const tls = await pki.ca.issue("kube-serving", { san: ["IP:127.0.0.1"] });
    const cert = { cert: await readFile(tls.cert), key: await readFile(tls.key) };
    const apiPort = await listen(createHttpsServer(cert, (_q, res) => res.end("ok")));
    const schedPort = await listen(
      createHttpsServer(cert, (_q, res) => {
        res.statusCode = 500;
        res.end("[-]etcd failed: reason withheld\nhealthz check failed\n");
      }),
    );
    const kubeletPort = await listen(createHttpServer((_q, res) => res.end("ok")));
    const t = await startTestAgent({
      pki,
      units: ["kubelet.service"],
      config: { kubernetes: { kubeletHealthzPort: kubeletPort }, probes: { timeoutMs: 1000, maxTimeoutMs: 5000 } },
    });
    try {
      await writeTree(t.root, {
        "etc/kubernetes/manifests/kube-apiserver.yaml": kubeadmApiserverYaml({
          ip: "10.0.0.11",
          pki: "/p",
          securePort: apiPort,
        }),
        "etc/kubernetes/manifests/kube-scheduler.yaml": kubeadmComponentYaml("kube-scheduler", {
          securePort: schedPort,
        }),
      });
      const viewer = await t.client("viewer");
      const { components } = await viewer.call<ComponentsHealth__Output>("ProbeComponents", {});
      expect(components.map((c) => [c.component, c.present, c.healthy, c.url])).toEqual([
        ["kube-apiserver", true, true, `https://127.0.0.1:${apiPort}/readyz`],
        ["kube-scheduler", true, false, `https://127.0.0.1:${schedPort}/healthz`],
        ["kube-controller-manager", false, false, ""],
        ["kubelet", true, true, `http://127.0.0.1:${kubeletPort}/healthz`],
      ]);
      expect(components[1]?.detail).toContain("[-]etcd failed");
      await expect(viewer.call("ProbeComponents", { timeoutMs: 60_000 })).rejects.toMatchObject({
        code: "INVALID_REQUEST",
      });
    } finally {
      await t.stop(true);
    }
  });
});

describe("GetCertificates", () => {
  it("reads the node's certificates with node:crypto and sends no key material", async () => {
    const t = await startTestAgent({ pki, units: ["kubelet.service", "etcd.service"] });
    try {
      const ssl = join(t.root, "etc/ssl/etcd/ssl");
      const member = await pki.ca.issue("member-node1", { subject: "/CN=etcd-node1" });
      const admin = await pki.ca.issue("admin-node1", { subject: "/O=system:masters/CN=etcd-admin" });
      const kubelet = await pki.ca.issue("kubelet-node1", { subject: "/O=system:nodes/CN=system:node:node-1" });
      await writeTree(t.root, {
        "etc/etcd.env": kubekeyEtcdEnv({ name: "etcd-node1", ip: "10.0.0.11", ssl, node: "node1" }),
        "etc/ssl/etcd/ssl/member-node1.pem": await readFile(member.cert, "utf8"),
        "etc/ssl/etcd/ssl/admin-node1.pem": await readFile(admin.cert, "utf8"),
        "var/lib/kubelet/pki/kubelet-client-current.pem":
          (await readFile(kubelet.cert, "utf8")) + (await readFile(kubelet.key, "utf8")),
        "etc/kubernetes/kubelet.conf": kubeletConf({
          server: "https://10.0.0.11:6443",
          clientCert: join(t.root, "var/lib/kubelet/pki/kubelet-client-current.pem"),
        }),
      });
      const res = await (await t.client("viewer")).call<CertificatesResult__Output>("GetCertificates", {});
      expect(res.certificates.map((c) => [c.purpose, c.subject, c.error === ""])).toEqual([
        ["etcd-server", "CN=etcd-node1", true],
        ["etcd-peer", "CN=etcd-node1", true],
        ["etcd-client", "O=system:masters, CN=etcd-admin", true],
        ["kubelet-client", "O=system:nodes, CN=system:node:node-1", true],
        ["kubecycle-agent", "O=kubecycle:agent, CN=node-1", true],
        ["kubecycle-ca", "CN=kubecycle-test-ca", true],
      ]);
      for (const c of res.certificates) expect(c.notAfterUnixMs).toBeGreaterThan(Date.now());
      expect(JSON.stringify(res)).not.toMatch(/PRIVATE KEY|BEGIN/);
    } finally {
      await t.stop(true);
    }
  });
});

describe("PowerOff", () => {
  it("answers first, then powers off after the delay, once per operation id, also after a restart", async () => {
    const manager = new FakeUnitManager(["kubelet.service"]);
    let t: TestAgent = await startTestAgent({ pki, manager });
    const root = t.root;
    try {
      const viewer = await t.client("viewer");
      await expect(viewer.call("PowerOff", { operationId: "po-viewer" })).rejects.toMatchObject({
        code: "PERMISSION_DENIED",
      });
      await expect(
        (await t.client("operator")).call("PowerOff", { operationId: "po-x", delayMs: 60_001 }),
      ).rejects.toMatchObject({
        code: "INVALID_REQUEST",
      });
      expect(manager.calls).toEqual([]);

      const operator = await t.client("operator");
      const before = Date.now();
      const res = await operator.call<PowerOffResult__Output>("PowerOff", { operationId: "po-1", delayMs: 400 });
      expect(res).toMatchObject({ operationId: "po-1", replayed: false });
      expect(res.bootId).toBe((await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim());
      expect(res.powerOffUnixMs).toBeGreaterThanOrEqual(before + 400);
      // The answer came before the power-off.
      expect(manager.calls).toEqual([]);
      await waitFor(() => manager.calls.includes("poweroff"), 3000);
      expect(Date.now()).toBeGreaterThanOrEqual(before + 400);

      const again = await operator.call<PowerOffResult__Output>("PowerOff", { operationId: "po-1", delayMs: 400 });
      expect(again).toEqual({ ...res, replayed: true });

      // The node "came back": a new agent on the same state.
      await t.stop();
      t = await startTestAgent({ pki, manager, root });
      const afterBoot = await (
        await t.client("operator")
      ).call<PowerOffResult__Output>("PowerOff", {
        operationId: "po-1",
        delayMs: 400,
      });
      expect(afterBoot).toEqual({ ...res, replayed: true });
      await new Promise((r) => setTimeout(r, 600));
      expect(manager.calls.filter((c) => c === "poweroff")).toHaveLength(1);

      const audits = t.logs.filter((l) => l.audit === true && l.rpc === "PowerOff");
      expect(audits).toEqual([expect.objectContaining({ op: "po-1", caller: "alice", result: "ok", replayed: true })]);
    } finally {
      await t.stop(true);
      await rm(root, { recursive: true, force: true });
    }
  });

  it("powers off at once when the agent is stopped before the delay ran out", async () => {
    const manager = new FakeUnitManager([]);
    const t = await startTestAgent({ pki, manager });
    try {
      await (await t.client("operator")).call("PowerOff", { operationId: "po-2", delayMs: 60_000 });
      expect(manager.calls).toEqual([]);
    } finally {
      await t.stop(true);
    }
    expect(manager.calls).toEqual(["poweroff"]);
  });
});

describe("StopPodSandboxes", () => {
  it("stops a scope; the scope is part of the operation's identity", async () => {
    const t = await startTestAgent({ pki, units: ["kubelet.service"] });
    try {
      const bin = join(t.root, "bin");
      await writeTree(t.root, { "bin/.keep": "" });
      const crictl = await fakeCrictl(
        bin,
        [
          {
            id: "sb-etcd",
            metadata: { name: "etcd-m1", namespace: "kube-system" },
            labels: { component: "etcd", tier: "control-plane" },
            annotations: { "kubernetes.io/config.source": "file" },
          },
          { id: "sb-web", metadata: { name: "web-1", namespace: "default" }, labels: { app: "web" } },
        ],
        [
          {
            id: "c-web",
            podSandboxId: "sb-web",
            metadata: { name: "web" },
            annotations: { "io.kubernetes.pod.terminationGracePeriod": "7" },
          },
        ],
      );
      await t.stop();
      const t2 = await startTestAgent({ pki, root: t.root, units: ["kubelet.service"], config: { pods: { crictl } } });
      try {
        const operator = await t2.client("operator");
        await expect(
          (await t2.client("viewer")).call("StopPodSandboxes", { operationId: "pods-v", scope: "POD_SCOPE_WORKLOAD" }),
        ).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
        const r = await operator.call<PodSandboxesResult__Output>("StopPodSandboxes", {
          operationId: "pods-1",
          scope: "POD_SCOPE_WORKLOAD",
        });
        expect(r).toMatchObject({ ok: true, replayed: false, containersStopped: 1 });
        expect(r.stopped.map((p) => p.id)).toEqual(["sb-web"]);
        const calls = (await invocations(bin, "crictl")).map((c) => c.argv.slice(1).join(" "));
        expect(calls).toContain("stop --timeout=7 c-web");
        expect(calls).toContain("stopp sb-web");
        expect(calls).not.toContain("stopp sb-etcd");

        const replay = await operator.call<PodSandboxesResult__Output>("StopPodSandboxes", {
          operationId: "pods-1",
          scope: "POD_SCOPE_WORKLOAD",
        });
        expect(replay).toEqual({ ...r, replayed: true });
        await expect(
          operator.call("StopPodSandboxes", { operationId: "pods-1", scope: "POD_SCOPE_ETCD" }),
        ).rejects.toMatchObject({ code: "OPERATION_ID_CONFLICT" });
        await expect(operator.call("StopPodSandboxes", { operationId: "pods-2", scope: 9 })).rejects.toMatchObject({
          code: "INVALID_REQUEST",
        });
        const audit = t2.logs.find((l) => l.audit === true && l.op === "pods-1");
        expect(audit).toMatchObject({ rpc: "StopPodSandboxes", scope: "POD_SCOPE_WORKLOAD", result: "ok" });
      } finally {
        await t2.stop(true);
      }
    } finally {
      await rm(t.root, { recursive: true, force: true });
    }
  });
});

describe("EtcdStatus", () => {
  it("asks the static-pod member with the layout's credentials, and refuses a member id not in its list", async () => {
    const t = await startTestAgent({ pki, units: ["kubelet.service"] });
    const root = t.root;
    await t.stop();
    // kubeadm's etcd PKI without a healthcheck client: the agent asks with the server certificate, as etcdctl would.
    const etcdPki = join(root, "pki");
    const ca = await createTestCa(join(etcdPki, "etcd"));
    await ca.issue("member", { subject: "/CN=etcd-member", san: ["IP:127.0.0.1"] });
    await ca.issue("server", { subject: "/CN=m1", san: ["IP:127.0.0.1"] });
    const etcd = await fakeEtcd(ca.dir, 1, ([e1 = ""]) => [
      {
        members: [{ ID: "9372538179322589801", name: "m1", peerURLs: [], clientURLs: [e1], isLearner: false }],
        status: { header: { clusterId: "1", memberId: "9372538179322589801", revision: "5", raftTerm: "2" } },
      },
    ]);
    const port = new URL(etcd.endpoints[0] ?? "").port;
    await writeTree(root, {
      "etc/kubernetes/manifests/etcd.yaml": kubeadmEtcdYaml({ name: "m1", ip: "127.0.0.1", pki: etcdPki }).replaceAll(
        "127.0.0.1:2379",
        `127.0.0.1:${port}`,
      ),
    });
    const t2 = await startTestAgent({ pki, root, units: ["kubelet.service"] });
    try {
      const viewer = await t2.client("viewer");
      const st = await viewer.call<EtcdMemberStatus__Output>("EtcdStatus", {});
      expect(st).toMatchObject({
        isMember: true,
        healthy: true,
        memberId: "9372538179322589801",
        endpoint: etcd.endpoints[0],
      });
      expect(new Set(etcd.calls.map((c) => c.client))).toEqual(new Set(["m1"]));
      await expect(viewer.call("EtcdStatus", { memberId: "1234" })).rejects.toMatchObject({
        code: "INVALID_REQUEST",
      });
    } finally {
      await t2.stop(true);
      await etcd.close();
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
