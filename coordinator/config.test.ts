import { describe, expect, it } from "vitest";
import { isKubecycleError } from "../shared/index.js";
import { compileCoordinatorConfig, loadCoordinatorConfig } from "./config.js";

const base = { agents: { tls: { ca: "pki/ca.crt", cert: "pki/clients/alice.crt", key: "pki/clients/alice.key" } } };
const opts = { source: "/etc/kubecycle.yaml", baseDir: "/etc/kc", env: { HOME: "/root" } };

function problems(raw: unknown): string {
  try {
    compileCoordinatorConfig(raw, opts);
  } catch (err) {
    if (isKubecycleError(err, "CONFIG_INVALID")) return (err.fields.problems as string[]).join("\n");
    throw err;
  }
  return "";
}

describe("coordinator config", () => {
  it("fills defaults and resolves paths against the config's directory", () => {
    const c = compileCoordinatorConfig(base, opts);
    expect(c.cluster).toBe("kubernetes");
    expect(c.agents).toMatchObject({ port: 9443, tls: { ca: "/etc/kc/pki/ca.crt" }, callTimeoutMs: 10_000 });
    expect(c.runtime).toBe("containerd");
    expect(c.units.runtime.docker).toEqual(["docker", "cri-dockerd"]);
    expect(c.stateDir).toMatch(/\/\.kubecycle\/kubernetes$/);
    expect(c.backups.dir).toBe(`${c.stateDir}/backups`);
    expect(c.timeouts.drainMs).toBe(300_000);
    expect(c.timeouts.agentCallMs).toBe(10_000);
  });

  it("reads the kubeconfig as kubectl does: the config, then $KUBECONFIG's first entry, then ~/.kube/config", () => {
    expect(compileCoordinatorConfig({ ...base, kubeconfig: "/k/admin.conf" }, opts).kubeconfig).toBe("/k/admin.conf");
    expect(compileCoordinatorConfig(base, { ...opts, env: { KUBECONFIG: "/a:/b" } }).kubeconfig).toBe("/a");
    expect(compileCoordinatorConfig(base, opts).kubeconfig).toMatch(/\/\.kube\/config$/);
  });

  it.each([
    [{}, "agents: "],
    [{ ...base, cluster: "Prod_1" }, "cluster: expected a DNS-1123 label"],
    [{ ...base, units: { runtime: "cri-o" } }, "units.runtime: "],
    [{ ...base, units: { kubelet: "kubelet;reboot" } }, "units.kubelet: expected a systemd unit name"],
    [{ ...base, timeouts: { drainMs: 5 } }, "timeouts.drainMs: "],
    [{ ...base, concurrency: 0 }, "concurrency: "],
    [{ ...base, nodes: { w1: { adress: "1.2.3.4" } } }, 'nodes.w1: Unrecognized key: "adress"'],
  ])("%j is refused naming the field", (raw, want) => {
    expect(problems(raw)).toContain(want);
  });

  it("says how to give a config when there is none", async () => {
    await expect(loadCoordinatorConfig(undefined, {})).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      fields: { hint: expect.stringContaining("KUBECYCLE_CONFIG") },
    });
  });
});
