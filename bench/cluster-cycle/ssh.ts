// The baselines: the runbook's own loops (seeds/000_f14be3c2b3928a28.txt, sections 3.3 and 3.4) run over ssh as
// written, and the same steps with one ssh per node, all nodes of a phase at once. Each is a bash script the bench
// writes and runs on the host; the nodes' sshd (`lab up --sshd`) takes root logins with the lab's key.
//
// What differs from the runbook's text, and only this:
// - `ssh` is a shell function in front of the loops: the lab's ssh_config (`lab env`'s KUBECYCLE_LAB_SSH_CONFIG:
//   key, known hosts, the nodes' addresses), BatchMode, and `timeout` around each connection so that the bench always
//   ends (the runbook's serial etcd start waits out systemd's start timeout). The loops call it as they call ssh.
// - 3.4's `ssh root $node` is `ssh root@$node`, and its kubelet loop starts kubelet (the runbook's runs `stop`).
// - The node lists are the lab's: 3.3 takes them from `kubectl get nodes -o name` (there is no kubectl on the host;
//   the list is the same names), 3.4 writes them out; the runbook's `docker` is the lab's runtime unit
//   (containerd.service unless the lab runs --runtime docker).
// - `mark` lines between the loops print the time (bash's $EPOCHREALTIME, no fork), for the per-phase breakdown.
// The echo lines are the runbook's, including 3.4's "Stop ..." on its start loops.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../test/lab/host.js";
import type { Lab } from "../../test/lab/lab.js";
import { sshPaths } from "../../test/lab/sshd.js";

export type Baseline = "runbook" | "parallel-ssh";

/** One run of a baseline script: its wall time and when each of its phases began and ended. */
export interface ScriptRun {
  startAt: number;
  endAt: number;
  /** Phase name -> [start, end], ms since the epoch, from the script's own marks. */
  phases: Map<string, [number, number]>;
  /** ssh connections that failed or timed out (the runbook's start fails its first etcd on purpose, see above). */
  failures: string[];
}

/** The names the scripts use for a lab's nodes and its runtime unit. */
export interface ScriptNames {
  nodes: string[];
  etcdNodes: string[];
  /** The runbook's `docker`: the lab's runtime unit (its first service). */
  runtime: string;
}

export function namesOf(lab: Lab): ScriptNames {
  const runtime = (lab.runtime.services[0] ?? "containerd.service").replace(/\.service$/, "");
  return { nodes: lab.nodes.map((n) => n.kubeName), etcdNodes: lab.masters.map((n) => n.kubeName), runtime };
}

const preamble = (sshTimeoutS: number) => `#!/bin/bash
# Written by bench/cluster-cycle (see bench/cluster-cycle/ssh.ts for what differs from the runbook's text).
ssh() { timeout -k 5 ${sshTimeoutS} /usr/bin/ssh -F "$KUBECYCLE_LAB_SSH_CONFIG" -o BatchMode=yes "$@" || echo "!! ssh $* exited $?" >&2; }
mark() { echo "@@ $1 $EPOCHREALTIME"; }
`;

/** The runbook's 3.3 (its "一键停止集群" block), loops as written. */
function runbookStop(n: ScriptNames): string {
  return `nodes='${n.nodes.join(" ")}'
etcdnodes='${n.etcdNodes.join(" ")}'

mark kubelet
for node in \${nodes[@]}
do
	echo "===== Stop kubelet on $node ======"
	ssh root@$node systemctl stop kubelet
done

mark etcd
for etcdnode in \${etcdnodes[@]}
do
	echo "===== Stop etcd on $etcdnode ======"
	ssh root@$etcdnode systemctl stop etcd
done

mark runtime
for node in \${nodes[@]}
do
	echo "===== Stop docker on $node ======"
	ssh root@$node systemctl stop ${n.runtime}
done
mark end
`;
}

/** The runbook's 3.4, loops as written but for \`ssh root@\` and the kubelet loop's \`start\`. */
function runbookStart(n: ScriptNames): string {
  return `nodes='${n.nodes.join(" ")}'

mark runtime
for node in \${nodes[@]}
do
	echo "===== Stop docker on $node ======"
	ssh root@$node systemctl start ${n.runtime}
done

mark etcd
etcdnodes='${n.etcdNodes.join(" ")}'
for etcdnode in \${etcdnodes[@]}
do
	echo "===== Stop etcd on $etcdnode ======"
	ssh root@$etcdnode systemctl start etcd
done

mark kubelet
for node in \${nodes[@]}
do
	echo "===== Stop kubelet on $node ======"
	ssh root@$node systemctl start kubelet
done
mark end
`;
}

/** The same steps, each phase's ssh connections all at once, the next phase after the last of them returned. */
function parallel(n: ScriptNames, verb: "stop" | "start"): string {
  const phase = (name: string, list: string, unit: string) => `mark ${name}
for node in \${${list}[@]}
do
	ssh root@$node systemctl ${verb} ${unit} &
done
wait
`;
  const phases =
    verb === "stop"
      ? [phase("kubelet", "nodes", "kubelet"), phase("etcd", "etcdnodes", "etcd"), phase("runtime", "nodes", n.runtime)]
      : [
          phase("runtime", "nodes", n.runtime),
          phase("etcd", "etcdnodes", "etcd"),
          phase("kubelet", "nodes", "kubelet"),
        ];
  return `nodes='${n.nodes.join(" ")}'
etcdnodes='${n.etcdNodes.join(" ")}'

${phases.join("\n")}mark end
`;
}

/** The script a baseline runs for a verb. */
export function script(baseline: Baseline, verb: "stop" | "start", n: ScriptNames, sshTimeoutS: number): string {
  const body = baseline === "parallel-ssh" ? parallel(n, verb) : verb === "stop" ? runbookStop(n) : runbookStart(n);
  return preamble(sshTimeoutS) + body;
}

/** Runs a baseline's script; the whole script is bounded too (its ssh connections one after another, plus margin). */
export async function runScript(
  lab: Lab,
  baseline: Baseline,
  verb: "stop" | "start",
  sshTimeoutS: number,
): Promise<ScriptRun> {
  const names = namesOf(lab);
  const dir = await mkdtemp(join(tmpdir(), "kubecycle-bench-"));
  try {
    const file = join(dir, `${baseline}-${verb}.sh`);
    await writeFile(file, script(baseline, verb, names, sshTimeoutS), { mode: 0o700 });
    const connections = baseline === "runbook" ? 2 * names.nodes.length + names.etcdNodes.length : 3;
    const startAt = Date.now();
    const r = await run("bash", [file], {
      env: { KUBECYCLE_LAB_SSH_CONFIG: sshPaths(lab.paths).config },
      timeoutMs: (connections * (sshTimeoutS + 5) + 60) * 1000,
    });
    const endAt = Date.now();
    if (r.code !== 0) throw new Error(`${baseline} ${verb} exited ${r.code}: ${r.stderr.trim()}`);
    const marks = [...r.stdout.matchAll(/^@@ (\S+) (\d+)\.(\d+)$/gm)].map((m) => ({
      name: m[1] ?? "",
      at: Number(m[2]) * 1000 + Number(`0.${m[3] ?? "0"}`) * 1000,
    }));
    const phases = new Map<string, [number, number]>();
    for (let i = 0; i + 1 < marks.length; i++) {
      const [a, b] = [marks[i], marks[i + 1]];
      if (a && b) phases.set(a.name, [a.at, b.at]);
    }
    if (marks.at(-1)?.name !== "end") throw new Error(`${baseline} ${verb} did not reach its end:\n${r.stdout}`);
    const failures = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("!! "))
      .map((l) => l.slice(3));
    return { startAt, endAt, phases, failures };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
