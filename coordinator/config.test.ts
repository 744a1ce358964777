import { describe, expect, it } from "vitest";
import { isKubecycleError } from "../shared/index.js";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { compileCoordinatorConfig, configSearchPath, loadCoordinatorConfig } from "./config.js";

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
    expect(c.stateDir).toMatch(/\/\.kubecycle\/kubernetes$/);
    expect(c.backups.dir).toBe(`${c.stateDir}/backups`);
    expect(c.timeouts.drainMs).toBe(300_000);
    expect(c.timeouts.agentCallMs).toBe(10_000);
    // Every step of a phase at once, unless the config bounds it.
    expect(c.concurrency).toBe(Number.POSITIVE_INFINITY);
    expect(compileCoordinatorConfig({ ...base, concurrency: 50 }, opts).concurrency).toBe(50);
  });

  it("reads the kubeconfig as kubectl does: the config's, then $KUBECONFIG's list, then ~/.kube/config", () => {
    expect(compileCoordinatorConfig({ ...base, kubeconfig: "/k/admin.conf" }, opts).kubeconfig).toEqual([
      "/k/admin.conf",
    ]);
    expect(compileCoordinatorConfig(base, { ...opts, env: { KUBECONFIG: "/a::/b" } }).kubeconfig).toEqual(["/a", "/b"]);
    expect(compileCoordinatorConfig(base, opts).kubeconfig).toEqual([expect.stringMatching(/\/\.kube\/config$/)]);
  });

  it.each([
    [{}, "agents: "],
    [{ ...base, cluster: "Prod_1" }, "cluster: expected a DNS-1123 label"],
    [{ ...base, units: { runtime: "containerd" } }, 'Unrecognized key: "units"'],
    [{ ...base, timeouts: { drainMs: 5 } }, "timeouts.drainMs: "],
    // What an agent would refuse is refused when the config is read: a unit's settle over 15 min, an etcd probe
    // over 30 s.
    [{ ...base, timeouts: { unitSettleMs: 900_001 } }, "timeouts.unitSettleMs: "],
    [{ ...base, timeouts: { etcdProbeMs: 30_001 } }, "timeouts.etcdProbeMs: "],
    [{ ...base, timeouts: { etcdHealthyMs: 12_000 } }, "timeouts.etcdHealthyMs: expected more than"],
    [{ ...base, agents: { ...base.agents, callTimeoutMs: 200_000 } }, "timeouts.controlPlaneMs: expected more"],
    [{ ...base, concurrency: 0 }, "concurrency: "],
    [{ ...base, nodes: { w1: { adress: "1.2.3.4" } } }, 'nodes.w1: Unrecognized key: "adress"'],
  ])("%j is refused naming the field", (raw, want) => {
    expect(problems(raw)).toContain(want);
  });

  it("finds its config without flags: $KUBECYCLE_CONFIG, ~/.config/kubecycle, /etc/kubecycle; flags override", async () => {
    const home = await mkdtemp(join(tmpdir(), "kc-home-"));
    await mkdir(join(home, ".config", "kubecycle"), { recursive: true });
    const inHome = join(home, ".config", "kubecycle", "config.yaml");
    await writeFile(inHome, stringify({ ...base, cluster: "home", context: "a" }));
    const env = { HOME: home };
    expect((await loadCoordinatorConfig({}, env)).cluster).toBe("home");
    const named = join(home, "named.yaml");
    await writeFile(named, stringify({ ...base, cluster: "named" }));
    expect((await loadCoordinatorConfig({}, { ...env, KUBECYCLE_CONFIG: named })).cluster).toBe("named");
    const flagged = await loadCoordinatorConfig({ kubeconfig: "/k/other.conf", context: "b" }, env);
    expect([flagged.cluster, flagged.kubeconfig, flagged.context]).toEqual(["home", ["/k/other.conf"], "b"]);
    expect(configSearchPath(env)).toEqual([inHome, "/etc/kubecycle/config.yaml"]);
  });

  it("says how to give a config when there is none", async () => {
    await expect(loadCoordinatorConfig({}, { HOME: "/nonexistent" })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      fields: { hint: expect.stringContaining("KUBECYCLE_CONFIG") },
    });
  });
});
