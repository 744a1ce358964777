#!/usr/bin/env node
// Cluster cycle on the lab: kubecycle's `cluster stop` and `cluster start` side by side with the runbook's own ssh
// loops (sections 3.3/3.4, run as written) and the same steps as one ssh per node in parallel per phase, at 5 and 15
// nodes (3 masters), medians of 3 runs each, broken down per phase with each phase's floor (its slowest unit
// transition, from the nodes' own systemd timestamps), the ratios kubecycle/runbook and kubecycle/parallel-ssh, and
// the targets. Between cycles the cluster is checked back (units, etcd, nodes Ready, pods, no lock or
// cordon) through the lab's own channels; a cluster that does not come back fails the bench.
//
// Usage: npm run bench:cluster-cycle [-- --sizes 5 --runs 1 ...]    (root; openssh-server on the host; --help)
//
// The lab is one per machine and shared: the bench brings it up (with --sshd) and takes it down under the machine's
// lab lock, /tmp/kubecycle-lab.lock. It takes the lock itself unless a process it runs under already holds it
// (`flock /tmp/kubecycle-lab.lock npm run bench:cluster-cycle` works too; a second flock would wait on the first).
// The work is in bench/cluster-cycle/ (TypeScript, against the lab's library), run through test/lab/run.mjs.
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";

const LOCK = "/tmp/kubecycle-lab.lock";
const repo = new URL("..", import.meta.url).pathname;

/** The pid's parent, from /proc. */
function parentOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** True when the lab lock is held by this process or one it runs under (flock(1) holds it for its command). */
function lockHeldByAncestor() {
  let inode;
  try {
    inode = statSync(LOCK).ino;
  } catch {
    return false;
  }
  const holders = readFileSync("/proc/locks", "utf8")
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === "FLOCK" && Number(f[5]?.split(":")[2]) === inode)
    .map((f) => Number(f[4]));
  for (let pid = process.pid; pid > 1; pid = parentOf(pid)) if (holders.includes(pid)) return true;
  return false;
}

const args = process.argv.slice(2);
const bench = [process.execPath, "test/lab/run.mjs", "bench/cluster-cycle/main.ts", ...args];
const underLock =
  args.includes("--help") || args.includes("-h") || args.includes("--print-scripts") || lockHeldByAncestor();
if (!underLock) process.stderr.write(`taking the machine's lab lock ${LOCK} (waits while another lab runs)\n`);
const [cmd, ...argv] = underLock ? bench : ["flock", LOCK, ...bench];
const child = spawn(cmd, argv, { cwd: repo, stdio: "inherit" });
// Ctrl-C reaches the bench too: it finishes the cycle in flight and takes the lab down; wait for it.
process.on("SIGINT", () => undefined);
child.on("close", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
