import { describe, expect, it } from "vitest";
import { parseShow } from "./systemctl.js";

describe("parseShow", () => {
  it("reads a running unit", () => {
    const s = parseShow(
      "kubelet.service",
      [
        "Id=kubelet.service",
        "LoadState=loaded",
        "ActiveState=active",
        "SubState=running",
        "Result=success",
        "UnitFileState=enabled",
        "MainPID=4242",
        "NRestarts=3",
        "InvocationID=abc",
        "Job=",
        "StateChangeTimestamp=@1764115200",
      ].join("\n"),
    );
    expect(s).toEqual({
      name: "kubelet.service",
      loadState: "loaded",
      activeState: "active",
      subState: "running",
      result: "success",
      unitFileState: "enabled",
      mainPid: 4242,
      restarts: 3,
      invocationId: "abc",
      jobPending: false,
      stateChangeUnixMs: 1764115200000,
    });
  });

  it("reads a missing unit with a pending job and no timestamps", () => {
    const s = parseShow("nope.service", "LoadState=not-found\nActiveState=inactive\nJob=17\nMainPID=\n");
    expect(s).toMatchObject({
      name: "nope.service",
      loadState: "not-found",
      jobPending: true,
      mainPid: 0,
      stateChangeUnixMs: 0,
    });
  });
});
