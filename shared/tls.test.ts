import { describe, expect, it } from "vitest";
import { identityFromSubject, roleFromSubject } from "./tls.js";

describe("roleFromSubject", () => {
  it.each([
    [{ O: "kubecycle:operator", CN: "alice" }, "operator"],
    [{ O: "kubecycle:viewer", CN: "bob" }, "viewer"],
    [{ O: ["kubecycle:viewer", "kubecycle:operator"] }, "operator"],
    [{ O: ["other", "kubecycle:viewer"] }, "viewer"],
    [{ O: "kubecycle:agent" }, undefined],
    [{ O: "system:masters" }, undefined],
    [{ O: "KUBECYCLE:OPERATOR" }, undefined],
    [{ CN: "kubecycle:operator" }, undefined],
    [{}, undefined],
    [undefined, undefined],
  ])("%j -> %s", (subject, role) => {
    expect(roleFromSubject(subject)).toBe(role);
  });
});

describe("identityFromSubject", () => {
  it("takes the first common name", () => {
    expect(identityFromSubject({ CN: ["alice", "mallory"] })).toBe("alice");
    expect(identityFromSubject({ CN: "bob" })).toBe("bob");
    expect(identityFromSubject({})).toBe("");
  });
});
