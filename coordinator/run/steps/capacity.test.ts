import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { fit } from "./capacity.js";

const node = (name: string, extra: { labels?: Record<string, string>; pods?: string; cpu?: string } = {}): V1Node => ({
  metadata: { name, labels: extra.labels ?? {} },
  spec: {},
  status: {
    allocatable: { cpu: extra.cpu ?? "2", memory: "4Gi", ...(extra.pods ? { pods: extra.pods } : {}) },
    conditions: [{ type: "Ready", status: "True" }],
  },
});
const pod = (name: string, on: string, cpu: string, spec: Partial<NonNullable<V1Pod["spec"]>> = {}): V1Pod => ({
  metadata: {
    namespace: "d",
    name,
    ownerReferences: [{ kind: "ReplicaSet", name: "rs", uid: "u", apiVersion: "apps/v1" }],
  },
  spec: { nodeName: on, containers: [{ name: "c", resources: { requests: { cpu } } }], ...spec },
  status: { phase: "Running" },
});

describe("fit", () => {
  it("places the leaving node's pods by effective request, largest first", () => {
    const v = fit([node("a"), node("b")], [pod("p1", "x", "1500m"), pod("p2", "x", "1500m"), pod("p3", "x", "1")], "x");
    expect(v).toEqual({ needs: 3, targets: ["a", "b"], unplaced: ["d/p3"] });
  });

  it("honours nodeSelector and required node affinity", () => {
    const nodes = [node("a", { labels: { disk: "ssd" } }), node("b", { labels: { zone: "z2" } })];
    const bySelector = pod("p1", "x", "1", { nodeSelector: { disk: "hdd" } });
    const byAffinity = pod("p2", "x", "1", {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["z2"] }] }],
          },
        },
      },
    });
    expect(fit(nodes, [bySelector, byAffinity], "x")).toEqual({ needs: 2, targets: ["b"], unplaced: ["d/p1"] });
  });

  it("counts the pods-per-node limit", () => {
    const full = node("a", { pods: "2", cpu: "100" });
    const v = fit([full], [pod("here", "a", "0"), pod("p1", "x", "0"), pod("p2", "x", "0")], "x");
    expect(v.unplaced).toEqual(["d/p2"]);
  });

  it("counts init containers, which may ask more than the containers", () => {
    const big = pod("p1", "x", "100m", { initContainers: [{ name: "i", resources: { requests: { cpu: "3" } } }] });
    expect(fit([node("a")], [big], "x").unplaced).toEqual(["d/p1"]);
  });
});
