// The runbook's sections 1 and 2 as one command each, on the lab: `kubecycle node stop` and `node start` of a worker
// and of a master, and the refusals. kubecycle runs as the operator runs it (the built CLI, as a process); every
// outcome is checked through an independent channel: systemctl in the node, etcdctl, and the API through
// @kubernetes/client-node.
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PolicyV1Api,
  V1MicroTime,
  type V1Pod,
} from "@kubernetes/client-node";
import type { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { run } from "../lab/host.js";
import { labUp, type Lab } from "../lab/lab.js";
import {
  answer,
  downLab,
  journalOf as journal,
  kubecycle as run_,
  kubecycleOnTerminal as onTerminal,
  opOf,
  waitFor,
  type CliResult,
} from "./helpers.js";

const W1 = "kclab-worker-1";
const W2 = "kclab-worker-2";
const M2 = "kclab-master-2";
const M3 = "kclab-master-3";

let lab: Lab;
let core: CoreV1Api;
let policy: PolicyV1Api;
let coordination: CoordinationV1Api;

const kubecycle = (args: string[], onStart?: (child: ReturnType<typeof spawn>) => void) => run_(lab, args, onStart);
const kubecycleOnTerminal = (args: string[], react: Parameters<typeof onTerminal>[2]) => onTerminal(lab, args, react);
const journalOf = (op: string) => journal(lab, op);

async function nodeReady(name: string): Promise<string> {
  const n = await core.readNode({ name });
  return n.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "Unknown";
}

async function unschedulable(name: string): Promise<boolean> {
  return (await core.readNode({ name })).spec?.unschedulable === true;
}

async function activeState(node: string, unit: string): Promise<string> {
  return (await lab.node(node).systemctl("show", "-p", "ActiveState", "--value", unit)).stdout.trim();
}

const isReadyPod = (p: V1Pod) =>
  p.status?.phase === "Running" &&
  !p.metadata?.deletionTimestamp &&
  (p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false);

async function podsOn(node: string): Promise<V1Pod[]> {
  return (await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items;
}

const evictable = (p: V1Pod) =>
  !p.metadata?.annotations?.["kubernetes.io/config.mirror"] &&
  !p.metadata?.ownerReferences?.some((o) => o.kind === "DaemonSet" || o.kind === "Node");

/** Samples the Ready pods of an app until stopped; the minimum seen proves a PDB was never violated. */
function watchReady(app: string): { stop(): Promise<number> } {
  let min = Number.POSITIVE_INFINITY;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const pods = (await core.listPodForAllNamespaces({ labelSelector: `app=${app}` })).items;
        min = Math.min(min, pods.filter(isReadyPod).length);
      } catch {
        // A blink of the API during a master's stop is not a PDB violation.
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return min;
    },
  };
}

async function lockLease(): Promise<string | undefined> {
  try {
    return (await coordination.readNamespacedLease({ name: "kubecycle-lock", namespace: "kube-system" })).spec
      ?.holderIdentity;
  } catch {
    return undefined;
  }
}

/** Every node Ready, without the taints the node-lifecycle controller puts on NotReady or unreachable nodes. */
async function settled(): Promise<void> {
  await waitFor(
    "every node Ready and untainted",
    async () => {
      const nodes = (await core.listNode()).items;
      const ok = nodes.every(
        (n) =>
          n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") &&
          !(n.spec?.taints ?? []).some((t) => t.key.startsWith("node.kubernetes.io/")),
      );
      return nodes.length === 5 && ok ? true : undefined;
    },
    90_000,
  );
}

/** A worker that runs a Ready web pod (pods do not move back after a cycle, so this changes as tests run). */
async function workerRunningWeb(): Promise<string> {
  return waitFor(
    "a worker running a Ready web pod",
    async () => {
      const pods = (await core.listPodForAllNamespaces({ labelSelector: "app=web" })).items.filter(isReadyPod);
      return [W1, W2].find((w) => pods.some((p) => p.spec?.nodeName === w));
    },
    60_000,
  );
}

/** Another holder's cluster lock, as a Lease kubecycle would have written. */
async function foreignLock(holder: string, annotations: Record<string, string>, renewTime: V1MicroTime): Promise<void> {
  await coordination.createNamespacedLease({
    namespace: "kube-system",
    body: {
      metadata: {
        name: "kubecycle-lock",
        namespace: "kube-system",
        annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`kubecycle.io/${k}`, v])),
      },
      spec: { holderIdentity: holder, leaseDurationSeconds: 30, renewTime },
    },
  });
}

/** Sets web-pdb's minAvailable (100 blocks every eviction of a web pod). */
async function setWebMinAvailable(value: number | string | undefined): Promise<void> {
  await policy.patchNamespacedPodDisruptionBudget({
    name: "web-pdb",
    namespace: "default",
    body: [{ op: "replace", path: "/spec/minAvailable", value }],
  });
}

/**
 * Runs `node stop NODE` while web-pdb blocks every eviction of a web pod, and calls `whenBlocked` once, as soon as the
 * drain retries against it; the budget is restored afterwards.
 */
async function stopBlockedInDrain(
  node: string,
  whenBlocked: (child: ReturnType<typeof spawn>) => void,
  extraArgs: string[] = [],
): Promise<CliResult> {
  await setWebMinAvailable(100);
  try {
    return await kubecycle(["node", "stop", node, "--yes", "--drain-timeout", "120s", ...extraArgs], (child) => {
      let called = false;
      child.stdout?.on("data", (d: Buffer) => {
        if (!called && d.toString().includes("blocked by PodDisruptionBudget")) {
          called = true;
          whenBlocked(child);
        }
      });
    });
  } finally {
    await setWebMinAvailable(3);
  }
}

beforeAll(async () => {
  lab = await labUp({ masters: 3, workers: 2, build: "skip" });
  const kc = new KubeConfig();
  kc.loadFromFile(lab.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  policy = kc.makeApiClient(PolicyV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
  await waitFor(
    "5 Ready nodes",
    async () =>
      (await core.listNode()).items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      ).length === 5
        ? true
        : undefined,
    60_000,
  );
}, 180_000);

afterAll(async () => {
  await downLab(lab, import.meta.url);
}, 120_000);

describe("kubecycle node stop/start on the lab", () => {
  it("prints the plan with --dry-run and changes nothing", async () => {
    const r = await kubecycle(["node", "stop", W1, "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Plan: node stop ${W1}`);
    expect(r.stdout).toMatch(
      /Cordon[\s\S]*Drain[\s\S]*Stop kubelet[\s\S]*Stop the remaining pod sandboxes[\s\S]*Stop the container runtime/,
    );
    expect(await unschedulable(W1)).toBe(false);
    expect(await lockLease()).toBeUndefined();
  });

  it("shows every node with its agent, units, readiness and etcd health (status)", async () => {
    const r = await kubecycle(["status", "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const st = JSON.parse(r.stdout) as {
      api: { reachable: boolean };
      nodes: Array<{
        node: string;
        agent: string;
        ready: string;
        units: Record<string, string>;
        etcd: { healthy: boolean; leader: boolean } | null;
      }>;
    };
    expect(st.api.reachable).toBe(true);
    expect(st.nodes.map((n) => n.node).sort()).toEqual(lab.nodes.map((n) => n.name).sort());
    for (const n of st.nodes) {
      expect(n).toMatchObject({ agent: "ok", ready: "True", units: { kubelet: "active", containerd: "active" } });
    }
    const members = st.nodes.filter((n) => n.etcd);
    expect(members).toHaveLength(3);
    expect(members.every((m) => m.etcd?.healthy)).toBe(true);
    expect(members.filter((m) => m.etcd?.leader)).toHaveLength(1);
    const table = await kubecycle(["status"]);
    expect(table.stdout).toMatch(/NODE\s+ROLES\s+AGENT/);
    const yaml = parseYaml((await kubecycle(["status", "-o", "yaml"])).stdout) as typeof st;
    expect(yaml.nodes.map((n) => [n.node, n.agent, n.ready])).toEqual(st.nodes.map((n) => [n.node, n.agent, n.ready]));
  });

  it("still reports, and says so, when an agent or the API is down (status)", async () => {
    await lab.poweroff(W2);
    try {
      const down = JSON.parse((await kubecycle(["status", "-o", "json"])).stdout) as {
        nodes: Array<{ node: string; agent: string }>;
      };
      expect(down.nodes.find((n) => n.node === W2)?.agent).toBe("unreachable");
      expect(down.nodes.filter((n) => n.agent === "ok")).toHaveLength(4);
    } finally {
      await lab.boot(W2);
    }
    // Ready, and the node-lifecycle controller has lifted its not-ready/unreachable taints.
    await waitFor(
      "worker-2 Ready and untainted again",
      async () => {
        const n = await core.readNode({ name: W2 });
        const ready = n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        return ready && (n.spec?.taints ?? []).length === 0 ? true : undefined;
      },
      60_000,
    );
    // Without etcd quorum the API fails; status falls back to the cached inventory and says so.
    await Promise.all([M2, M3].map((m) => lab.node(m).systemctl("stop", "etcd")));
    try {
      const r = await kubecycle(["status"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("unreachable");
      expect(r.stdout).toContain("using the cached inventory");
      for (const n of lab.nodes) expect(r.stdout).toContain(n.name);
    } finally {
      await Promise.all([M2, M3].map((m) => lab.node(m).systemctl("start", "--no-block", "etcd")));
      await lab.waitEtcdHealthy();
    }
    await settled();
  }, 180_000);

  it("takes a verified etcd snapshot and prints its keys and revision (etcd snapshot)", async () => {
    const r = await kubecycle(["etcd", "snapshot", "--out", join(lab.paths.coordinatorState, "manual")]);
    expect(r.code, r.stderr).toBe(0);
    const m = /(\d+) keys at revision (\d+)/.exec(r.stdout);
    expect(Number(m?.[1])).toBeGreaterThan(10);
    const file = /snapshot (\S+\.db)/.exec(r.stdout)?.[1] ?? "";
    const st = await run("etcdctl", ["snapshot", "status", file, "-w", "json"], { env: { ETCDCTL_API: "3" } });
    expect(JSON.parse(st.stdout)).toMatchObject({ totalKey: Number(m?.[1]), revision: Number(m?.[2]) });
  });

  it("refuses a node that does not exist, changing nothing", async () => {
    const r = await kubecycle(["node", "stop", "kclab-nope", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("kclab-nope is not in cluster");
    expect(r.stderr).toContain("hint:");
    expect(await lockLease()).toBeUndefined();
  });

  it("cycles a worker: drained within its PDBs, units stopped, NotReady; then back Ready and schedulable", async () => {
    await settled();
    const web = watchReady("web");
    const before = (await podsOn(W1)).filter(evictable).map((p) => p.metadata?.name);
    expect(before.length).toBeGreaterThan(0);
    const stop = await kubecycle(["node", "stop", W1, "--yes"]);
    const minWeb = await web.stop();
    expect(stop.code, stop.stderr).toBe(0);
    for (const unit of ["kubelet", "containerd"]) expect(await activeState(W1, unit)).toBe("inactive");
    expect(await nodeReady(W1)).not.toBe("True");
    expect(await unschedulable(W1)).toBe(true);
    const left = (await podsOn(W1)).filter((p) => evictable(p) && !p.metadata?.deletionTimestamp);
    expect(left.map((p) => p.metadata?.name)).toEqual([]);
    const pdb = await policy.readNamespacedPodDisruptionBudget({ name: "web-pdb", namespace: "default" });
    expect(minWeb).toBeGreaterThanOrEqual(Number(pdb.spec?.minAvailable ?? 0));
    // The lock is parked for this node's start.
    expect(await lockLease()).toBe(opOf(stop));

    const start = await kubecycle(["node", "start", W1, "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    for (const unit of ["kubelet", "containerd"]) expect(await activeState(W1, unit)).toBe("active");
    expect(await nodeReady(W1)).toBe("True");
    expect(await unschedulable(W1)).toBe(false);
    expect(await lockLease()).toBeUndefined();
  }, 300_000);

  it("cycles a master: snapshot, etcd keeps quorum and a leader, the API serves; then 3 healthy members again", async () => {
    await lab.etcdctl(["put", "/kubecycle-e2e/before-stop", "kept"]);
    const stop = await kubecycle(["node", "stop", M2, "--yes"]);
    expect(stop.code, stop.stderr).toBe(0);
    for (const unit of ["kubelet", "etcd", "containerd"]) expect(await activeState(M2, unit)).toBe("inactive");
    // The API still serves, through the other masters.
    expect((await core.listNode()).items.length).toBe(5);
    expect(await nodeReady(M2)).not.toBe("True");
    const health = await lab.etcdctl(["endpoint", "health", "--cluster", "-w", "json"], { node: "kclab-master-1" });
    const endpoints = JSON.parse(health.stdout || "[]") as Array<{ health: boolean }>;
    expect(endpoints.filter((e) => e.health)).toHaveLength(2);
    const status = await lab.etcdctl(["endpoint", "status", "-w", "json"], { node: "kclab-master-1" });
    expect(status.stdout).toMatch(/"leader":\s*\d+/);
    // The backup: a whole snapshot whose sha256 matches its .sha256 file, and etcdctl reads it.
    const backups = join(lab.paths.coordinatorState, "backups");
    const snaps = (await readdir(backups)).filter((f) => f.endsWith(".db"));
    expect(snaps.length).toBeGreaterThan(0);
    const latest = join(backups, snaps.sort().at(-1) ?? "");
    const sum = createHash("sha256")
      .update(await readFile(latest))
      .digest("hex");
    expect(await readFile(`${latest}.sha256`, "utf8")).toContain(sum);
    expect((await readdir(backups)).some((f) => f.endsWith(".part"))).toBe(false);
    const st = await run("etcdctl", ["snapshot", "status", latest, "-w", "json"], { env: { ETCDCTL_API: "3" } });
    expect(st.code, st.stderr).toBe(0);
    expect((JSON.parse(st.stdout) as { revision: number; totalKey: number }).totalKey).toBeGreaterThan(10);

    const start = await kubecycle(["node", "start", M2, "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    const after = await lab.etcdctl(["endpoint", "health", "--cluster", "-w", "json"]);
    expect((JSON.parse(after.stdout || "[]") as Array<{ health: boolean }>).filter((e) => e.health)).toHaveLength(3);
    expect((await lab.etcdctl(["get", "/kubecycle-e2e/before-stop", "--print-value-only"])).stdout.trim()).toBe("kept");
    expect(await nodeReady(M2)).toBe("True");
    expect(await unschedulable(M2)).toBe(false);
  }, 300_000);

  it("cycles the master the kubeconfig points at, carrying on through the other masters' API servers", async () => {
    const M1 = "kclab-master-1";
    const kubeconfig = await readFile(lab.kubeconfigPath, "utf8");
    expect(kubeconfig).toContain(`server: https://${lab.node(M1).ip}:6443`);
    // The test's own view while master-1's apiserver is gone: master-3's.
    const kc3 = new KubeConfig();
    kc3.loadFromString(kubeconfig.replace(`https://${lab.node(M1).ip}:6443`, `https://${lab.node(M3).ip}:6443`));
    const core3 = kc3.makeApiClient(CoreV1Api);
    const logFile = join(lab.paths.coordinatorState, "kubecycle.log");
    const logBefore = (await readFile(logFile, "utf8").catch(() => "")).length;

    const stop = await kubecycle(["node", "stop", M1, "--yes"]);
    expect(stop.code, stop.stderr).toBe(0);
    for (const unit of ["kubelet", "etcd", "containerd"]) expect(await activeState(M1, unit)).toBe("inactive");
    // The kubeconfig's own server is down; the cluster answers through the others.
    await expect(core.listNode()).rejects.toThrow();
    const m1 = await core3.readNode({ name: M1 });
    expect(m1.status?.conditions?.find((c) => c.type === "Ready")?.status).not.toBe("True");
    expect(m1.spec?.unschedulable).toBe(true);
    const health = await lab.etcdctl(["endpoint", "health", "--cluster", "-w", "json"], { node: M3 });
    expect((JSON.parse(health.stdout || "[]") as Array<{ health: boolean }>).filter((e) => e.health)).toHaveLength(2);
    const log = (await readFile(logFile, "utf8")).slice(logBefore);
    expect(log).toContain("failing over");

    const start = await kubecycle(["node", "start", M1, "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    for (const unit of ["kubelet", "etcd", "containerd"]) expect(await activeState(M1, unit)).toBe("active");
    const after = await lab.etcdctl(["endpoint", "health", "--cluster", "-w", "json"]);
    expect((JSON.parse(after.stdout || "[]") as Array<{ health: boolean }>).filter((e) => e.health)).toHaveLength(3);
    expect(await nodeReady(M1)).toBe("True");
    expect(await unschedulable(M1)).toBe(false);
  }, 300_000);

  it("refuses to stop a master while another etcd member is down (quorum guard), changing nothing", async () => {
    await lab.node(M3).systemctl("stop", "etcd");
    try {
      const r = await kubecycle(["node", "stop", M2, "--yes"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("refusing to stop etcd member");
      expect(r.stderr).toContain(M3);
      expect(r.stderr).toContain("hint:");
      expect(await unschedulable(M2)).toBe(false);
      expect(await activeState(M2, "etcd")).toBe("active");
      expect(await lockLease()).toBeUndefined();
    } finally {
      await lab.node(M3).systemctl("start", "etcd");
      await lab.waitEtcdHealthy();
    }
  }, 120_000);

  it("refuses a worker whose pods cannot fit elsewhere (capacity), changing nothing", async () => {
    const node = await workerRunningWeb();
    const others = (await core.listNode()).items.map((n) => n.metadata?.name ?? "").filter((n) => n !== node);
    for (const name of others)
      await core.patchNode({ name, body: [{ op: "add", path: "/spec/unschedulable", value: true }] });
    try {
      const r = await kubecycle(["node", "stop", node, "--yes"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("do not fit on the remaining");
      expect(r.stderr).toContain("--force");
      expect(await unschedulable(node)).toBe(false);
      expect(await activeState(node, "kubelet")).toBe("active");
    } finally {
      for (const name of others)
        await core.patchNode({ name, body: [{ op: "add", path: "/spec/unschedulable", value: false }] });
    }
  }, 120_000);

  it("refuses a second operation while another holds the lock, naming the holder", async () => {
    await foreignLock(
      "20261126T000000-node-stop-elsewhere-abcd",
      { procedure: "node stop", target: "elsewhere", user: "bob", host: "admin-2" },
      new V1MicroTime(),
    );
    try {
      const r = await kubecycle(["node", "stop", W1, "--yes"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("another operation holds the cluster lock");
      expect(r.stderr).toContain("bob@admin-2");
      expect(await unschedulable(W1)).toBe(false);
    } finally {
      await coordination.deleteNamespacedLease({ name: "kubecycle-lock", namespace: "kube-system" });
    }
  }, 60_000);

  it("breaks a stale lock only when asked (--break-lock)", async () => {
    const stale = new V1MicroTime(Date.now() - 10 * 60_000);
    await foreignLock(
      "20261126T000000-node-stop-gone-dead",
      { procedure: "node stop", target: "gone", state: "running" },
      stale,
    );
    try {
      const refused = await kubecycle(["node", "start", W1, "--yes"]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("looks stale");
      expect(refused.stderr).toContain("--break-lock");
      expect(await lockLease()).toBe("20261126T000000-node-stop-gone-dead");
      const broken = await kubecycle(["node", "start", W1, "--yes", "--break-lock"]);
      expect(broken.code, broken.stderr).toBe(0);
      const journal = await journalOf(opOf(broken));
      expect(journal.steps["lock/acquire-lock"]?.evidence?.broke).toContain("gone-dead");
      expect(await lockLease()).toBeUndefined();
    } finally {
      await coordination
        .deleteNamespacedLease({ name: "kubecycle-lock", namespace: "kube-system" })
        .catch(() => undefined);
    }
  }, 120_000);

  it("keeps an administrator's cordon through a stop and start", async () => {
    await core.patchNode({ name: W2, body: [{ op: "add", path: "/spec/unschedulable", value: true }] });
    const stop = await kubecycle(["node", "stop", W2, "--yes"]);
    expect(stop.code, stop.stderr).toBe(0);
    // For automation, -o json: one JSON event per line, as the journal records them.
    const start = await kubecycle(["node", "start", W2, "--yes", "-o", "json"]);
    expect(start.code, start.stderr).toBe(0);
    const events = start.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; step?: string; result?: string; evidence?: unknown });
    expect(events.at(-1)).toMatchObject({ type: "operation-finished", result: "succeeded" });
    expect(events.find((e) => e.type === "step-succeeded" && e.step === `uncordon/uncordon/${W2}`)).toMatchObject({
      evidence: { uncordoned: false },
    });
    expect(await nodeReady(W2)).toBe("True");
    expect(await unschedulable(W2)).toBe(true);
    await core.patchNode({ name: W2, body: [{ op: "add", path: "/spec/unschedulable", value: false }] });
  }, 300_000);

  it("times out a drain a PDB blocks, naming it, and leaves the node for node start to restore", async () => {
    const node = await workerRunningWeb();
    const pdb = await policy.readNamespacedPodDisruptionBudget({ name: "web-pdb", namespace: "default" });
    const was = pdb.spec?.minAvailable;
    await setWebMinAvailable(100);
    try {
      const r = await kubecycle(["node", "stop", node, "--yes", "--drain-timeout", "8s"]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain("web-pdb");
      expect(r.stderr).toContain("timed out");
      expect(await unschedulable(node)).toBe(true);
      expect(await activeState(node, "kubelet")).toBe("active");
    } finally {
      await setWebMinAvailable(was);
    }
    const start = await kubecycle(["node", "start", node, "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    expect(await unschedulable(node)).toBe(false);
    expect(await lockLease()).toBeUndefined();
  }, 180_000);

  it("explains a drain that cannot finish because the node's kubelet is already down, and its hint works", async () => {
    const node = await workerRunningWeb();
    await lab.node(node).systemctl("stop", "kubelet");
    await waitFor("the node NotReady", async () => ((await nodeReady(node)) !== "True" ? true : undefined), 60_000);
    // Every web pod must stay healthy (4 of 4): its web pods, unhealthy now, can never be evicted.
    await setWebMinAvailable(4);
    try {
      const r = await kubecycle(["node", "stop", node, "--yes", "--drain-timeout", "6s"]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain("blocked by PodDisruptionBudget default/web-pdb");
      expect(r.stderr).toContain(`hint: ${node} is NotReady, so its pods are not healthy`);
      expect(r.stderr).toContain(`kubecycle node start ${node}`);
      expect(await unschedulable(node)).toBe(true);
    } finally {
      await setWebMinAvailable(3);
    }

    // As the hint says: start it, then stop it again.
    const start = await kubecycle(["node", "start", node, "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    expect(await activeState(node, "kubelet")).toBe("active");
    const again = await kubecycle(["node", "stop", node, "--yes"]);
    expect(again.code, again.stderr).toBe(0);
    expect(await activeState(node, "kubelet")).toBe("inactive");
    const back = await kubecycle(["node", "start", node, "--yes"]);
    expect(back.code, back.stderr).toBe(0);
    expect(await unschedulable(node)).toBe(false);
  }, 240_000);

  it("on SIGINT during a stop records exactly where it stopped and keeps the lock parked for the node", async () => {
    const node = await workerRunningWeb();
    const r = await stopBlockedInDrain(node, (child) => child.kill("SIGINT"));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("interrupted");
    const op = opOf(r);
    const journal = await journalOf(op);
    expect(journal.result).toBe("interrupted");
    const byId = journal.steps;
    expect(byId[`cordon/cordon/${node}`]?.status).toBe("succeeded");
    expect(byId[`drain/drain/${node}`]).toMatchObject({ status: "failed", error: { code: "CANCELLED" } });
    expect(byId[`stop-kubelet/stop-units/${node}`]?.status).toBe("pending");
    // The node was cordoned and half drained: the lock stays parked, so nothing else starts until its start.
    expect(await lockLease()).toBe(op);
    expect(JSON.parse(await readFile(join(lab.paths.coordinatorState, "lock"), "utf8"))).toMatchObject({
      op,
      state: "parked",
    });
    expect(await activeState(node, "kubelet")).toBe("active");
    // Another stop (its preflight passed with --force: the other worker is cordoned) is refused at the lock.
    const other = await kubecycle(["node", "stop", node === W1 ? W2 : W1, "--yes", "--force"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("refused at lock/acquire-lock");
    expect(other.stderr).toContain("parked");
    const start = await kubecycle(["node", "start", node, "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    expect(await unschedulable(node)).toBe(false);
  }, 240_000);

  it("after a kill -9 mid-drain shows the operation abandoned, and takes its lock at once with --break-lock", async () => {
    const node = await workerRunningWeb();
    const killed = await stopBlockedInDrain(node, (child) => child.kill("SIGKILL"));
    expect(killed.code).toBe(-1); // killed by a signal: no exit code
    const op = opOf(killed);
    const show = await journalOf(op);
    expect(show.result).toBe("abandoned");
    expect(show.reason).toContain("is gone");
    expect(show.steps[`drain/drain/${node}`]?.status).toBe("running");
    // Its lease was renewed moments ago, but its process is provably gone: stale, yet only broken when asked.
    expect(await lockLease()).toBe(op);
    const refused = await kubecycle(["node", "start", node, "--yes"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("process is gone");
    expect(refused.stderr).toContain("--break-lock");
    const start = await kubecycle(["node", "start", node, "--yes", "--break-lock"]);
    expect(start.code, start.stderr).toBe(0);
    expect(await unschedulable(node)).toBe(false);
    expect(await lockLease()).toBeUndefined();
  }, 240_000);

  it("on a terminal asks first, changes nothing on no, and on yes shows the phases live until each is done", async () => {
    await settled();
    const node = W2;
    const no = await kubecycleOnTerminal(["node", "stop", node], answer("n"));
    expect(no.code, no.screen).toBe(1);
    expect(no.screen).toContain(`Stop node ${node}`);
    expect(no.screen).toContain("not confirmed; nothing was changed");
    expect(await unschedulable(node)).toBe(false);
    expect(await activeState(node, "kubelet")).toBe("active");
    expect(await lockLease()).toBeUndefined();

    const { plan } = JSON.parse((await kubecycle(["node", "stop", node, "--dry-run", "-o", "json"])).stdout) as {
      plan: { phases: Array<{ title: string }> };
    };
    const yes = await kubecycleOnTerminal(["node", "stop", node], answer("y"));
    expect(yes.code, yes.screen).toBe(0);
    // A live view redraws in place (log-update erases the previous frame's lines), with a spinner while a step runs,
    // and ends with every phase ticked off.
    expect(yes.screen).toContain("\u001b[2K");
    expect(yes.screen).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /);
    const lastFrame = yes.screen.slice(yes.screen.lastIndexOf(`node stop ${node}\r\n`));
    for (const phase of plan.phases) expect(lastFrame).toContain(`✓ ${phase.title}`);
    expect(yes.screen).toContain(`node stop ${node}: done`);
    for (const unit of ["kubelet", "containerd"]) expect(await activeState(node, unit)).toBe("inactive");

    const start = await kubecycle(["node", "start", node, "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    expect(await nodeReady(node)).toBe("True");
  }, 240_000);

  it("when its terminal goes away (an ssh session drops) stops as on Ctrl-C: the journal says where, the lock stays parked", async () => {
    const node = await workerRunningWeb();
    await setWebMinAvailable(100);
    let hungUp = false;
    try {
      await kubecycleOnTerminal(["node", "stop", node, "--yes", "--drain-timeout", "120s"], (screen, terminal) => {
        if (!hungUp && screen.includes("blocked by PodDisruptionBudget")) {
          hungUp = true;
          terminal.hangUp();
        }
      });
      expect(hungUp).toBe(true);
      const op = await waitFor(
        "the hung-up operation to finish",
        async () => {
          const ops = JSON.parse((await kubecycle(["ops", "list", "-o", "json"])).stdout) as Array<{
            op: string;
            procedure: string;
            result: string;
          }>;
          const last = ops.find((o) => o.procedure === "node stop");
          return last && last.result !== "running" ? last : undefined;
        },
        30_000,
      );
      expect(op.result).toBe("interrupted");
      const byId = (await journalOf(op.op)).steps;
      expect(byId[`drain/drain/${node}`]).toMatchObject({ status: "failed", error: { code: "CANCELLED" } });
      expect(byId[`stop-kubelet/stop-units/${node}`]?.status).toBe("pending");
      await waitFor(
        "the lock to be parked",
        async () => {
          const local = JSON.parse(await readFile(join(lab.paths.coordinatorState, "lock"), "utf8")) as {
            state?: string;
          };
          return (await lockLease()) === op.op && local.state === "parked" ? true : undefined;
        },
        20_000,
      );
      expect(await activeState(node, "kubelet")).toBe("active");
    } finally {
      await setWebMinAvailable(3);
    }
    const start = await kubecycle(["node", "start", node, "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    expect(await unschedulable(node)).toBe(false);
  }, 240_000);

  it("fails cleanly, naming the node, when its agent drops off half-way; once fixed, a re-run finishes", async () => {
    const node = await workerRunningWeb();
    // Units settle within seconds here: waiting out the default 2 minutes for an agent that is gone proves nothing more.
    const config = join(lab.paths.coordinatorState, "short-unit-timeout.yaml");
    const base = parseYaml(await readFile(lab.kubecycleConfigPath, "utf8")) as Record<string, unknown>;
    await writeFile(config, stringifyYaml({ ...base, timeouts: { unitSettleMs: 8000 } }));
    // While the drain waits on the PDB: the agent goes away, then the PDB lets the drain finish.
    const r = await stopBlockedInDrain(
      node,
      () =>
        void lab
          .node(node)
          .systemctl("stop", "kubecycle-agent")
          .then(() => setWebMinAvailable(3)),
      ["--config", config],
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      `failed at stop-kubelet/stop-units/${node}: ${node}: StopUnits: the agent is unreachable (connect ECONNREFUSED`,
    );
    expect(r.stderr).toContain(`check that kubecycle-agent runs on ${node}`);
    const journal = await journalOf(opOf(r));
    expect(journal.result).toBe("failed");
    const byId = journal.steps;
    expect(byId[`drain/drain/${node}`]?.status).toBe("succeeded");
    expect(byId[`stop-kubelet/stop-units/${node}`]).toMatchObject({
      status: "failed",
      error: { code: "NODE_UNREACHABLE" },
    });
    expect(byId[`stop-runtime/stop-units/${node}`]?.status).toBe("pending");
    // Nothing past the failure happened: kubelet still runs (systemctl in the node), the node stays cordoned and the
    // lock stays parked for its start.
    expect(await activeState(node, "kubelet")).toBe("active");
    expect(await unschedulable(node)).toBe(true);
    expect(await lockLease()).toBe(opOf(r));

    // The cause fixed, the same stop is run again: it takes over its own parked lock and finishes.
    await lab.node(node).systemctl("start", "kubecycle-agent");
    await lab.waitAgents([node]);
    const again = await kubecycle(["node", "stop", node, "--yes"]);
    expect(again.code, again.stderr).toBe(0);
    for (const unit of ["kubelet", "containerd"]) expect(await activeState(node, unit)).toBe("inactive");
    expect(await lockLease()).toBe(opOf(again));
    const start = await kubecycle(["node", "start", node, "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    expect(await unschedulable(node)).toBe(false);
    expect(await lockLease()).toBeUndefined();
  }, 240_000);
});
