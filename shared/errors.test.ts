import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, KubecycleError, fromGrpcError, toGrpcStatus, type ErrorCode } from "./errors.js";

// Pins every code: renaming one or changing its gRPC status is a breaking change for every client.
const TABLE: Array<[ErrorCode, status, boolean]> = [
  ["CONFIG_INVALID", status.INVALID_ARGUMENT, true],
  ["INVALID_REQUEST", status.INVALID_ARGUMENT, true],
  ["INVALID_UNIT_NAME", status.INVALID_ARGUMENT, true],
  ["UNIT_NOT_ALLOWED", status.INVALID_ARGUMENT, true],
  ["OPERATION_ID_CONFLICT", status.ALREADY_EXISTS, true],
  ["UNAUTHENTICATED", status.UNAUTHENTICATED, true],
  ["PERMISSION_DENIED", status.PERMISSION_DENIED, true],
  ["AGENT_DRAINING", status.UNAVAILABLE, false],
  ["NODE_UNREACHABLE", status.UNAVAILABLE, false],
  ["DEADLINE_EXCEEDED", status.DEADLINE_EXCEEDED, false],
  ["CANCELLED", status.CANCELLED, false],
  ["SYSTEMD_FAILED", status.UNAVAILABLE, false],
  ["PKI_FAILED", status.FAILED_PRECONDITION, true],
  ["INSTALL_FAILED", status.FAILED_PRECONDITION, true],
  ["ALREADY_EXISTS", status.ALREADY_EXISTS, true],
  ["CONFLICT", status.ABORTED, false],
  ["KUBE_API_FAILED", status.UNAVAILABLE, false],
  ["KUBE_API_UNREACHABLE", status.UNAVAILABLE, false],
  ["NODE_NOT_FOUND", status.NOT_FOUND, true],
  ["QUORUM_AT_RISK", status.FAILED_PRECONDITION, true],
  ["INSUFFICIENT_CAPACITY", status.FAILED_PRECONDITION, true],
  ["LOCK_HELD", status.FAILED_PRECONDITION, true],
  ["SUPERSEDED", status.FAILED_PRECONDITION, true],
  ["DRAIN_BLOCKED_BY_PDB", status.FAILED_PRECONDITION, true],
  ["DRAIN_REFUSED", status.FAILED_PRECONDITION, true],
  ["DRAIN_FAILED", status.DEADLINE_EXCEEDED, false],
  ["UNIT_FAILED", status.FAILED_PRECONDITION, false],
  ["ETCD_UNHEALTHY", status.UNAVAILABLE, false],
  ["NODE_NOT_READY", status.DEADLINE_EXCEEDED, false],
  ["SNAPSHOT_CORRUPT", status.DATA_LOSS, false],
  ["CERT_EXPIRING", status.FAILED_PRECONDITION, true],
  ["ADDRESS_DRIFT", status.FAILED_PRECONDITION, true],
  ["CLUSTER_MISMATCH", status.FAILED_PRECONDITION, true],
  ["API_AT_RISK", status.FAILED_PRECONDITION, true],
  ["COMPONENT_UNHEALTHY", status.UNAVAILABLE, false],
  ["ETCD_RUNNING", status.FAILED_PRECONDITION, true],
  ["ETCD_HEALTHY", status.FAILED_PRECONDITION, true],
  ["SNAPSHOT_NOT_STAGED", status.NOT_FOUND, false],
  ["RESOURCE_EXHAUSTED", status.RESOURCE_EXHAUSTED, false],
  ["SERVE_UNREACHABLE", status.UNAVAILABLE, false],
  ["INTERNAL", status.INTERNAL, false],
];

describe("error codes", () => {
  it("the table covers every code and nothing else", () => {
    expect(TABLE.map(([c]) => c).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it.each(TABLE)("%s travels as gRPC %i and user=%s, and comes back intact", (code, grpc, user) => {
    const err = new KubecycleError(code, "something happened", { unit: "kubelet.service", op: "op-1" });
    expect(err.isUserError).toBe(user);
    const st = toGrpcStatus(err);
    expect(st.code).toBe(grpc);
    expect(st.details).toBe("something happened");
    const back = fromGrpcError(
      { code: st.code, details: st.details, metadata: st.metadata },
      { rpc: "StopUnits", node: "n1" },
    );
    expect(back.code).toBe(code);
    expect(back.message).toBe("n1: StopUnits: something happened");
    expect(back.fields).toMatchObject({ unit: "kubelet.service", op: "op-1", rpc: "StopUnits", node: "n1" });
  });
});

describe("toGrpcStatus", () => {
  it("hides the message of an unexpected error", () => {
    const st = toGrpcStatus(new Error("secret path /etc/shadow"));
    expect(st.code).toBe(status.INTERNAL);
    expect(st.details).not.toContain("shadow");
  });
});

describe("fromGrpcError", () => {
  it.each([
    [status.UNAVAILABLE, "NODE_UNREACHABLE"],
    [status.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"],
    [status.CANCELLED, "CANCELLED"],
    [status.PERMISSION_DENIED, "PERMISSION_DENIED"],
    [status.UNAUTHENTICATED, "UNAUTHENTICATED"],
    [status.RESOURCE_EXHAUSTED, "INVALID_REQUEST"],
    [status.UNKNOWN, "INTERNAL"],
  ] as const)("maps a bare gRPC status %i to %s, naming node and RPC", (grpc, code) => {
    const err = fromGrpcError({ code: grpc, details: "boom", metadata: new Metadata() }, { rpc: "Health", node: "w1" });
    expect(err.code).toBe(code);
    expect(err.fields).toMatchObject({ rpc: "Health", node: "w1", grpcCode: grpc });
    expect(err.message).toContain("w1: Health: ");
    expect(err.message).toContain("boom");
  });

  it.each([
    [
      "No connection established. Last error: Error: connect ECONNREFUSED 198.18.7.21:9443. Resolution note: ",
      "connect ECONNREFUSED 198.18.7.21:9443",
    ],
    ["No connection established. Last error: null. Resolution note: ", "null"],
    ["Connection dropped", "Connection dropped"],
    ["", "no connection"],
  ])("says an unreachable agent is unreachable, with the transport's cause (%j) and what to check", (details, why) => {
    const err = fromGrpcError({ code: status.UNAVAILABLE, details }, { rpc: "StopUnits", node: "w1" });
    expect(err.message).toBe(`w1: StopUnits: the agent is unreachable (${why})`);
    expect(err.fields.hint).toContain("systemctl status kubecycle-agent");
  });

  it("says kubecycle serve is unreachable, not an agent, with what to check", () => {
    const err = fromGrpcError(
      {
        code: status.UNAVAILABLE,
        details: "No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.5:9444.",
      },
      { rpc: "ListReports", node: "10.0.0.5:9444", peer: "serve" },
    );
    expect(err.code).toBe("SERVE_UNREACHABLE");
    expect(err.message).toBe(
      "kubecycle serve at 10.0.0.5:9444: ListReports: unreachable (connect ECONNREFUSED 10.0.0.5:9444)",
    );
    expect(err.fields.hint).toContain("systemctl status kubecycle-serve");
  });

  it("survives garbage in the fields trailer", () => {
    const md = new Metadata();
    md.set("kubecycle-error-code", "UNIT_NOT_ALLOWED");
    md.set("kubecycle-error-fields-bin", Buffer.from("{not json"));
    const err = fromGrpcError(
      { code: status.INVALID_ARGUMENT, details: "no", metadata: md },
      { rpc: "StopUnits", node: "n" },
    );
    expect(err.code).toBe("UNIT_NOT_ALLOWED");
  });
});
