import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  etcdFromEnvFile,
  etcdFromManifest,
  layoutUnits,
  NodeLayoutReader,
  parseEnvFile,
  runtimeLayout,
} from "./layout.js";
import { parseStaticPod, StaticPodReader } from "./manifests.js";
import { FakeUnitManager } from "./testing/fake-manager.js";
import {
  kubeadmApiserverYaml,
  kubeadmComponentYaml,
  kubeadmEtcdYaml,
  kubekeyEtcdEnv,
  writeTree,
} from "./testing/layouts.js";
import { DEFAULT_ALLOWED_UNITS } from "../shared/index.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "kc-layout-"));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe("parseEnvFile", () => {
  it("reads KubeKey's /etc/etcd.env", () => {
    const env = parseEnvFile(`# Environment file for etcd v3.4.13
ETCD_DATA_DIR=/var/lib/etcd
ETCD_ADVERTISE_CLIENT_URLS=https://10.0.0.11:2379
ETCD_NAME="etcd-master1"
export_not=1
ETCDCTL_CACERT='/etc/ssl/etcd/ssl/ca.pem'
  ETCDCTL_API = 3
garbage line
`);
    expect(env).toEqual({
      ETCD_DATA_DIR: "/var/lib/etcd",
      ETCD_ADVERTISE_CLIENT_URLS: "https://10.0.0.11:2379",
      ETCD_NAME: "etcd-master1",
      export_not: "1",
      ETCDCTL_CACERT: "/etc/ssl/etcd/ssl/ca.pem",
      ETCDCTL_API: "3",
    });
  });
});

describe("etcdFromEnvFile", () => {
  const ssl = "/etc/ssl/etcd/ssl";
  it("takes KubeKey's member, URLs, data dir and etcdctl's own client credentials", () => {
    const env = parseEnvFile(kubekeyEtcdEnv({ name: "etcd-node1", ip: "10.0.0.11", ssl, node: "node1" }));
    expect(etcdFromEnvFile(env, "/etc/etcd.env", "etcd.service")).toEqual({
      mode: "systemd",
      unit: "etcd.service",
      configFile: "/etc/etcd.env",
      name: "etcd-node1",
      clientUrls: ["https://10.0.0.11:2379"],
      peerUrls: ["https://10.0.0.11:2380"],
      dataDir: "/var/lib/etcd",
      caFile: `${ssl}/ca.pem`,
      certFile: `${ssl}/admin-node1.pem`,
      keyFile: `${ssl}/admin-node1-key.pem`,
      serverCertFile: `${ssl}/member-node1.pem`,
      peerCertFile: `${ssl}/member-node1.pem`,
      fallbackEndpoints: ["https://127.0.0.1:2379"],
      quotaBackendBytes: 0,
      initialCluster: "etcd-node1=https://10.0.0.11:2380",
      error: "",
    });
  });

  it("falls back to the member's own credentials when etcdctl's are not set", () => {
    const env = parseEnvFile(
      "ETCD_ADVERTISE_CLIENT_URLS=https://a:2379,https://b:2379\nETCD_TRUSTED_CA_FILE=/s/ca.pem\nETCD_CERT_FILE=/s/m.pem\nETCD_KEY_FILE=/s/m-key.pem\nETCDCTL_CERT=/s/only-cert.pem\n",
    );
    expect(etcdFromEnvFile(env, "/e", "etcd.service")).toMatchObject({
      clientUrls: ["https://a:2379", "https://b:2379"],
      caFile: "/s/ca.pem",
      certFile: "/s/m.pem",
      keyFile: "/s/m-key.pem",
      error: "",
    });
  });

  it("says so when no client URL is named", () => {
    expect(etcdFromEnvFile({ ETCD_NAME: "x" }, "/etc/etcd.env", "etcd.service").error).toContain(
      "ETCD_ADVERTISE_CLIENT_URLS",
    );
  });
});

describe("etcdFromManifest", () => {
  async function pki(files: string[]): Promise<string> {
    const dir = await tempDir();
    await writeTree(dir, Object.fromEntries(files.map((f) => [f, "x"])));
    return dir;
  }
  const manifest = (p: string) =>
    parseStaticPod(
      kubeadmEtcdYaml({ name: "master-1", ip: "10.0.0.11", pki: p }),
      "/etc/kubernetes/manifests/etcd.yaml",
    );

  it("reads kubeadm's flags and takes the health-check client when it is there", async () => {
    const p = await pki([
      "etcd/healthcheck-client.crt",
      "etcd/healthcheck-client.key",
      "apiserver-etcd-client.crt",
      "apiserver-etcd-client.key",
    ]);
    expect(await etcdFromManifest(manifest(p), p)).toEqual({
      mode: "static-pod",
      unit: "",
      configFile: "/etc/kubernetes/manifests/etcd.yaml",
      name: "master-1",
      clientUrls: ["https://10.0.0.11:2379"],
      peerUrls: ["https://10.0.0.11:2380"],
      dataDir: "/var/lib/etcd",
      caFile: `${p}/etcd/ca.crt`,
      certFile: `${p}/etcd/healthcheck-client.crt`,
      keyFile: `${p}/etcd/healthcheck-client.key`,
      serverCertFile: `${p}/etcd/server.crt`,
      peerCertFile: `${p}/etcd/peer.crt`,
      fallbackEndpoints: [],
      quotaBackendBytes: 0,
      initialCluster: "master-1=https://10.0.0.11:2380",
      error: "",
    });
  });

  it("then the apiserver's etcd client, then the server certificate", async () => {
    const p1 = await pki(["etcd/healthcheck-client.crt", "apiserver-etcd-client.crt", "apiserver-etcd-client.key"]);
    expect(await etcdFromManifest(manifest(p1), p1)).toMatchObject({
      certFile: `${p1}/apiserver-etcd-client.crt`,
      keyFile: `${p1}/apiserver-etcd-client.key`,
    });
    const p2 = await pki(["etcd/server.crt", "etcd/server.key"]);
    expect(await etcdFromManifest(manifest(p2), p2)).toMatchObject({
      certFile: `${p2}/etcd/server.crt`,
      keyFile: `${p2}/etcd/server.key`,
    });
  });

  it("skips a pair whose key the agent cannot read", async () => {
    const p = "/etc/kubernetes/pki";
    const canRead = (path: string) => Promise.resolve(path !== `${p}/etcd/healthcheck-client.key`);
    expect(await etcdFromManifest(manifest(p), p, canRead)).toMatchObject({
      certFile: `${p}/apiserver-etcd-client.crt`,
      keyFile: `${p}/apiserver-etcd-client.key`,
    });
  });
});

describe("runtimeLayout", () => {
  const states = async (existing: string[]) =>
    new Map((await new FakeUnitManager(existing).states(layoutUnits(DEFAULT_ALLOWED_UNITS))).map((s) => [s.name, s]));

  it("containerd alone", async () => {
    expect(runtimeLayout(await states(["containerd.service", "kubelet.service"]))).toEqual({
      kind: "containerd",
      units: [{ service: "containerd.service", socket: "" }],
    });
  });

  it("docker with its socket and cri-dockerd under its upstream name, in start order", async () => {
    const found = await states([
      "cri-docker.socket",
      "cri-docker.service",
      "docker.socket",
      "docker.service",
      "containerd.service",
    ]);
    expect(runtimeLayout(found)).toEqual({
      kind: "docker",
      units: [
        { service: "containerd.service", socket: "" },
        { service: "docker.service", socket: "docker.socket" },
        { service: "cri-docker.service", socket: "cri-docker.socket" },
      ],
    });
  });

  it("cri-dockerd under its packaged name, without a socket", async () => {
    expect(runtimeLayout(await states(["docker.service", "cri-dockerd.service"]))).toEqual({
      kind: "docker",
      units: [
        { service: "docker.service", socket: "" },
        { service: "cri-dockerd.service", socket: "" },
      ],
    });
  });

  it("no runtime", async () => {
    expect(runtimeLayout(await states(["docker.socket"]))).toEqual({ kind: "", units: [] });
  });

  it("counts only allow-listed units", () => {
    expect(layoutUnits(["kubelet.service", "docker.service", "sshd.service"])).toEqual([
      "kubelet.service",
      "docker.service",
    ]);
  });
});

describe("NodeLayoutReader", () => {
  async function reader(o: {
    existing: string[];
    files?: Record<string, string>;
    allow?: readonly string[];
  }): Promise<{ root: string; reader: NodeLayoutReader; manager: FakeUnitManager }> {
    const root = await tempDir();
    await writeTree(root, o.files ?? {});
    const manager = new FakeUnitManager(o.existing);
    const staticPods = new StaticPodReader(join(root, "etc/kubernetes/manifests"));
    return {
      root,
      manager,
      reader: new NodeLayoutReader({
        nodeName: "n1",
        allow: o.allow ?? DEFAULT_ALLOWED_UNITS,
        etcdEnvFile: join(root, "etc/etcd.env"),
        pkiDir: join(root, "etc/kubernetes/pki"),
        staticPods,
        unitStates: (units) => manager.states(units),
        bootId: () => Promise.resolve("boot-1"),
        addresses: () => [{ interface: "eth0", address: "10.0.0.11", family: 4 }],
      }),
    };
  }

  it("KubeKey: etcd.service with /etc/etcd.env is systemd mode", async () => {
    const { root, reader: r } = await reader({
      existing: ["etcd.service", "kubelet.service", "containerd.service"],
      files: { "etc/etcd.env": kubekeyEtcdEnv({ name: "etcd-node1", ip: "10.0.0.11", ssl: "/ssl", node: "node1" }) },
    });
    const layout = await r.layout();
    expect(layout).toMatchObject({
      nodeName: "n1",
      kubeletUnit: "kubelet.service",
      staticPods: [],
      bootId: "boot-1",
      addresses: [{ interface: "eth0", address: "10.0.0.11", family: 4 }],
      runtime: { kind: "containerd", units: [{ service: "containerd.service", socket: "" }] },
    });
    expect(layout.etcd).toMatchObject({
      mode: "ETCD_MODE_SYSTEMD",
      unit: "etcd.service",
      configFile: join(root, "etc/etcd.env"),
      name: "etcd-node1",
      advertiseClientUrls: ["https://10.0.0.11:2379"],
      advertisePeerUrls: ["https://10.0.0.11:2380"],
      certFile: "/ssl/admin-node1.pem",
      error: "",
    });
  });

  it("kubeadm: the etcd static pod is static-pod mode, and the control plane's pods are listed", async () => {
    const pki = "/etc/kubernetes/pki";
    const { reader: r } = await reader({
      existing: ["kubelet.service", "containerd.service"],
      files: {
        "etc/kubernetes/manifests/etcd.yaml": kubeadmEtcdYaml({ name: "master-1", ip: "10.0.0.11", pki }),
        "etc/kubernetes/manifests/kube-apiserver.yaml": kubeadmApiserverYaml({ ip: "10.0.0.11", pki }),
        "etc/kubernetes/manifests/kube-scheduler.yaml": kubeadmComponentYaml("kube-scheduler", {}),
        "etc/kubernetes/manifests/kube-controller-manager.yaml": kubeadmComponentYaml("kube-controller-manager", {}),
      },
    });
    const layout = await r.layout();
    expect(layout.staticPods).toEqual(["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]);
    expect(layout.etcd).toMatchObject({
      mode: "ETCD_MODE_STATIC_POD",
      unit: "",
      name: "master-1",
      advertiseClientUrls: ["https://10.0.0.11:2379"],
      dataDir: "/var/lib/etcd",
      caFile: "/etc/kubernetes/pki/etcd/ca.crt",
      // None of kubeadm's client certificates exist under the test's pki dir: the server's own is used.
      certFile: "/etc/kubernetes/pki/etcd/server.crt",
    });
  });

  it("a worker: no etcd", async () => {
    const { reader: r } = await reader({ existing: ["kubelet.service", "containerd.service"] });
    const layout = await r.layout();
    expect(layout.etcd).toMatchObject({ mode: "ETCD_MODE_NONE", unit: "", configFile: "", error: "" });
    expect(layout.staticPods).toEqual([]);
  });

  it("an environment file without the etcd unit is not etcd (a leftover file is no member)", async () => {
    const { reader: r } = await reader({
      existing: ["kubelet.service"],
      files: { "etc/etcd.env": kubekeyEtcdEnv({ name: "e", ip: "10.0.0.11", ssl: "/ssl", node: "n" }) },
    });
    expect((await r.layout()).etcd?.mode).toBe("ETCD_MODE_NONE");
  });

  it("an etcd unit off the allow-list is not looked at", async () => {
    const { reader: r } = await reader({
      existing: ["etcd.service"],
      allow: ["kubelet.service"],
      files: { "etc/etcd.env": kubekeyEtcdEnv({ name: "e", ip: "10.0.0.11", ssl: "/ssl", node: "n" }) },
    });
    expect((await r.layout()).etcd?.mode).toBe("ETCD_MODE_NONE");
  });

  it("the etcd unit without its environment file is systemd mode, with the reason", async () => {
    const { root, reader: r } = await reader({ existing: ["etcd.service"] });
    expect((await r.layout()).etcd).toMatchObject({
      mode: "ETCD_MODE_SYSTEMD",
      unit: "etcd.service",
      error: `${join(root, "etc/etcd.env")} does not exist`,
    });
  });

  it("the etcd unit without its environment file but with a static pod: the static pod", async () => {
    const { reader: r } = await reader({
      existing: ["etcd.service"],
      files: { "etc/kubernetes/manifests/etcd.yaml": kubeadmEtcdYaml({ name: "m", ip: "10.0.0.11", pki: "/p" }) },
    });
    expect((await r.layout()).etcd?.mode).toBe("ETCD_MODE_STATIC_POD");
  });

  it("docker with its socket and cri-dockerd", async () => {
    const { reader: r } = await reader({
      existing: ["kubelet.service", "docker.service", "docker.socket", "cri-dockerd.service", "cri-dockerd.socket"],
    });
    expect((await r.layout()).runtime).toEqual({
      kind: "docker",
      units: [
        { service: "docker.service", socket: "docker.socket" },
        { service: "cri-dockerd.service", socket: "cri-dockerd.socket" },
      ],
    });
  });
});
