// `npm run lab -- COMMAND` and `npm run demo` (run through test/lab/run.mjs). The lab is a test fixture; this is its
// operator interface for humans and for the README's demo.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { parseArgs } from "node:util";
import {
  LAYOUTS,
  RUNTIMES,
  checkPrerequisites,
  labDown,
  labUp,
  openLab,
  type Lab,
  type LayoutName,
  type NodeNames,
  type NodeReport,
  type RuntimeKind,
} from "./lab.js";
import { join } from "node:path";
import { REPO_ROOT } from "./agent.js";
import { findNodePid1 } from "./host.js";
import { MAX_MASTERS, MAX_WORKERS, planNodes } from "./layout.js";
import { serveReports, startLabServe } from "./serve.js";
import { isClean, labTraces } from "./traces.js";

const USAGE = `usage: npm run lab -- COMMAND

  up [OPTIONS]                               bring the lab up (idempotent; cleans a crashed lab first)
      --masters N                            etcd members and control-plane nodes, 1..${MAX_MASTERS} (default 3)
      --workers N                            0..${MAX_WORKERS} (default 2)
      --layout kubekey|kubeadm               how etcd runs on the masters (default kubekey):
${Object.values(LAYOUTS)
  .map((l) => `                                               ${l.name}: ${l.describe}`)
  .join("\n")}
      --runtime containerd|docker            the nodes' container runtime (default containerd):
                                               containerd: containerd.service
                                               docker: docker.service + docker.socket and cri-dockerd's
                                               cri-docker.service + cri-docker.socket, socket-activated
      --node-names short|cloud               the nodes' Kubernetes names (default short: kclab-worker-1);
                                               cloud: EC2's, ip-198-18-7-21.eu-west-1.compute.internal
                                               (host objects keep the short names; inventory.json maps both)
      --sshd                                 openssh-server in every node, root login with the lab's key
                                               (\`lab env\` prints how to ssh)
      --no-kube                              no kube stand-ins (API, kubelet, runtime): etcd and agents only
      --no-build                             use dist/ as it is (default: build it when stale)
  down                                       remove everything the lab made on this machine
  status [-o json]                           nodes, units, agents, etcd health
  env                                        shell lines for the coordinator: eval "$(npm run -s lab -- env)"
  exec NODE -- CMD [ARGS...]                 run a command inside a node
  poweroff NODE...                           cut a node's power (its systemd and everything in it die at once)
  boot NODE...                               power nodes on again (same persistent state, fresh /run and /tmp)
  reboot NODE...                             poweroff, then boot
  demo                                       up, show the lab, a node cycle, an outage started on boot, down
`;

class UsageError extends Error {}

const out = (s = ""): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(`${s}\n`);
const progress = (line: string): void => err(`lab: ${line}`);

/** Entry point called by run.mjs; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "up":
      return up(rest);
    case "down":
      noArgs(rest);
      await checkPrerequisites();
      await labDown({ log: progress });
      return verifyDown();
    case "status":
      return status(rest);
    case "env": {
      noArgs(rest);
      const lab = await openLab();
      for (const l of lab.envLines()) out(l);
      return 0;
    }
    case "exec":
      return exec(rest);
    case "poweroff":
    case "boot":
    case "reboot":
      return power(cmd, rest);
    case "demo":
      noArgs(rest);
      return demo();
    case undefined:
    case "help":
    case "--help":
    case "-h":
      out(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}

function noArgs(rest: string[]): void {
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
}

function oneOf<T extends string>(raw: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new UsageError(`${flag} expects ${allowed.join(" or ")}, not ${JSON.stringify(raw)}`);
  }
  return raw as T;
}

function count(raw: string | undefined, flag: string, def: number): number {
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} expects a number, not ${JSON.stringify(raw)}`);
  return Number(raw);
}

async function up(rest: string[]): Promise<number> {
  const { values } = parseArgs({
    args: rest,
    options: {
      masters: { type: "string" },
      workers: { type: "string" },
      kube: { type: "boolean" },
      "no-kube": { type: "boolean" },
      "no-build": { type: "boolean" },
      layout: { type: "string" },
      runtime: { type: "string" },
      "node-names": { type: "string" },
      sshd: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const layout = oneOf<LayoutName>(values.layout, "--layout", Object.keys(LAYOUTS) as LayoutName[]);
  const runtime = oneOf<RuntimeKind>(values.runtime, "--runtime", Object.keys(RUNTIMES) as RuntimeKind[]);
  const nodeNames = oneOf<NodeNames>(values["node-names"], "--node-names", ["short", "cloud"]);
  const masters = count(values.masters, "--masters", 3);
  const workers = count(values.workers, "--workers", 2);
  try {
    planNodes(masters, workers);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let lab: Lab;
  try {
    lab = await labUp({
      masters,
      workers,
      ...(values["no-kube"] ? { kube: false } : values.kube ? { kube: true } : {}),
      ...(values["no-build"] ? { build: "skip" as const } : {}),
      ...(layout ? { layout } : {}),
      ...(runtime ? { runtime } : {}),
      ...(nodeNames ? { nodeNames } : {}),
      ...(values.sshd ? { sshd: true } : {}),
      log: progress,
    });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new Error(
      `${e instanceof Error ? e.message : String(e)}\n  what came up is left for inspection (.lab/nodes/*/console.log, ` +
        "`npm run lab -- exec NODE -- journalctl`); `npm run lab -- down` removes it",
    );
  }
  if (lab.timings) {
    const t = lab.timings;
    const install = Math.max(0, ...Object.values(t.nodeInstallMs));
    progress(
      `timings: total ${t.totalMs} ms = prepare ${t.prepareMs} + boot and install ${t.bootMs} (the slowest install ${install}) + agents ${t.agentsMs} + etcd ${t.etcdMs} + kube ${t.kubeMs}`,
    );
  }
  printNodes((await lab.status()).nodes);
  out();
  out(
    `eval "$(npm run -s lab -- env)"   # ${lab.envLines().filter((l) => l.startsWith("export ")).length} variables for the coordinator and tests`,
  );
  return 0;
}

async function status(rest: string[]): Promise<number> {
  const { values } = parseArgs({ args: rest, options: { output: { type: "string", short: "o" } }, strict: true });
  const lab = await openLab();
  const s = await lab.status();
  if (values.output === "json") {
    out(JSON.stringify(s, null, 2));
  } else if (values.output === undefined) {
    printNodes(s.nodes);
    out();
    printEtcd(s.etcd);
  } else {
    throw new UsageError(`-o expects json, not ${JSON.stringify(values.output)}`);
  }
  return s.nodes.every((n) => n.running && n.agent === "serving") ? 0 : 1;
}

async function exec(rest: string[]): Promise<number> {
  const [node, sep, ...cmd] = rest;
  if (node === undefined || sep !== "--" || cmd.length === 0) throw new UsageError("usage: exec NODE -- CMD [ARGS...]");
  const lab = await openLab();
  const p = await findNodePid1(lab.node(node).name);
  if (!p) throw new Error(`node ${node} is powered off`);
  // Interactive: the command gets this terminal.
  const child = spawn("nsenter", ["-t", String(p.pid), "-m", "-u", "-i", "-p", "-n", "--", ...cmd], {
    stdio: "inherit",
    cwd: "/",
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

async function power(cmd: "poweroff" | "boot" | "reboot", names: string[]): Promise<number> {
  if (names.length === 0) throw new UsageError(`usage: ${cmd} NODE...`);
  const lab = await openLab({ log: progress });
  for (const n of names) lab.node(n);
  if (cmd === "poweroff") await lab.poweroff(...names);
  else {
    const ms = cmd === "boot" ? await lab.boot(...names) : await lab.reboot(...names);
    for (const [n, t] of Object.entries(ms)) progress(`${n} booted in ${t} ms`);
  }
  return 0;
}

async function demo(): Promise<number> {
  await checkPrerequisites();
  out("== kubecycle lab demo: a 3-master, 2-worker cluster on this machine ==");
  const lab = await labUp({ masters: 3, workers: 2, log: progress });
  try {
    const s = await lab.status();
    out(
      `\nThe lab came up in ${lab.timings ? `${(lab.timings.totalMs / 1000).toFixed(1)} s` : "(it was already up)"}.\n`,
    );
    out("Nodes (each a real systemd in its own namespaces), their units and kubecycle agents (mTLS):");
    printNodes(s.nodes);
    out("\netcd (etcdctl endpoint health --cluster, from a master's own /etc/etcd.env):");
    printEtcd(s.etcd);
    const members = await lab.etcdctl(["member", "list", "-w", "table"]);
    out(members.stdout.trimEnd());
    await showAgents(lab);
    await showApi(lab);
    out("\nThe coordinator's settings:");
    for (const l of lab.envLines()) out(`  ${l}`);
    if (lab.state.kube) await showCoordinator(lab);
  } finally {
    out("\n== tearing the lab down ==");
    await lab.down();
  }
  const code = await verifyDown();
  if (code === 0) out("done: nothing of the lab is left on this machine.");
  return code;
}

/**
 * The coordinator at work: status, a worker stopped and started again, then the runbook's planned outage with
 * nobody at the keyboard when power returns: `kubecycle serve` runs on the admin side (here, the host), the whole
 * cluster is stopped and powered off with the start armed on boot, the nodes boot one by one and their reports
 * arrive, and serve starts the cluster by itself once the last one has reported. Every step verified and shown live.
 */
async function showCoordinator(lab: Lab): Promise<void> {
  const worker = lab.workers[0]?.name;
  if (!worker) return;
  const run = async (args: string[]) => {
    out(`\n$ kubecycle ${args.join(" ")}`);
    const code = await kubecycle(lab, args);
    if (code !== 0) throw new Error(`kubecycle ${args.join(" ")} exited ${code}`);
  };
  for (const args of [["status"], ["node", "stop", worker, "--yes"], ["node", "start", worker, "--yes"]]) {
    await run(args);
  }
  out("\n$ kubecycle serve     # the coordinator as a daemon on the admin host; the agents report to it");
  let showReports = false;
  const serve = await startLabServe(lab, {
    onLine: (line) => {
      if (!showReports) return;
      const e = JSON.parse(line) as { msg?: string; node?: string; bootId?: string; reason?: string; stored?: boolean };
      if (e.msg === "report" && e.stored && e.reason === "REPORT_REASON_START") {
        out(`  serve: report from ${e.node}: booted, boot id ${e.bootId?.slice(0, 8) ?? "?"}`);
      } else if (e.msg?.startsWith("start on boot:") || e.msg?.startsWith("every recorded node")) {
        out(`  serve: ${e.msg}`);
      }
    },
  });
  try {
    await run(["cluster", "stop", "--yes", "--poweroff", "--boot-hold", "--start-on-boot"]);
    await lab.waitPoweredOff(lab.nodes.map((n) => n.name));
    await run(["status"]);
    out("\nPower returns, node by node; each agent reports to serve as soon as its node has booted:");
    showReports = true;
    for (const n of lab.nodes) {
      progress(`powering on ${n.name}`);
      await lab.boot(n.name);
    }
    const startOp = await waitForServeStart(lab);
    showReports = false;
    await run(["ops", "show", startOp]);
    await run(["status"]);
  } finally {
    await serve.kill("SIGTERM");
  }
}

/** Waits for the start serve runs by itself; its operation id. */
async function waitForServeStart(lab: Lab): Promise<string> {
  const end = Date.now() + 600_000;
  for (;;) {
    const sob = (await serveReports(lab)).startOnBoot;
    if (sob?.state === "started") return sob.startOperation;
    if (sob?.state === "failed") throw new Error(`serve's start failed: ${sob.reason}`);
    if (Date.now() > end) throw new Error("serve's start did not finish in 10 minutes");
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Runs the built kubecycle CLI against the lab, its output straight to this terminal. */
function kubecycle(lab: Lab, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, "dist/bin/kubecycle.mjs"), ...args], {
      env: { ...process.env, KUBECYCLE_CONFIG: lab.kubecycleConfigPath },
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

/** Checks from the machine's own view that nothing of the lab is left; names what is. */
async function verifyDown(): Promise<number> {
  const traces = await labTraces();
  if (isClean(traces)) {
    progress("the lab is down");
    return 0;
  }
  err(`error: the lab is down but these are left:\n${JSON.stringify(traces, null, 2)}`);
  return 1;
}

async function showAgents(lab: Lab): Promise<void> {
  out("\nWhat each agent reports (GetStatus over mTLS as the lab operator):");
  for (const n of lab.nodes) {
    const agent = await lab.agent(n.name);
    try {
      const st = await agent.getStatus({}, { deadlineMs: 5000 });
      const units = st.units.filter((u) => u.exists).map((u) => `${u.name}=${u.activeState}`);
      out(
        `  ${n.name.padEnd(16)} boot ${st.facts?.bootId.slice(0, 8) ?? "?"}  ${units.join(" ") || "(no managed units)"}`,
      );
    } finally {
      agent.close();
    }
  }
}

async function showApi(lab: Lab): Promise<void> {
  if (!lab.state.kube) {
    out("\nKubernetes API: the kube stand-ins are not part of this lab (test/lab/kube/ has not landed).");
    return;
  }
  // Loaded only here: every other command starts faster without it.
  const { KubeConfig, CoreV1Api } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromFile(lab.kubeconfigPath);
  const api = kc.makeApiClient(CoreV1Api);
  const nodes = await api.listNode();
  out("\nKubernetes API (kubectl get nodes, through @kubernetes/client-node):");
  for (const n of nodes.items) {
    const ready = n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    out(
      `  ${(n.metadata?.name ?? "?").padEnd(16)} ${ready ? "Ready" : "NotReady"}${n.spec?.unschedulable ? ",SchedulingDisabled" : ""}`,
    );
  }
}

function printNodes(nodes: NodeReport[]): void {
  const runtimeUnits = (n: NodeReport) =>
    Object.entries(n.units)
      .filter(([u]) => !["kubecycle-agent", "kubelet", "etcd"].includes(u))
      .map(([u, s]) => `${u}=${s}`)
      .join(",");
  const rows = [
    ["NODE", "ROLE", "IP", "POWER", "SYSTEM", "AGENT", "ETCD", "KUBELET", "RUNTIME", "BOOT ID"],
    ...nodes.map((n) => [
      n.kubeName === n.name ? n.name : `${n.name} (${n.kubeName})`,
      n.role,
      n.ip,
      n.running ? "on" : "off",
      n.system ?? "-",
      n.agent,
      n.units.etcd ?? "-",
      n.units.kubelet ?? "-",
      runtimeUnits(n) || "-",
      n.bootId?.slice(0, 8) ?? "-",
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  for (const r of rows)
    out(
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    );
}

function printEtcd(etcd: {
  from?: string;
  endpoints: Array<{ endpoint: string; health: boolean; error?: string }>;
  error?: string;
}): void {
  if (etcd.error !== undefined) {
    out(`etcd: ${etcd.error}`);
    return;
  }
  const healthy = etcd.endpoints.filter((e) => e.health).length;
  out(`etcd: ${healthy}/${etcd.endpoints.length} members healthy (asked ${etcd.from ?? "?"})`);
  for (const e of etcd.endpoints) out(`  ${e.endpoint}  ${e.health ? "healthy" : `unhealthy: ${e.error ?? ""}`}`);
}
