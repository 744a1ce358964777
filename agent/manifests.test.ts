import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { componentArgv, flagValue, parseStaticPod, StaticPodReader } from "./manifests.js";
import { kubeadmApiserverYaml, kubeadmComponentYaml, kubeadmEtcdYaml, writeTree } from "./testing/layouts.js";

describe("parseStaticPod", () => {
  it("reads kubeadm's etcd.yaml: component, namespace, the etcd container's flags", () => {
    const pod = parseStaticPod(
      kubeadmEtcdYaml({ name: "master-1", ip: "10.0.0.11", pki: "/etc/kubernetes/pki" }),
      "/m/etcd.yaml",
    );
    expect(pod).toMatchObject({ file: "/m/etcd.yaml", component: "etcd", name: "etcd", namespace: "kube-system" });
    expect(pod.labels).toEqual({ component: "etcd", tier: "control-plane" });
    const argv = componentArgv(pod);
    expect(argv[0]).toBe("etcd");
    expect(flagValue(argv, "name")).toBe("master-1");
    expect(flagValue(argv, "advertise-client-urls")).toBe("https://10.0.0.11:2379");
    expect(flagValue(argv, "initial-advertise-peer-urls")).toBe("https://10.0.0.11:2380");
    expect(flagValue(argv, "trusted-ca-file")).toBe("/etc/kubernetes/pki/etcd/ca.crt");
    expect(flagValue(argv, "peer-trusted-ca-file")).toBe("/etc/kubernetes/pki/etcd/ca.crt");
    expect(flagValue(argv, "data-dir")).toBe("/var/lib/etcd");
  });

  it("reads kubeadm's kube-apiserver.yaml", () => {
    const pod = parseStaticPod(
      kubeadmApiserverYaml({ ip: "10.0.0.11", pki: "/etc/kubernetes/pki" }),
      "/m/kube-apiserver.yaml",
    );
    expect(pod.component).toBe("kube-apiserver");
    const argv = componentArgv(pod);
    expect(flagValue(argv, "secure-port")).toBe("6443");
    expect(flagValue(argv, "etcd-certfile")).toBe("/etc/kubernetes/pki/apiserver-etcd-client.crt");
    expect(flagValue(argv, "kubelet-client-certificate")).toBe("/etc/kubernetes/pki/apiserver-kubelet-client.crt");
    expect(flagValue(argv, "bind-address")).toBeUndefined();
  });

  it("takes JSON, and the component from the name when there is no component label", () => {
    const pod = parseStaticPod(
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "haproxy", namespace: "kube-system" },
        spec: { containers: [{ name: "haproxy", command: ["haproxy"], args: ["-f", "/x.cfg"] }] },
      }),
      "/m/haproxy.json",
    );
    expect(pod.component).toBe("haproxy");
    expect(componentArgv(pod)).toEqual(["haproxy", "-f", "/x.cfg"]);
  });

  it.each([
    ["a Deployment", "apiVersion: apps/v1\nkind: Deployment\n"],
    ["not a mapping", "- a\n- b\n"],
    ["empty", ""],
  ])("refuses %s", (_what, text) => {
    expect(() => parseStaticPod(text, "/m/x.yaml")).toThrow(/not a Pod manifest/);
  });
});

describe("flagValue", () => {
  it.each<[string[], string, string | undefined]>([
    [["etcd", "--name=a"], "name", "a"],
    [["etcd", "--name", "a"], "name", "a"],
    [["etcd", "-name=a"], "name", "a"],
    [["etcd", "--name=a", "--name=b"], "name", "b"],
    [["etcd", "--name-prefix=a"], "name", undefined],
    [["etcd", "--name"], "name", undefined],
    [["etcd", "--name", "--data-dir=/x"], "name", undefined],
    [
      ["etcd", "--advertise-client-urls=https://a:2379,https://b:2379"],
      "advertise-client-urls",
      "https://a:2379,https://b:2379",
    ],
    [["etcd", "--client-cert-auth"], "client-cert-auth", undefined],
  ])("%j %s -> %j", (argv, flag, want) => {
    expect(flagValue(argv, flag)).toBe(want);
  });
});

describe("StaticPodReader", () => {
  it("reads every manifest, skips hidden files, reports broken ones, and sees changes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kc-manifests-"));
    try {
      await writeTree(dir, {
        "etcd.yaml": kubeadmEtcdYaml({ name: "m1", ip: "10.0.0.11", pki: "/p" }),
        "kube-scheduler.yaml": kubeadmComponentYaml("kube-scheduler", {}),
        ".kube-apiserver.yaml.swp": "garbage",
        "broken.yaml": "kind: Pod\n  : [",
      });
      const reader = new StaticPodReader(dir);
      const first = await reader.read();
      expect(first.pods.map((p) => p.component)).toEqual(["etcd", "kube-scheduler"]);
      expect(first.errors).toHaveLength(1);
      expect(first.errors[0]).toContain("broken.yaml");

      await writeFile(join(dir, "etcd.yaml"), kubeadmEtcdYaml({ name: "m1-renamed", ip: "10.0.0.12", pki: "/p" }));
      // A rewrite within the same millisecond and of the same size would go unseen; make the change visible.
      await utimes(join(dir, "etcd.yaml"), new Date(), new Date(Date.now() + 5000));
      const second = await reader.read();
      const etcd = second.pods.find((p) => p.component === "etcd");
      expect(flagValue(componentArgv(etcd ?? first.pods[0]!), "name")).toBe("m1-renamed");

      await rm(join(dir, "etcd.yaml"));
      expect((await reader.read()).pods.map((p) => p.component)).toEqual(["kube-scheduler"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("finds nothing, and no error, when the directory does not exist", async () => {
    expect(await new StaticPodReader("/nonexistent/kubecycle/manifests").read()).toEqual({ pods: [], errors: [] });
  });
});
