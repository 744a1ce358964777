import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isKubecycleError } from "../shared/index.js";
import { compileAgentConfig, loadAgentConfig } from "./config.js";

function problems(raw: unknown): string[] {
  try {
    compileAgentConfig(raw, "agent.yaml");
  } catch (err) {
    if (isKubecycleError(err, "CONFIG_INVALID")) return err.fields.problems as string[];
    throw err;
  }
  return [];
}

describe("agent config", () => {
  it("fills every default from an empty document", () => {
    const c = compileAgentConfig({});
    expect(c.listen).toEqual({ address: "0.0.0.0", port: 9443 });
    expect(c.units.allow).toEqual([
      "kubelet.service",
      "etcd.service",
      "containerd.service",
      "docker.service",
      "cri-dockerd.service",
      "docker.socket",
      "cri-dockerd.socket",
      "cri-docker.service",
      "cri-docker.socket",
    ]);
    expect(c.kubernetes).toEqual({
      manifestDir: "/etc/kubernetes/manifests",
      pkiDir: "/etc/kubernetes/pki",
      kubeletKubeconfig: "/etc/kubernetes/kubelet.conf",
      kubeletHealthzPort: 10248,
    });
    expect(c.probes).toEqual({ timeoutMs: 2000, maxTimeoutMs: 10_000 });
    expect(c.pods.stopConcurrency).toBe(16);
    expect(c.limits).toMatchObject({ readsPerClient: 16, readsPerRole: 64, streamsPerClient: 8, streamsPerRole: 64 });
    expect(c.status.unitCacheMs).toBe(500);
    expect(c.etcd.maxTimeoutMs).toBe(30_000);
    expect(c.stateDir).toBe("/var/lib/kubecycle-agent");
    expect(c.nodeName).toBeUndefined();
    expect(Object.isFrozen(c.units.allow)).toBe(true);
  });

  it("normalizes unit names", () => {
    expect(compileAgentConfig({ units: { allow: ["kubelet", "etcd.service"] } }).units.allow).toEqual([
      "kubelet.service",
      "etcd.service",
    ]);
  });

  it.each([
    [{ listen: { port: 0 } }, "listen.port: "],
    [{ listen: { port: "9443" } }, "listen.port: "],
    [{ listen: { address: "localhost" } }, "listen.address: expected an IPv4 or IPv6 address"],
    [{ units: { allow: [] } }, "units.allow: expected at least one unit"],
    [
      { units: { allow: ["kubelet", "kubelet;reboot"] } },
      'units.allow.1: expected a systemd unit name such as "kubelet", got "kubelet;reboot"',
    ],
    [{ units: { allow: ["kubelet", "kubelet.service"] } }, "units.allow: kubelet.service is listed twice"],
    [
      { units: { settleTimeoutMs: 5000, maxSettleTimeoutMs: 1000 } },
      "units.settleTimeoutMs: expected at most units.maxSettleTimeoutMs",
    ],
    [{ probes: { timeoutMs: 20_000 } }, "probes.timeoutMs: expected at most probes.maxTimeoutMs"],
    [{ kubernetes: { kubeletHealthzPort: 0 } }, "kubernetes.kubeletHealthzPort: "],
    [{ pods: { stopConcurrency: 0 } }, "pods.stopConcurrency: "],
    [{ limits: { readsPerClient: 100 } }, "limits.readsPerClient: expected at most limits.readsPerRole (64)"],
    [{ limits: { streamsPerClient: 65 } }, "limits.streamsPerClient: expected at most limits.streamsPerRole (64)"],
    [{ etcd: { timeoutMs: 60_000 } }, "etcd.timeoutMs: expected at most etcd.maxTimeoutMs (30000)"],
    [{ nodeName: "Master_1" }, "nodeName: expected a DNS-1123 name"],
    [{ tls: { ca: "" } }, "tls.ca: "],
    [{ log: { level: "loud" } }, "log.level: "],
    [{ listne: {} }, 'Unrecognized key: "listne"'],
    [{ listen: { prot: 1 } }, 'listen: Unrecognized key: "prot"'],
  ])("%j is refused naming the field", (raw, want) => {
    const found = problems(raw);
    expect(found.length).toBeGreaterThan(0);
    expect(found.join("\n")).toContain(want);
  });

  it("reports all problems at once", () => {
    expect(problems({ listen: { port: -1 }, log: { level: "x" } })).toHaveLength(2);
  });

  it("reads YAML and names the file and line of a syntax error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kc-config-"));
    const good = join(dir, "good.yaml");
    await writeFile(good, "nodeName: worker-1\nlisten:\n  port: 10443\n");
    expect((await loadAgentConfig(good)).listen.port).toBe(10443);

    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "listen:\n  port: [1\n");
    await expect(loadAgentConfig(bad)).rejects.toThrow(/bad\.yaml/);

    await expect(loadAgentConfig(join(dir, "missing.yaml"))).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });
});
