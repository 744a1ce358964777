import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { connectCluster, loadKubeconfig } from "./cluster.js";

const config = (cluster: string, server: string, current?: string) =>
  stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster, cluster: { server } }],
    users: [{ name: `${cluster}-admin`, user: { token: "t" } }],
    contexts: [{ name: cluster, context: { cluster, user: `${cluster}-admin` } }],
    ...(current ? { "current-context": current } : {}),
  });

describe("loadKubeconfig", () => {
  it("merges a list as kubectl merges $KUBECONFIG: the first file to define a name or a current context wins", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kc-kubeconfig-"));
    const a = join(dir, "a");
    const b = join(dir, "b");
    await writeFile(a, config("prod", "https://10.0.0.1:6443"));
    await writeFile(b, `${config("prod", "https://9.9.9.9:6443", "prod")}`);
    const c = join(dir, "c");
    await writeFile(c, config("staging", "https://10.1.0.1:6443", "staging"));
    const kc = loadKubeconfig([a, b, c, join(dir, "missing")]);
    expect(kc.getContexts().map((x) => x.name)).toEqual(["prod", "staging"]);
    // a defined prod first; b's current-context is the first one set.
    expect(kc.getCluster("prod")?.server).toBe("https://10.0.0.1:6443");
    expect(kc.getCurrentContext()).toBe("prod");
    expect(connectCluster({ kubeconfig: [a, b, c], context: "staging" }).server).toBe("https://10.1.0.1:6443");
  });

  it("names the files and the way out when there is no usable context", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kc-kubeconfig-"));
    const a = join(dir, "a");
    await writeFile(a, config("prod", "https://10.0.0.1:6443"));
    expect(() => connectCluster({ kubeconfig: [a] })).toThrow(/names no current cluster/);
    expect(() => connectCluster({ kubeconfig: [a], context: "nope" })).toThrow(/has no context "nope"/);
    expect(() => connectCluster({ kubeconfig: [join(dir, "none")] })).toThrow(/cannot read kubeconfig/);
  });
});
