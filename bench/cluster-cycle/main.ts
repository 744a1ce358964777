// bench/cluster-cycle: kubecycle's `cluster stop` and `cluster start` side by side, in one run on one lab, with the
// runbook's own ssh loops and the same steps as parallel ssh (see ssh.ts), at each lab size asked for. Every cycle is
// a stop and its start by one method; after each, the bench checks through the lab's own channels (cluster.ts) that
// the cluster really is back (every unit active, etcd healthy, every node Ready with a live kubelet, every pod
// Running, no kubecycle lock and no cordon) before the next cycle, and fails loudly when it is not. Started by
// bench/cluster-cycle.mjs (which takes the machine's lab lock), through test/lab/run.mjs.
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { labDown, labUp, type Lab } from "../../test/lab/lab.js";
import { sleep } from "../../test/lab/host.js";
import { ClusterView, containersLeft, readUnits, unitOnNodes, unitsNotIn, type UnitsByNode } from "./cluster.js";
import { KubecycleFailed, runKubecycle, type KubecycleRun } from "./kubecycle.js";
import { report } from "./report.js";
import {
  METHODS,
  kubecycleStart,
  kubecycleStop,
  scriptStart,
  scriptStop,
  type CycleSample,
  type Method,
  type UnitNames,
} from "./samples.js";
import { runScript, script } from "./ssh.js";

const USAGE = `usage: npm run bench:cluster-cycle -- [OPTIONS]      (root; openssh-server on the host)

  --sizes 5,15          lab sizes in nodes, each with 3 masters (default 5,15; at most 15)
  --runs N              cycles of each method per size (default 3)
  --methods LIST        kubecycle,runbook,parallel-ssh (default all three)
  --ssh-timeout S       bound on each ssh connection (default 150: the runbook's serial etcd start waits out
                        systemd's 90 s start timeout and etcd's 10 s RestartSec)
  --back-timeout S      how long the cluster may take to be back after a start (default 180)
  --cpu-prof DIR        run kubecycle under node --cpu-prof, profiles into DIR
  --json FILE           also write every sample as JSON
  --events DIR          keep each kubecycle run's JSON event stream and stderr in DIR
  --print-scripts       print the baselines' scripts for a 5-node lab and exit
`;

const log = (line: string): void => void process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);

async function load1(): Promise<number> {
  return Number((await readFile("/proc/loadavg", "utf8")).split(" ")[0]);
}

interface Options {
  runs: number;
  methods: Method[];
  sshTimeoutS: number;
  backTimeoutMs: number;
  cpuProfDir: string | undefined;
  eventsDir: string | undefined;
}

let interrupted = false;

/** What keeps the cluster from being back (since `since`, for the kubelets' Leases); empty when it is. */
async function notBack(lab: Lab, view: ClusterView, since: number): Promise<string[]> {
  try {
    let wrong = await view.etcdNotHealthy();
    if (wrong.length === 0) wrong = await view.apiNotBack(since);
    if (wrong.length === 0) wrong = [...(await view.apiNotReady()), ...unitsNotIn(await readUnits(lab), "active")];
    return wrong;
  } catch (err) {
    return [(err as Error).message.split("\n")[0] ?? "?"];
  }
}

/**
 * Waits until the cluster is back, as the bench itself sees it: etcd healthy, the API side back (see
 * ClusterView.apiNotBack), every API server ready, every unit active on every node. Returns when a check that began
 * then found all of it; throws naming what is still wrong at the deadline.
 */
async function waitBack(lab: Lab, view: ClusterView, since: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let wrong: string[] = [];
  while (Date.now() < deadline) {
    const at = Date.now();
    wrong = await notBack(lab, view, since);
    if (wrong.length === 0) return at;
    await sleep(250);
  }
  throw new Error(`the cluster is not back after ${timeoutMs / 1000} s:\n  ${wrong.slice(0, 20).join("\n  ")}`);
}

/**
 * Before a cycle: the cluster back in three checks in a row a second apart. An API server on a loaded machine can
 * blink unready when its etcd reads are slow, and kubecycle's preflight then refuses, rightly.
 */
async function waitSteady(lab: Lab, view: ClusterView, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let steady = 0;
  let wrong: string[] = [];
  while (steady < 3) {
    if (Date.now() > deadline) {
      throw new Error(`the cluster is not steadily back after ${timeoutMs / 1000} s:\n  ${wrong.join("\n  ")}`);
    }
    wrong = await notBack(lab, view, Date.now() - 5000);
    steady = wrong.length === 0 ? steady + 1 : 0;
    await sleep(1000);
  }
}

/** The units are all stopped; returns them with their timestamps. */
async function stopped(lab: Lab, method: Method): Promise<UnitsByNode> {
  const units = await readUnits(lab);
  const wrong = unitsNotIn(units, "inactive");
  if (wrong.length > 0) throw new Error(`${method}'s stop left units running:\n  ${wrong.join("\n  ")}`);
  return units;
}

async function cycle(lab: Lab, view: ClusterView, method: Method, run: number, o: Options): Promise<CycleSample> {
  const names: UnitNames = { runtime: lab.runtime.services };
  await waitSteady(lab, view, o.backTimeoutMs);
  const load = await load1();
  const nodeFlags = o.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`] : [];
  if (method === "kubecycle") {
    const keep = async (verb: string, r: { stdout: string; stderr: string }) => {
      if (!o.eventsDir) return;
      const base = join(o.eventsDir, `${lab.nodes.length}-nodes-run-${run}-${verb}`);
      await writeFile(`${base}.jsonl`, r.stdout);
      await writeFile(`${base}.stderr`, r.stderr);
    };
    let refusals = 0;
    let stop: KubecycleRun | undefined;
    while (!stop) {
      try {
        stop = await runKubecycle(lab, "stop", { nodeFlags });
      } catch (err) {
        // A refusal (exit 2) changed nothing: the cluster was not as its preflight demands at that moment (an API
        // server that blinked unready under load). Counted, reported, and tried again once the cluster is steady.
        if (!(err instanceof KubecycleFailed && err.code === 2 && refusals < 2)) throw err;
        refusals++;
        log(`kubecycle refused the stop (${err.message.split("\n").find((l) => l.startsWith("error:")) ?? ""})`);
        await waitSteady(lab, view, o.backTimeoutMs);
      }
    }
    await keep("stop", stop);
    const unitsStopped = await stopped(lab, method);
    const left = await containersLeft(lab);
    const start = await runKubecycle(lab, "start", { nodeFlags });
    await keep("start", start);
    const unitsStarted = await readUnits(lab);
    const backAt = await waitBack(lab, view, start.spawnedAt, o.backTimeoutMs);
    return {
      method,
      nodes: lab.nodes.length,
      run,
      load1: load,
      stop: kubecycleStop(stop, unitsStopped, names),
      start: kubecycleStart(start, unitsStarted, names, backAt),
      containersLeft: left,
      etcdRestarts: etcdRestarts(unitsStarted),
      sshFailures: [],
      refusals,
    };
  }
  const stop = await runScript(lab, method, "stop", o.sshTimeoutS);
  const unitsStopped = await stopped(lab, method);
  const left = await containersLeft(lab);
  const start = await runScript(lab, method, "start", o.sshTimeoutS);
  const unitsStarted = await readUnits(lab);
  const backAt = await waitBack(lab, view, start.startAt, o.backTimeoutMs);
  return {
    method,
    nodes: lab.nodes.length,
    run,
    load1: load,
    stop: scriptStop(stop, unitsStopped, names),
    start: scriptStart(start, unitsStarted, names, backAt),
    containersLeft: left,
    etcdRestarts: etcdRestarts(unitsStarted),
    sshFailures: [...stop.failures, ...start.failures],
    refusals: 0,
  };
}

/** systemd counts a unit's automatic restarts since its last start by hand: after the start, those of this start. */
function etcdRestarts(after: UnitsByNode): number {
  return unitOnNodes(after, "etcd.service").reduce((a, x) => a + x.restarts, 0);
}

function describe(s: CycleSample): string {
  const r = (x: number | undefined) => (x === undefined ? "-" : `${(x / 1000).toFixed(2)} s`);
  return (
    `${s.nodes} nodes, run ${s.run}, ${s.method.padEnd(12)} stop ${r(s.stop.wall?.ms)} (phases ${r(s.stop.phases?.ms)}), ` +
    `start ${r(s.start.wall?.ms)} (quorum ${r(s.start.quorum?.ms)}, back ${r(s.start.back?.ms)}), load ${s.load1}`
  );
}

async function size(nodes: number, o: Options, all: CycleSample[]): Promise<void> {
  log(`lab: up with 3 masters and ${nodes - 3} workers, sshd in every node`);
  const lab = await labUp({ masters: 3, workers: nodes - 3, sshd: true, build: "skip", log: (l) => log(`lab: ${l}`) });
  const view = new ClusterView(lab);
  log("waiting for the cluster to settle");
  await waitSteady(lab, view, o.backTimeoutMs);
  try {
    await runs(lab, view, o, all);
  } finally {
    // kubecycle's own log of these runs (pino, with every agent call), before the lab and its state go.
    if (o.eventsDir) {
      await copyFile(
        join(lab.paths.coordinatorState, "kubecycle.log"),
        join(o.eventsDir, `${nodes}-nodes-kubecycle.log`),
      ).catch(() => undefined);
    }
  }
}

async function runs(lab: Lab, view: ClusterView, o: Options, all: CycleSample[]): Promise<void> {
  for (let run = 1; run <= o.runs && !interrupted; run++) {
    // Each run takes the methods in another order, so that none always follows the same one.
    const order = o.methods.map((_, i) => o.methods[(i + run - 1) % o.methods.length] as Method);
    for (const method of order) {
      if (interrupted) break;
      const sample = await cycle(lab, view, method, run, o);
      all.push(sample);
      log(describe(sample));
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: "string", default: "5,15" },
      runs: { type: "string", default: "3" },
      methods: { type: "string", default: METHODS.join(",") },
      "ssh-timeout": { type: "string", default: "150" },
      "back-timeout": { type: "string", default: "180" },
      "cpu-prof": { type: "string" },
      json: { type: "string" },
      events: { type: "string" },
      "print-scripts": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const sizes = values.sizes.split(",").map(Number);
  const methods = values.methods.split(",") as Method[];
  if (sizes.some((n) => !Number.isInteger(n) || n < 3 || n > 15) || methods.some((m) => !METHODS.includes(m))) {
    process.stderr.write(USAGE);
    return 2;
  }
  const o: Options = {
    runs: Number(values.runs),
    methods,
    sshTimeoutS: Number(values["ssh-timeout"]),
    backTimeoutMs: Number(values["back-timeout"]) * 1000,
    cpuProfDir: values["cpu-prof"] ? resolve(values["cpu-prof"]) : undefined,
    eventsDir: values.events ? resolve(values.events) : undefined,
  };
  if (values["print-scripts"]) {
    const names = {
      nodes: ["kclab-master-1", "kclab-master-2", "kclab-master-3", "kclab-worker-1", "kclab-worker-2"],
      etcdNodes: ["kclab-master-1", "kclab-master-2", "kclab-master-3"],
      runtime: "containerd",
    };
    for (const b of ["runbook", "parallel-ssh"] as const) {
      for (const verb of ["stop", "start"] as const) {
        process.stdout.write(`# ----- ${b} ${verb}\n${script(b, verb, names, o.sshTimeoutS)}\n`);
      }
    }
    return 0;
  }
  for (const dir of [o.cpuProfDir, o.eventsDir]) if (dir) await mkdir(dir, { recursive: true });
  // A first Ctrl-C finishes the cycle in flight (the cluster must not be left half-stopped), then takes the lab down.
  process.on("SIGINT", () => {
    log("interrupted: finishing this cycle, then taking the lab down");
    interrupted = true;
  });
  const all: CycleSample[] = [];
  let failed: Error | undefined;
  log(`load average at the start: ${(await readFile("/proc/loadavg", "utf8")).trim()}`);
  try {
    for (const n of sizes) {
      if (interrupted) break;
      await size(n, o, all);
    }
  } catch (err) {
    failed = err instanceof Error ? err : new Error(String(err));
  } finally {
    log(`load average at the end: ${(await readFile("/proc/loadavg", "utf8")).trim()}`);
    log("lab: down");
    await labDown({ log: (l) => log(`lab: ${l}`) });
  }
  for (const n of sizes) {
    const of = all.filter((s) => s.nodes === n);
    if (of.length > 0) process.stdout.write(`${report(of).join("\n")}\n`);
  }
  if (values.json) await writeFile(values.json, `${JSON.stringify(all, null, 2)}\n`);
  if (failed) {
    process.stderr.write(`\nbench/cluster-cycle FAILED: ${failed.stack ?? failed.message}\n`);
    return 1;
  }
  return interrupted ? 130 : 0;
}
