// An operation cut short, finished with one command, on the lab: kubecycle killed with SIGKILL at points of
// `cluster stop` and of `cluster start` that a seed chooses (printed, and repeatable with KUBECYCLE_E2E_SEED), a
// node's link down during the start (the start stops at the barrier naming it), and `kubecycle ops resume` after
// each. The cluster must end exactly as an uninterrupted stop and start leave it: the same units running and
// enabled, the same cordons (an administrator's stays), no lock. Checked in each node's systemd, etcd and the API.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../lab/host.js";
import { labUp, type Lab } from "../lab/lab.js";
import { ClusterProbe } from "./cluster.js";
import { downLab, journalOf, kubecycle as cli, opOf, type CliResult, SEED, seededRandom } from "./helpers.js";

let lab: Lab;
let probe: ClusterProbe;
const kubecycle = (args: string[], onStart?: Parameters<typeof cli>[2]) => cli(lab, args, onStart);

const rnd = seededRandom(SEED);
const PREFIX = "/kubecycle-e2e/resume/";

/** What an uninterrupted stop and start leave: per node, units active and enabled; cordons; no lock. */
async function snapshot() {
  const { units } = await snapshotUnits();
  const cordons: Record<string, boolean> = {};
  for (const n of (await probe.core.listNode()).items) cordons[n.metadata?.name ?? ""] = n.spec?.unschedulable ?? false;
  return {
    units,
    cordons,
    lease: await probe.lockLease(),
    localLock: existsSync(join(lab.paths.coordinatorState, "lock")),
  };
}

/** A plan's phases from `fromPhase` on, each with its step ids, as the dry run prints them. */
async function phasesOf(args: string[], fromPhase: string): Promise<string[][]> {
  const r = await kubecycle([...args, "--dry-run", "-o", "json"]);
  const { plan } = JSON.parse(r.stdout) as { plan: { phases: Array<{ name: string; steps: Array<{ id: string }> }> } };
  const from = plan.phases.findIndex((p) => p.name === fromPhase);
  return plan.phases.slice(from).map((p) => p.steps.map((s) => s.id));
}

/**
 * `count` kill points chosen by the seed, in plan order and each in a phase of its own: a later phase's steps have
 * not begun when an earlier one is cut short, so each point is still ahead of the run that is to be killed there.
 */
function choose(phases: string[][], count: number): string[] {
  const picked = new Set<number>();
  while (picked.size < count) picked.add(Math.floor(rnd() * phases.length));
  return [...picked]
    .sort((a, b) => a - b)
    .map((i) => {
      const steps = phases[i] ?? [];
      return steps[Math.floor(rnd() * steps.length)] ?? "";
    });
}

/** Calls `on` with each JSON event the child prints (-o json), whole lines only. */
function onEvents(
  child: Parameters<NonNullable<Parameters<typeof cli>[2]>>[0],
  on: (e: { type?: string; step?: string; phase?: string }) => void,
): void {
  let partial = "";
  child.stdout?.on("data", (d: Buffer) => {
    partial += d.toString();
    for (let i = partial.indexOf("\n"); i >= 0; i = partial.indexOf("\n")) {
      const line = partial.slice(0, i);
      partial = partial.slice(i + 1);
      try {
        on(JSON.parse(line) as { type?: string; step?: string; phase?: string });
      } catch {
        // not an event
      }
    }
  });
}

/** Runs kubecycle with -o json and SIGKILLs it the moment `step` starts; resolves with what it printed. */
async function killedAt(args: string[], step: string): Promise<CliResult & { killed: boolean }> {
  let killed = false;
  const r = await kubecycle([...args, "-o", "json"], (child) => {
    onEvents(child, (e) => {
      if (!killed && e.type === "step-started" && e.step === step) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
  });
  return { ...r, killed };
}

beforeAll(async () => {
  console.log(`crash-resume e2e seed: ${SEED} (KUBECYCLE_E2E_SEED=${SEED} to repeat)`);
  lab = await labUp({ masters: 3, workers: 2, build: "skip" });
  probe = await ClusterProbe.open(lab);
  await probe.settled();
}, 240_000);

afterAll(async () => {
  await downLab(lab, import.meta.url);
}, 120_000);

describe("kubecycle killed and resumed on the lab", () => {
  it("finishes a cluster stop and a cluster start cut short anywhere, and ends as an uninterrupted run", async () => {
    // An administrator's cordon, which the cycle must keep; and keys that must survive.
    const admin = lab.workers[1]?.kubeName ?? "";
    await probe.core.patchNode({ name: admin, body: [{ op: "add", path: "/spec/unschedulable", value: true }] });
    await probe.writeKeys(PREFIX, 500);
    const before = await snapshot();
    expect(before.lease).toBeUndefined();

    // The stop: killed at two points, resumed after each.
    const stopArgs = ["cluster", "stop", "--yes", "--boot-hold"];
    const [k1, k2] = choose(await phasesOf(stopArgs, "cordon"), 2);
    console.log(`stop killed at ${k1} and ${k2}`);
    const first = await killedAt(stopArgs, k1 ?? "");
    expect(first.killed, first.stderr).toBe(true);
    const stopOp = opOf(first);
    expect((await journalOf(lab, stopOp)).result).toBe("abandoned");
    const second = await killedAt(["ops", "resume", stopOp, "--yes"], k2 ?? "");
    expect(second.killed, second.stderr).toBe(true);
    const done = await kubecycle(["ops", "resume", stopOp, "--yes"]);
    expect(done.code, done.stderr).toBe(0);
    expect((await journalOf(lab, stopOp)).result).toBe("succeeded");
    // Stopped as an uninterrupted stop leaves it: every unit inactive and disabled (--boot-hold), the lock parked.
    for (const [key, state] of Object.entries((await snapshotUnits()).units))
      expect(state, key).toBe("inactive/disabled");
    expect(existsSync(join(lab.paths.coordinatorState, "lock"))).toBe(true);

    // The start: a worker's link goes down once its agent has answered, as the lock is taken, just before the
    // runtimes start; the start stops at that barrier, naming it. (Taken down synchronously: the lock's step is short.)
    const w = lab.workers[0];
    if (!w) throw new Error("no worker");
    let dropped = false;
    const cut = await kubecycle(["cluster", "start", "--yes", "-o", "json"], (child) => {
      onEvents(child, (e) => {
        if (!dropped && e.phase === "lock") {
          dropped = true;
          execFileSync("ip", ["link", "set", w.hostVeth, "down"]);
        }
      });
    });
    let startOp: string;
    try {
      expect(dropped).toBe(true);
      expect(cut.code, cut.stderr).toBe(1);
      expect(cut.stderr).toContain(`failed at start-runtime/start-units/${w.name}`);
      startOp = opOf(cut);
      const j = await journalOf(lab, startOp);
      for (const [id, s] of Object.entries(j.steps)) {
        if (/^(start-etcd|wait-etcd|start-control-plane|start-workers)\//.test(id))
          expect(s.status, id).toBe("pending");
      }
      for (const m of probe.masters) expect((await probe.unitTimes(m, "etcd")).active, `${m} etcd`).toBe("inactive");
    } finally {
      await run("ip", ["link", "set", w.hostVeth, "up"]);
    }
    await lab.waitAgents([w.name]);
    // Resumed, and killed once more at a point the seed chooses; then resumed to the end.
    const [k3] = choose(await phasesOf(["cluster", "start", "--yes"], "start-etcd"), 1);
    console.log(`start killed at ${k3}`);
    const third = await killedAt(["ops", "resume", startOp, "--yes"], k3 ?? "");
    expect(third.killed, third.stderr).toBe(true);
    const finished = await kubecycle(["ops", "resume", startOp, "--yes"]);
    expect(finished.code, finished.stderr).toBe(0);
    expect((await journalOf(lab, startOp)).result).toBe("succeeded");

    // As after an uninterrupted run: the same units, the same cordons, no lock; etcd healthy with every key.
    await probe.settled(120_000, { cordoned: [admin] });
    expect(await snapshot()).toEqual(before);
    expect((await lab.etcdHealth()).endpoints.filter((e) => e.health)).toHaveLength(3);
    expect((await probe.readKeys(PREFIX)).size).toBe(500);
    await probe.core.patchNode({ name: admin, body: [{ op: "replace", path: "/spec/unschedulable", value: false }] });
  }, 900_000);
});

/** The units alone (the API is down while the cluster is stopped). */
async function snapshotUnits() {
  const units: Record<string, string> = {};
  for (const n of probe.nodes) {
    for (const u of ["kubelet", "containerd", ...(lab.node(n).role === "master" ? ["etcd"] : [])]) {
      const t = await probe.unitTimes(n, u);
      units[`${n}/${u}`] = `${t.active}/${t.enabled}`;
    }
  }
  return { units };
}
