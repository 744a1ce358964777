import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parseQuantity, podRequest } from "./quantity.js";

// From the Kubernetes quantity format (k8s.io/apimachinery/pkg/api/resource: <signedNumber><suffix>, suffixes
// binarySI Ki..Ei, decimalSI n u m k M G T P E, decimalExponent e<n>/E<n>).
describe("parseQuantity", () => {
  it.each([
    ["500m", 0.5],
    ["2", 2],
    ["1.5", 1.5],
    [".5", 0.5],
    ["128Mi", 128 * 2 ** 20],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["4Gi", 4 * 2 ** 30],
    ["1Pi", 2 ** 50],
    ["1Ei", 2 ** 60],
    ["1G", 1e9],
    ["2.5k", 2500],
    ["1000Ki", 1000 * 1024],
    ["100n", 100e-9],
    ["250u", 250e-6],
    ["1e3", 1000],
    ["1E3", 1000],
    ["1.2e-3", 0.0012],
    ["+5", 5],
    ["-1", -1],
    ["12P", 12e15],
  ])("%s is %d", (q, want) => {
    expect(parseQuantity(q)).toBeCloseTo(want, 12);
  });

  it.each(["", "lots", "1Kb", "1 Gi", "Gi", "1.2.3", "0x10", "1ki", "e3"])("%j is not a quantity", (q) => {
    expect(parseQuantity(q)).toBeUndefined();
  });
});

const pod = (spec: Partial<NonNullable<V1Pod["spec"]>>): V1Pod => ({ spec: { containers: [], ...spec } });
const c = (cpu: string, extra: object = {}) => ({ name: "c", resources: { requests: { cpu } }, ...extra });

describe("podRequest", () => {
  it("sums the containers", () => {
    expect(podRequest(pod({ containers: [c("250m"), c("500m")] }), "cpu")).toBe(0.75);
  });

  it("takes the largest init container when it asks more than the containers together", () => {
    expect(podRequest(pod({ containers: [c("100m")], initContainers: [c("2"), c("500m")] }), "cpu")).toBe(2);
    expect(podRequest(pod({ containers: [c("3")], initContainers: [c("2")] }), "cpu")).toBe(3);
  });

  it("counts restartable (sidecar) init containers beside the later ones and the containers", () => {
    const p = pod({
      containers: [c("1")],
      initContainers: [c("500m", { restartPolicy: "Always" }), c("2")],
    });
    // The sidecar runs on: 0.5 + 1 while running; 0.5 + 2 during the second init container.
    expect(podRequest(p, "cpu")).toBe(2.5);
  });

  it("adds the pod's overhead, and ignores what is not a quantity", () => {
    expect(podRequest(pod({ containers: [c("1")], overhead: { cpu: "250m" } }), "cpu")).toBe(1.25);
    expect(podRequest(pod({ containers: [c("lots")] }), "cpu")).toBe(0);
    expect(podRequest(pod({ containers: [c("1")] }), "memory")).toBe(0);
  });
});
