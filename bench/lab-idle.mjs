// How much CPU an idle lab keeps busy: brings up a lab of the given shape with the lab CLI, lets it settle, then
// samples the machine's CPU (/proc/stat) and every lab process's (/proc/PID/stat, grouped by what it is) over a
// window, and takes the lab down. Prints the share of the whole machine (100% = every core busy) and the cores used.
//
// usage: node bench/lab-idle.mjs [--masters 3] [--workers 2] [--settle 20] [--window 30] [-- EXTRA UP FLAGS]
// Run it under the machine's lab lock: flock /tmp/kubecycle-lab.lock node bench/lab-idle.mjs --workers 12
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";

const sep = process.argv.indexOf("--");
const { values } = parseArgs({
  args: process.argv.slice(2, sep < 0 ? undefined : sep),
  options: {
    masters: { type: "string", default: "3" },
    workers: { type: "string", default: "2" },
    settle: { type: "string", default: "20" },
    window: { type: "string", default: "30" },
    "keep-up": { type: "boolean", default: false },
  },
});
const extra = sep < 0 ? [] : process.argv.slice(sep + 1);
const lab = (...args) =>
  execFileSync(process.execPath, ["test/lab/run.mjs", "test/lab/cli.ts", ...args], {
    stdio: ["ignore", "ignore", "inherit"],
  });

const CLK_TCK = 100;
const what = (cmd, comm) => {
  for (const [re, name] of [
    [/kube-apiserver\.mjs/, "apiserver"],
    [/kube-controller-manager\.mjs/, "controller-manager"],
    [/kube-scheduler\.mjs/, "scheduler"],
    [/kubelet\.mjs/, "kubelet"],
    [/(containerd|dockerd)\.mjs/, "runtime"],
    [/cri-dockerd\.mjs/, "cri-dockerd"],
    [/kubecycle-agent/, "agent"],
    [/^lab-container:/, "containers"],
  ]) {
    if (re.test(cmd)) return name;
  }
  if (comm === "etcd") return "etcd";
  if (comm === "systemd-journal") return "journald";
  if (comm === "systemd") return "systemd";
  return `other:${comm}`;
};

function labProcesses() {
  const out = new Map();
  for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      if (!readFileSync(`/proc/${p}/cgroup`, "utf8").includes(":/kclab")) continue;
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ");
      out.set(p, { ticks: Number(f[11]) + Number(f[12]), start: f[19], what: what(cmd, comm) });
    } catch {
      // gone while read
    }
  }
  return out;
}

function machineTicks() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { total: f.reduce((a, b) => a + b, 0), idle };
}

const shape = `${values.masters} masters + ${values.workers} workers${extra.length ? ` (${extra.join(" ")})` : ""}`;
process.stderr.write(`lab-idle: up ${shape}\n`);
lab("up", "--masters", values.masters, "--workers", values.workers, ...extra);
try {
  await new Promise((r) => setTimeout(r, Number(values.settle) * 1000));
  const p0 = labProcesses();
  const m0 = machineTicks();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, Number(values.window) * 1000));
  const p1 = labProcesses();
  const m1 = machineTicks();
  const seconds = (Date.now() - t0) / 1000;
  const byWhat = new Map();
  for (const [pid, b] of p1) {
    const a = p0.get(pid);
    const delta = a && a.start === b.start ? b.ticks - a.ticks : b.ticks; // a process born in the window: all of it
    byWhat.set(b.what, (byWhat.get(b.what) ?? 0) + delta);
  }
  const busy = 1 - (m1.idle - m0.idle) / (m1.total - m0.total);
  const labCores = [...byWhat.values()].reduce((a, b) => a + b, 0) / CLK_TCK / seconds;
  console.log(`idle lab, ${shape}, ${cpus().length} cores, ${seconds.toFixed(0)} s window:`);
  console.log(`  machine busy ${(busy * 100).toFixed(1)}%; the lab's processes ${labCores.toFixed(2)} cores`);
  for (const [k, v] of [...byWhat.entries()].sort((a, b) => b[1] - a[1])) {
    console.log(`    ${k.padEnd(20)} ${(v / CLK_TCK / seconds).toFixed(3)} cores`);
  }
} finally {
  if (!values["keep-up"]) lab("down");
}
