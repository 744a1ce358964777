import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  OPERATION_ID_MAX,
  OPERATION_METADATA,
  agentOperationId,
  operationStampOf,
  stampMetadata,
  validateOperationId,
} from "./operation-id.js";

const OP = "20261130T101500-node-stop-ip-10-0-12-34-eu-west-1-compute-internal-a3f9";
/** A DNS-1123 name of `length` characters, in labels of at most 63. */
const name = (length: number) =>
  Array.from({ length: Math.ceil(length / 64) }, () => "a".repeat(63))
    .join(".")
    .slice(0, length);

describe("agentOperationId", () => {
  it("joins the operation, the step and its object with dots while they fit", () => {
    expect(agentOperationId("20261130T101500-node-stop-w1-a3f9", "stop-kubelet/stop-units/w1", "kubelet")).toBe(
      "20261130T101500-node-stop-w1-a3f9.stop-kubelet.stop-units.w1.kubelet",
    );
  });

  it.each([40, 63, 253])("stays within the agent's limit with a %i-character node name", (length) => {
    const node = length === 40 ? "ip-10-0-12-34.eu-west-1.compute.internal" : name(length);
    expect(node).toHaveLength(length);
    const id = agentOperationId(OP, `stop-kubelet/stop-units/${node}`, "kubelet.service");
    expect(id.length).toBeLessThanOrEqual(OPERATION_ID_MAX);
    expect(validateOperationId(id)).toBe(id);
    // The same parts give the same id (replay on resume); another unit gives another.
    expect(agentOperationId(OP, `stop-kubelet/stop-units/${node}`, "kubelet.service")).toBe(id);
    expect(agentOperationId(OP, `stop-kubelet/stop-units/${node}`, "containerd.service")).not.toBe(id);
  });

  it("tells apart long ids that share their beginning", () => {
    const long = name(253);
    const a = agentOperationId(OP, `stop/stop-units/${long}a`);
    const b = agentOperationId(OP, `stop/stop-units/${long}b`);
    expect(a).toHaveLength(OPERATION_ID_MAX);
    expect(a).not.toBe(b);
    expect(a.slice(0, 40)).toBe(b.slice(0, 40));
  });

  it("keeps characters the agent refuses out", () => {
    expect(agentOperationId("op", "a/b c", "x@y")).toBe("op.a.b.c.x.y");
  });
});

describe("validateOperationId", () => {
  it.each(["a", "A.b_c:d-e", "x".repeat(OPERATION_ID_MAX)])("accepts %s", (id) => {
    expect(validateOperationId(id)).toBe(id);
  });

  it.each(["", "-a", ".a", "a/b", "a b", "x".repeat(OPERATION_ID_MAX + 1), 42, undefined])("refuses %s", (id) => {
    expect(() => validateOperationId(id)).toThrow(/operation_id is required/);
  });
});

describe("the operation stamp of a change", () => {
  it("travels in the metadata and reads back the same", () => {
    const stamp = { op: "20261130T101500-cluster-stop-lab-a3f9", epoch: 1_796_036_100_123 };
    expect(operationStampOf(stampMetadata(new Metadata(), stamp))).toEqual(stamp);
  });

  it("is absent from a call of an older coordinator", () => {
    expect(operationStampOf(new Metadata())).toBeUndefined();
  });

  it.each([
    ["an epoch without its operation", { epoch: "1796036100123" }],
    ["an operation without its epoch", { op: "20261130T101500-x-a3f9" }],
    ["an epoch that is not a whole number", { op: "20261130T101500-x-a3f9", epoch: "1.5e12" }],
    ["an operation id out of the alphabet", { op: "../etc", epoch: "1796036100123" }],
  ])("is refused when malformed: %s", (_, fields: { op?: string; epoch?: string }) => {
    const md = new Metadata();
    if (fields.op !== undefined) md.set(OPERATION_METADATA.op, fields.op);
    if (fields.epoch !== undefined) md.set(OPERATION_METADATA.epoch, fields.epoch);
    expect(() => operationStampOf(md)).toThrow(/kubecycle-operation-epoch/);
  });
});
