import { describe, expect, it } from "vitest";
import { isKubecycleError } from "./errors.js";
import { DEFAULT_ALLOWED_UNITS, allowedUnit, normalizeUnitName } from "./units.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isKubecycleError(err) ? err.code : "not a KubecycleError";
  }
}

describe("normalizeUnitName", () => {
  it.each([
    ["kubelet", "kubelet.service"],
    ["kubelet.service", "kubelet.service"],
    ["cri-dockerd", "cri-dockerd.service"],
    ["kubepods.slice", "kubepods.slice"],
    ["a:b_c.d-e", "a:b_c.d-e.service"],
  ])("%s -> %s", (raw, want) => {
    expect(normalizeUnitName(raw)).toBe(want);
  });

  it.each([
    ["empty", ""],
    ["shell metacharacters", "kubelet;reboot"],
    ["a path", "../etc/x"],
    ["an absolute path", "/etc/passwd"],
    ["a leading dash (option injection)", "-H"],
    ["a leading dot", ".service"],
    ["spaces", "kube let"],
    ["a newline", "kubelet\nreboot"],
    ["a glob", "kube*"],
    ["300 characters", "k".repeat(300)],
    ["a template instance", "getty@tty1"],
    ["a number", 42],
    ["null", null],
  ])("rejects %s", (_what, raw) => {
    expect(codeOf(() => normalizeUnitName(raw))).toBe("INVALID_UNIT_NAME");
  });
});

describe("allowedUnit", () => {
  it("accepts the default allow-list", () => {
    for (const u of ["kubelet", "etcd", "containerd", "docker", "cri-dockerd", "cri-docker"]) {
      expect(allowedUnit(u, DEFAULT_ALLOWED_UNITS)).toBe(`${u}.service`);
    }
    for (const u of ["docker.socket", "cri-dockerd.socket", "cri-docker.socket"]) {
      expect(allowedUnit(u, DEFAULT_ALLOWED_UNITS)).toBe(u);
    }
  });

  it("refuses a valid name that is not on the list", () => {
    expect(codeOf(() => allowedUnit("sshd", DEFAULT_ALLOWED_UNITS))).toBe("UNIT_NOT_ALLOWED");
    expect(codeOf(() => allowedUnit("kubelet.socket", DEFAULT_ALLOWED_UNITS))).toBe("UNIT_NOT_ALLOWED");
  });

  it("checks the name before the list", () => {
    expect(codeOf(() => allowedUnit("kubelet;reboot", DEFAULT_ALLOWED_UNITS))).toBe("INVALID_UNIT_NAME");
  });
});
