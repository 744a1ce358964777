// The agent's unit as systemd rates its sandbox. That the agent still does its whole job inside it (stop and start
// units, etcdctl, crictl, certificates, power off) is what the lab's tests check: every node runs this unit.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lab/agent.js";

const UNIT = join(REPO_ROOT, "systemd", "kubecycle-agent.service");

describe("kubecycle-agent.service", () => {
  it("keeps systemd-analyze security's exposure at 2.5 or less (5.4 before it was hardened)", async () => {
    const { stdout } = await promisify(execFile)("systemd-analyze", ["security", "--offline=true", "--no-pager", UNIT]);
    const exposure = /Overall exposure level for kubecycle-agent\.service: ([\d.]+)/.exec(stdout)?.[1];
    expect(exposure, stdout).toBeDefined();
    expect(Number(exposure)).toBeLessThanOrEqual(2.5);
    // The one capability kept, and no way to gain others.
    expect(stdout).toMatch(/✓ CapabilityBoundingSet=~CAP_SYS_ADMIN/);
    expect(stdout).toMatch(/✓ NoNewPrivileges=/);
  });
});
