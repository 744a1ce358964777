// Stand-ins for the command-line tools the agent runs (crictl, etcdctl) in in-process tests: each is a small
// executable that records its argv and answers like the real tool for the calls the agent makes. Their state lives
// in marker files, so concurrent invocations never lose an update. Test support only; never shipped.
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

async function script(path: string, body: string): Promise<string> {
  await writeFile(path, `#!${process.execPath}\n"use strict";\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

/** One recorded invocation: when it began and (crictl stop) ended. */
export interface Invocation {
  t: number;
  argv: string[];
  end?: number;
}

/** Reads the invocations a fake recorded, in order. */
export async function invocations(dir: string, name: string): Promise<Invocation[]> {
  const text = await readFile(join(dir, `${name}.calls.jsonl`), "utf8").catch(() => "");
  const lines = text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Invocation & { endOf?: number });
  const calls = lines.filter((l) => l.endOf === undefined);
  for (const l of lines) {
    const started =
      l.endOf === undefined ? undefined : calls.find((c) => c.t === l.endOf && c.argv.join(" ") === l.argv.join(" "));
    if (started) started.end = l.t;
  }
  return calls;
}

/** A sandbox of the fake runtime, as crictl pods -o json prints it. */
export interface FakePod {
  id: string;
  metadata: { name: string; namespace: string };
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Its StopPodSandbox fails (it stays ready). */
  stubborn?: boolean;
}

/** A container of the fake runtime. `exitAfterS`: how long it takes to exit after SIGTERM (default 0). */
export interface FakeContainer {
  id: string;
  podSandboxId: string;
  metadata: { name: string };
  annotations?: Record<string, string>;
  exitAfterS?: number;
}

/**
 * A crictl for `pods --state ready -o json`, `ps -o json`, `stop --timeout=N ID` (the container exits after
 * min(N, its exitAfterS) seconds, as SIGTERM then SIGKILL would end it) and `stopp ID` (the sandbox and its containers
 * end at once, as a CRI StopPodSandbox does). Returns its path.
 */
export async function fakeCrictl(dir: string, pods: FakePod[], containers: FakeContainer[]): Promise<string> {
  await mkdir(join(dir, "crictl.stopped"), { recursive: true });
  await writeFile(join(dir, "crictl.state.json"), JSON.stringify({ pods, containers }));
  return script(
    join(dir, "crictl"),
    `const fs = require("fs"), path = require("path");
const dir = ${JSON.stringify(dir)};
const argv = process.argv.slice(2);
const t0 = Date.now();
fs.appendFileSync(path.join(dir, "crictl.calls.jsonl"), JSON.stringify({ t: t0, argv }) + "\\n");
const { pods, containers } = JSON.parse(fs.readFileSync(path.join(dir, "crictl.state.json"), "utf8"));
const stopped = (id) => fs.existsSync(path.join(dir, "crictl.stopped", id));
const stop = (id) => fs.writeFileSync(path.join(dir, "crictl.stopped", id), "");
let i = 0;
while (i < argv.length && argv[i].startsWith("-")) i++;
const cmd = argv[i], rest = argv.slice(i + 1);
const out = (v) => process.stdout.write(JSON.stringify(v, null, 2) + "\\n");
const fail = (m) => { process.stderr.write('level=fatal msg="' + m + '"\\n'); process.exit(1); };
if (cmd === "pods") {
  const state = (p) => (stopped(p.id) ? "SANDBOX_NOTREADY" : "SANDBOX_READY");
  out({ items: pods.map((p) => ({ ...p, state: state(p) })).filter((p) => !rest.includes("ready") || p.state === "SANDBOX_READY") });
} else if (cmd === "ps") {
  out({ containers: containers.filter((c) => !stopped(c.id) && !stopped(c.podSandboxId)).map((c) => ({ ...c, state: "CONTAINER_RUNNING" })) });
} else if (cmd === "stop") {
  const t = Number((rest.find((a) => a.startsWith("--timeout=")) || "--timeout=0").split("=")[1]);
  const id = rest[rest.length - 1];
  const c = containers.find((x) => x.id === id);
  if (!c) fail("container " + id + " not found");
  const wait = Math.min(t, c.exitAfterS || 0);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait * 1000);
  stop(id);
  fs.appendFileSync(path.join(dir, "crictl.calls.jsonl"), JSON.stringify({ t: Date.now(), argv, endOf: t0 }) + "\\n");
  out(id);
} else if (cmd === "stopp") {
  const id = rest[rest.length - 1];
  const pod = pods.find((p) => p.id === id);
  if (!pod) fail("sandbox " + id + " not found");
  if (pod.stubborn) fail("stopping the pod sandbox \\"" + id + "\\": rpc error: code = Unknown desc = failed to stop sandbox");
  stop(id);
  process.stdout.write("Stopped sandbox " + id + "\\n");
} else fail("unknown command " + cmd);`,
  );
}

/** What the fake etcdctl answers for one endpoint: subcommand ("endpoint health", "member list", ...) -> answer. */
export type EtcdctlAnswers = Record<string, Record<string, { code?: number; stdout?: string; stderr?: string }>>;

/**
 * An etcdctl that answers from `answers[endpoint][subcommand]` (an unknown endpoint fails as an unreachable one
 * does), and for `snapshot save PATH` writes a small file there. Returns its path.
 */
export async function fakeEtcdctl(dir: string, answers: EtcdctlAnswers): Promise<string> {
  await writeFile(join(dir, "etcdctl.answers.json"), JSON.stringify(answers));
  return script(
    join(dir, "etcdctl"),
    `const fs = require("fs"), path = require("path");
const dir = ${JSON.stringify(dir)};
const argv = process.argv.slice(2);
fs.appendFileSync(path.join(dir, "etcdctl.calls.jsonl"), JSON.stringify({ t: Date.now(), argv, env: Object.keys(process.env).filter((k) => k.startsWith("ETCDCTL_")) }) + "\\n");
const answers = JSON.parse(fs.readFileSync(path.join(dir, "etcdctl.answers.json"), "utf8"));
const endpoint = (argv.find((a) => a.startsWith("--endpoints=")) || "").slice("--endpoints=".length);
const words = argv.filter((a) => !a.startsWith("-"));
const sub = words.slice(0, 2).join(" ");
if (sub === "snapshot save") fs.writeFileSync(words[2], "snapshot-bytes");
const a = (answers[endpoint] || {})[sub];
if (!a) { process.stderr.write("context deadline exceeded: dial " + endpoint + "\\n"); process.exit(1); }
process.stdout.write(a.stdout || "");
process.stderr.write(a.stderr || "");
process.exit(a.code || 0);`,
  );
}
