// The lab after a crash: `up` cleans what a killed run left half-booted, and `down` from another process and another
// checkout removes a running lab it never saw, working from what is on the machine. Checked with /proc, iproute2 and
// the file system.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lab/agent.js";
import { findNodePid1, waitFor } from "../lab/host.js";
import { ensureBuilt, labDown, labUp, type Lab, type LabState } from "../lab/lab.js";
import { labNetns } from "../lab/net.js";
import { hostPathKinds, runLabCli, spawnLabCli } from "../lab/testing.js";
import { labProcesses, labTraces, stillAlive, type ProcessRef } from "../lab/traces.js";

const TIMEOUT_MS = 180_000;
const NOTHING = { netns: [], links: [], cgroups: [], processes: [], mounts: [] };
const STALE = ["kclab-master-1", "kclab-master-2", "kclab-master-3", "kclab-worker-1", "kclab-worker-2"];
let hostPathsBefore: Record<string, string>;
/** The state directory of "another checkout" of the repo (as a CI clone next to this one would have). */
let otherCheckoutState: string;

beforeAll(async () => {
  otherCheckoutState = await mkdtemp(join(tmpdir(), "kc-other-checkout-"));
  // The killed run below must not be killed in the middle of a build.
  await ensureBuilt();
  await labDown();
  hostPathsBefore = await hostPathKinds();
}, TIMEOUT_MS);

afterAll(async () => {
  await labDown();
  await rm(otherCheckoutState, { recursive: true, force: true });
}, TIMEOUT_MS);

describe("after a crash", () => {
  let stale: ProcessRef[];
  let lab: Lab;

  it("up from another checkout cleans a lab whose holder was SIGKILLed half-way through booting it, and comes up", async () => {
    const child = spawnLabCli(["up", "--masters", "3", "--workers", "2", "--no-kube", "--no-build"]);
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    // Kill it once some nodes run and before it is done.
    await waitFor(
      "the first lab nodes to boot",
      async () => {
        const pid1s = await Promise.all(STALE.map(findNodePid1));
        return pid1s.filter((p) => p?.comm === "systemd").length >= 2 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    child.kill("SIGKILL");
    await exited;
    const state = JSON.parse(await readFile(join(REPO_ROOT, ".lab", "lab.json"), "utf8")) as LabState;
    expect(state.complete).toBe(false);
    stale = await labProcesses();
    expect(stale.filter((p) => / systemd: /.test(p.what)).length).toBeGreaterThanOrEqual(2);
    expect((await labTraces()).netns).toEqual(STALE);

    // Another shape and another state directory, so nothing of the killed run can be reused by accident.
    lab = await labUp({ masters: 1, workers: 1, kube: false, build: "skip", stateDir: otherCheckoutState });

    expect(await stillAlive(stale)).toEqual([]);
    expect(await labNetns()).toEqual(["kclab-master-1", "kclab-worker-1"]);
    for (const gone of ["kclab-master-2", "kclab-master-3", "kclab-worker-2"]) {
      expect(await findNodePid1(gone)).toBeUndefined();
    }
    const cgroupNames = new Set((await labTraces()).cgroups.map((c) => c.split("/").pop()));
    expect([...cgroupNames].sort()).toEqual(["kclab-master-1", "kclab-worker-1"]);
    const health = await lab.waitEtcdHealthy();
    expect(health.endpoints.map((e) => e.health)).toEqual([true]);
    await lab.waitAgents();
  });

  it("down from this checkout removes a running lab it did not start, leaving the machine as it was", async () => {
    const processes = await labProcesses();
    expect(processes.filter((p) => / systemd: /.test(p.what))).toHaveLength(2);
    expect(await hostPathKinds()).not.toEqual(hostPathsBefore);
    // The killed run's checkout state is gone, as a deleted CI clone's would be: what the lab made on the host must
    // be found from the machine, not from any checkout.
    await rm(join(REPO_ROOT, ".lab"), { recursive: true, force: true });

    const down = await runLabCli(["down"]);
    expect(down.code, down.stderr).toBe(0);

    expect(await stillAlive(processes)).toEqual([]);
    expect(await labTraces()).toEqual(NOTHING);
    expect(await hostPathKinds()).toEqual(hostPathsBefore);
    await expect(readFile(join(REPO_ROOT, ".lab", "lab.json"))).rejects.toThrow();
  });

  it("down on a machine without a lab changes nothing", async () => {
    await labDown();
    expect(await labTraces()).toEqual(NOTHING);
    expect(await hostPathKinds()).toEqual(hostPathsBefore);
  });
});
