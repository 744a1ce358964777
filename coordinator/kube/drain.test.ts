import type { V1Pod, V1PodDisruptionBudget } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { drainRefusal, matchingPdbs, selects } from "./drain.js";
import { isEvictable } from "./nodes.js";

const pod = (ns: string, name: string, labels: Record<string, string>, extra: Partial<V1Pod> = {}): V1Pod => ({
  metadata: { namespace: ns, name, labels, ...extra.metadata },
  ...(extra.spec ? { spec: extra.spec } : {}),
  status: { phase: "Running", ...extra.status },
});
const pdb = (ns: string, name: string, selector: V1PodDisruptionBudget["spec"]): V1PodDisruptionBudget => ({
  metadata: { namespace: ns, name },
  spec: selector,
});

describe("selects", () => {
  it.each([
    [{ matchLabels: { app: "web" } }, { app: "web", tier: "x" }, true],
    [{ matchLabels: { app: "web" } }, { app: "api" }, false],
    [{ matchExpressions: [{ key: "app", operator: "In", values: ["web", "api"] }] }, { app: "api" }, true],
    [{ matchExpressions: [{ key: "app", operator: "NotIn", values: ["web"] }] }, { app: "web" }, false],
    [{ matchExpressions: [{ key: "app", operator: "NotIn", values: ["web"] }] }, {}, true],
    [{ matchExpressions: [{ key: "canary", operator: "Exists" }] }, { canary: "" }, true],
    [{ matchExpressions: [{ key: "canary", operator: "DoesNotExist" }] }, { canary: "1" }, false],
    [{ matchExpressions: [{ key: "app", operator: "Bogus" }] }, { app: "web" }, false],
    [{}, { app: "web" }, true],
    [undefined, { app: "web" }, false],
  ])("%j on %j -> %s", (selector, labels, want) => {
    expect(selects(selector, labels)).toBe(want);
  });
});

describe("matchingPdbs", () => {
  it("matches by selector within the pod's namespace only", () => {
    const pdbs = [
      pdb("shop", "web-pdb", { selector: { matchLabels: { app: "web" } } }),
      pdb("other", "web-pdb", { selector: { matchLabels: { app: "web" } } }),
      pdb("shop", "api-pdb", { selector: { matchLabels: { app: "api" } } }),
    ];
    const found = matchingPdbs(pdbs, [pod("shop", "web-1", { app: "web" })]);
    expect(found.map((b) => `${b.metadata?.namespace}/${b.metadata?.name}`)).toEqual(["shop/web-pdb"]);
  });
});

describe("isEvictable", () => {
  it("leaves DaemonSet pods, mirror pods and finished pods alone", () => {
    expect(
      isEvictable(
        pod(
          "a",
          "web",
          {},
          { metadata: { ownerReferences: [{ kind: "ReplicaSet", name: "web", uid: "1", apiVersion: "apps/v1" }] } },
        ),
      ),
    ).toBe(true);
    expect(isEvictable(pod("a", "bare", {}))).toBe(true);
    expect(
      isEvictable(
        pod(
          "a",
          "ds",
          {},
          { metadata: { ownerReferences: [{ kind: "DaemonSet", name: "x", uid: "2", apiVersion: "apps/v1" }] } },
        ),
      ),
    ).toBe(false);
    expect(
      isEvictable(
        pod(
          "kube-system",
          "kube-apiserver-m1",
          {},
          { metadata: { annotations: { "kubernetes.io/config.mirror": "abc" } } },
        ),
      ),
    ).toBe(false);
    expect(isEvictable(pod("a", "done", {}, { status: { phase: "Succeeded" } }))).toBe(false);
  });
});

describe("drainRefusal", () => {
  const owned = {
    ownerReferences: [{ kind: "ReplicaSet", name: "web", uid: "u1", apiVersion: "apps/v1", controller: true }],
  };
  const web = pod("shop", "web-1", {}, { metadata: owned });
  const bare = pod("shop", "debug", {});
  const cache = pod(
    "shop",
    "cache-1",
    {},
    { metadata: owned, spec: { containers: [], volumes: [{ name: "tmp", emptyDir: {} }] } },
  );
  const none = { force: false, deleteEmptyDirData: false };

  it("lets pods that controllers replace go, and DaemonSet or mirror pods stay out of it", () => {
    const ds = pod(
      "kube-system",
      "exporter",
      {},
      { metadata: { ownerReferences: [{ kind: "DaemonSet", name: "e", uid: "d", apiVersion: "apps/v1" }] } },
    );
    expect(drainRefusal("w1", [web, ds], none)).toBeUndefined();
  });

  it("refuses bare pods and emptyDir data, naming the pods and the flag, as kubectl drain does", () => {
    const err = drainRefusal("w1", [web, bare, cache], none);
    expect(err).toMatchObject({ code: "DRAIN_REFUSED", fields: { bare: ["shop/debug"], emptyDir: ["shop/cache-1"] } });
    expect(err?.message).toContain("shop/debug is not managed by a controller");
    expect(err?.message).toContain("--force");
    expect(err?.message).toContain("shop/cache-1 uses emptyDir");
    expect(err?.message).toContain("--delete-emptydir-data");
    expect(drainRefusal("w1", [bare], { ...none, force: true })).toBeUndefined();
    expect(drainRefusal("w1", [cache], { ...none, deleteEmptyDirData: true })).toBeUndefined();
  });
});
