// The lab's Kubernetes side, on a real lab of 3 masters and 2 workers (kube stand-ins on), driven through the real
// @kubernetes/client-node. Every claim is checked through a channel of its own besides the API: systemctl and ps in
// the node, etcdctl on a master (the objects' keys under /registry), the crictl stand-in in the node, /readyz over
// HTTPS. Each test first waits for the cluster to settle (5 Ready nodes, every seeded pod Running and Ready, PDB
// status current) and restores what it broke, so none depends on another having run; the containerd one, which
// stops every container of a worker, runs last.
import { request } from "node:https";
import { connect } from "node:net";
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PolicyV1Api,
  setHeaderOptions,
  type V1Node,
  type V1Pod,
  type V1PodDisruptionBudget,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor, type RunResult } from "../lab/host.js";
import { SEEDED_APPS, SEEDED_DAEMONSET, SEEDED_NAMESPACE } from "../lab/kube/index.js";
import { labDown, labUp, type Lab, type LabNode } from "../lab/lab.js";

const UP_TIMEOUT_MS = 180_000;
const SETTLE_TIMEOUT_MS = 60_000;
const NS = SEEDED_NAMESPACE;
const MERGE_PATCH = setHeaderOptions("Content-Type", "application/merge-patch+json");
/** Keys of the objects a quorum loss must not lose (leases, election keys and events change on their own). */
const OBJECT_PREFIXES = [
  "/registry/minions/",
  "/registry/pods/",
  "/registry/namespaces/",
  "/registry/replicasets/",
  "/registry/deployments/",
  "/registry/daemonsets/",
  "/registry/poddisruptionbudgets/",
];

let lab: Lab;
let kc: KubeConfig;
let core: CoreV1Api;
let policy: PolicyV1Api;
let coordination: CoordinationV1Api;
/** The controller-manager's --node-monitor-grace-period, as the running processes on the masters have it. */
let graceMs: number;

// ------------------------------------------------------------------------------------------------------ helpers

const readyOf = (n: V1Node) => n.status?.conditions?.find((c) => c.type === "Ready");
const podReady = (p: V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
const podKey = (p: V1Pod): string => `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`;
const isMirror = (p: V1Pod): boolean => p.metadata?.annotations?.["kubernetes.io/config.mirror"] !== undefined;
const TROUBLE_TAINTS = [
  "node.kubernetes.io/unreachable",
  "node.kubernetes.io/not-ready",
  "node.kubernetes.io/unschedulable",
];

/** Fails with the command, its exit code and output unless it exited 0. */
function ok(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return r;
}

/** Rejects when `p` has not settled after `ms` (so a hung request fails a probe instead of the whole test). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** What an API failure was: "HTTP <code>: <Status message> (<causes>)" or the transport's error. */
function describeError(err: unknown): string {
  if (!(err instanceof ApiException)) return `no HTTP answer: ${(err as Error)?.message ?? String(err)}`;
  const status = statusBody(err);
  const causes = (status.details?.causes ?? []).map((c) => c.message).join("; ");
  return `HTTP ${err.code}: ${status.message ?? "?"}${causes ? ` (${causes})` : ""}`;
}

interface StatusBody {
  reason?: string;
  message?: string;
  code?: number;
  details?: { causes?: Array<{ reason?: string; message?: string }> };
}

function statusBody(err: ApiException<unknown>): StatusBody {
  if (typeof err.body === "object" && err.body !== null) return err.body;
  if (typeof err.body !== "string") return {};
  try {
    return JSON.parse(err.body) as StatusBody;
  } catch {
    return { message: err.body };
  }
}

/** GET https://<ip>:6443<path>, verifying the apiserver against the kubeconfig's CA; no client certificate. */
async function apiserverGet(ip: string, path: string): Promise<{ code: number; body: string }> {
  const ca = Buffer.from(kc.getCurrentCluster()?.caData ?? "", "base64");
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port: 6443, path, ca, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} on ${ip}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** Whether host:port accepts a TCP connection from the host, i.e. from outside every node. */
function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 2000 });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
    s.once("timeout", () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** The keys under /registry of the objects in OBJECT_PREFIXES, read with etcdctl on a master. */
async function objectKeys(): Promise<string[]> {
  const r = ok(await lab.etcdctl(["get", "/registry/", "--prefix", "--keys-only"]), "etcdctl get /registry/");
  return r.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((k) => OBJECT_PREFIXES.some((p) => k.startsWith(p)))
    .sort();
}

/** The node's object as stored in etcd (JSON), read with etcdctl: what the API serves comes from here. */
async function storedNode(name: string): Promise<V1Node> {
  const r = ok(
    await lab.etcdctl(["get", `/registry/minions/${name}`, "--print-value-only"]),
    `etcdctl get /registry/minions/${name}`,
  );
  return JSON.parse(r.stdout) as V1Node;
}

/** Every object's identity the API serves (kind/namespace/name -> uid), for a before/after comparison. */
async function objectUids(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const add = (kind: string, items: Array<{ metadata?: { namespace?: string; name?: string; uid?: string } }>) => {
    for (const o of items)
      out[`${kind} ${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`] = o.metadata?.uid ?? "";
  };
  add("Node", (await core.listNode()).items);
  add("Namespace", (await core.listNamespace()).items);
  add("Pod", (await core.listPodForAllNamespaces()).items);
  add("PodDisruptionBudget", (await policy.listPodDisruptionBudgetForAllNamespaces()).items);
  return out;
}

/** A node's units' ActiveState. */
async function activeState(node: LabNode, unit: string): Promise<string> {
  return (await node.exec(["systemctl", "show", "-p", "ActiveState", "--value", unit])).stdout.trim();
}

/** The container processes in a node (argv[0] "lab-container:<ns>/<pod>/<container>"), by name -> pid; zombies not. */
async function containerProcesses(node: LabNode): Promise<Map<string, number>> {
  const r = ok(await node.exec(["ps", "-e", "-o", "pid=,stat=,args="]), `ps in ${node.name}`);
  const out = new Map<string, number>();
  for (const line of r.stdout.split("\n")) {
    const m = /^\s*(\d+)\s+(\S+)\s+lab-container:(\S+)/.exec(line);
    if (m?.[1] && m[2] && m[3] && !m[2].startsWith("Z")) out.set(m[3], Number(m[1]));
  }
  return out;
}

/** Whether a process whose command line contains `needle` runs in the node. */
async function processRuns(node: LabNode, needle: string): Promise<boolean> {
  const r = ok(await node.exec(["ps", "-e", "-o", "stat=,args="]), `ps in ${node.name}`);
  return r.stdout.split("\n").some((l) => l.includes(needle) && !l.trim().startsWith("Z"));
}

interface CriSandbox {
  id: string;
  metadata: { name: string; namespace: string; uid: string; attempt: number };
  state: string;
}
interface CriContainer {
  id: string;
  podSandboxId: string;
  metadata: { name: string };
  state: string;
}

async function crictlPods(node: LabNode): Promise<CriSandbox[]> {
  const r = ok(await node.exec(["crictl", "pods", "-o", "json"]), `crictl pods in ${node.name}`);
  return (JSON.parse(r.stdout) as { items: CriSandbox[] }).items;
}

async function crictlPs(node: LabNode, all = false): Promise<CriContainer[]> {
  const r = ok(await node.exec(["crictl", "ps", ...(all ? ["-a"] : []), "-o", "json"]), `crictl ps in ${node.name}`);
  return (JSON.parse(r.stdout) as { containers: CriContainer[] }).containers;
}

async function cordon(node: string, unschedulable: boolean): Promise<void> {
  await core.patchNode({ name: node, body: { spec: { unschedulable } } }, MERGE_PATCH);
}

function evict(name: string): Promise<unknown> {
  return core.createNamespacedPodEviction({
    name,
    namespace: NS,
    body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: NS } },
  });
}

async function webPods(): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: NS, labelSelector: "app=web" })).items;
}

async function readPdb(name: string): Promise<V1PodDisruptionBudget> {
  return policy.readNamespacedPodDisruptionBudget({ name, namespace: NS });
}

/**
 * Waits until the cluster is as `up` left it: 5 Ready nodes without a NotReady/unreachable/cordon taint, every
 * seeded pod (and each master's static control-plane pods) Running and Ready, none Terminating, and both PDBs'
 * status computed from all their pods. Fails naming what is still off.
 */
async function settled(): Promise<{ nodes: V1Node[]; pods: V1Pod[] }> {
  const expected = new Map<string, number>([
    ...SEEDED_APPS.map((a) => [`${NS}/${a.name}`, a.replicas] as [string, number]),
    [`kube-system/${SEEDED_DAEMONSET}`, lab.nodes.length],
    ["kube-system/static", lab.masters.length * 3],
  ]);
  return waitFor(
    "the cluster to settle (5 Ready nodes, every seeded pod Running and Ready, PDB status current)",
    async () => {
      const nodes = (await within(core.listNode(), 10_000, "list nodes")).items;
      const names = nodes.map((n) => n.metadata?.name ?? "").sort();
      if (JSON.stringify(names) !== JSON.stringify(lab.nodes.map((n) => n.name).sort()))
        throw new Error(`nodes: ${names.join(", ")}`);
      for (const n of nodes) {
        const ready = readyOf(n);
        if (ready?.status !== "True") throw new Error(`${n.metadata?.name} Ready=${ready?.status} ${ready?.message}`);
        const trouble = (n.spec?.taints ?? []).filter((t) => TROUBLE_TAINTS.includes(t.key));
        if (n.spec?.unschedulable || trouble.length > 0)
          throw new Error(`${n.metadata?.name}: cordoned or tainted ${JSON.stringify(trouble)}`);
      }
      const pods = (await within(core.listPodForAllNamespaces(), 10_000, "list pods")).items;
      const count = new Map<string, number>();
      for (const p of pods) {
        if (p.metadata?.deletionTimestamp) throw new Error(`${podKey(p)} is Terminating`);
        if (p.status?.phase !== "Running" || !podReady(p))
          throw new Error(`${podKey(p)}: ${p.status?.phase} on ${p.spec?.nodeName ?? "(no node)"}, not Ready`);
        const app = isMirror(p) ? "static" : (p.metadata?.labels?.app ?? "?");
        const k = `${p.metadata?.namespace}/${app}`;
        count.set(k, (count.get(k) ?? 0) + 1);
      }
      for (const [k, n] of expected)
        if (count.get(k) !== n) throw new Error(`${k}: ${count.get(k) ?? 0} pods, want ${n}`);
      if (pods.length !== [...expected.values()].reduce((a, b) => a + b, 0))
        throw new Error(`unexpected pods: ${pods.map(podKey).join(", ")}`);
      for (const app of SEEDED_APPS.filter((a) => a.pdb)) {
        const pdb = await readPdb(`${app.name}-pdb`);
        const st = pdb.status;
        if (
          st?.observedGeneration !== pdb.metadata?.generation ||
          st?.currentHealthy !== app.replicas ||
          st.expectedPods !== app.replicas ||
          Object.keys(st.disruptedPods ?? {}).length > 0
        )
          throw new Error(`${app.name}-pdb status not current: ${JSON.stringify(st)}`);
      }
      return { nodes, pods };
    },
    { timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 250 },
  );
}

// ------------------------------------------------------------------------------------------------------ the lab

beforeAll(async () => {
  await labDown();
  lab = await labUp({ masters: 3, workers: 2, kube: true, log: (l) => console.log(`lab: ${l}`) });
  kc = new KubeConfig();
  kc.loadFromFile(lab.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  policy = kc.makeApiClient(PolicyV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
  // The grace the running controller-managers were started with (the lab's configured one), from each master's ps.
  const graces = new Set<number>();
  for (const m of lab.masters) {
    const seconds = await waitFor(
      `the kube-controller-manager in ${m.name}, with --node-monitor-grace-period`,
      async () => {
        const ps = ok(await m.exec(["ps", "-e", "-o", "args="]), `ps in ${m.name}`).stdout;
        return /kube-controller-manager\.mjs .*--node-monitor-grace-period=(\d+)s/.exec(ps)?.[1];
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    graces.add(Number(seconds) * 1000);
  }
  if (graces.size !== 1) throw new Error(`the masters disagree on the grace period: ${[...graces].join(", ")} ms`);
  graceMs = [...graces][0] ?? 0;
  console.log(`node monitor grace period: ${graceMs} ms`);
}, UP_TIMEOUT_MS);

afterAll(async () => {
  await labDown();
}, UP_TIMEOUT_MS);

describe("the Kubernetes stand-ins on a lab of 3 masters and 2 workers", () => {
  it("lists 5 Ready nodes through @kubernetes/client-node, each the lab node whose kubelet runs", async () => {
    const nodes = await waitFor(
      "5 Ready nodes in the API",
      async () => {
        const items = (await core.listNode()).items;
        return items.length === 5 && items.every((n) => readyOf(n)?.status === "True") ? items : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(nodes.map((n) => n.metadata?.name).sort()).toEqual(lab.nodes.map((n) => n.name).sort());
    const stored = await objectKeys();
    for (const n of nodes) {
      const name = n.metadata?.name ?? "";
      const labNode = lab.node(name);
      expect(readyOf(n)?.reason).toBe("KubeletReady");
      // The node the API describes is the lab node: its address, role and taint, its kubelet active in it.
      expect(n.status?.addresses?.find((a) => a.type === "InternalIP")?.address).toBe(labNode.ip);
      const role =
        labNode.role === "master" ? "node-role.kubernetes.io/control-plane" : "node-role.kubernetes.io/worker";
      expect(Object.keys(n.metadata?.labels ?? {})).toContain(role);
      const controlPlaneTaint = (n.spec?.taints ?? []).some((t) => t.key === "node-role.kubernetes.io/control-plane");
      expect(controlPlaneTaint).toBe(labNode.role === "master");
      expect(await activeState(labNode, "kubelet")).toBe("active");
      // ... and it is stored in the lab's etcd, where the API reads it from.
      expect(stored).toContain(`/registry/minions/${name}`);
    }
  });

  it("marks a worker NotReady within its grace period after `systemctl stop kubelet`, Ready again after start", async () => {
    await settled();
    const worker = lab.workers[0] as LabNode;
    const others = lab.nodes.filter((n) => n !== worker).map((n) => n.name);
    try {
      const t0 = Date.now();
      ok(await worker.systemctl("stop", "kubelet"), `systemctl stop kubelet in ${worker.name}`);
      const stopMs = Date.now() - t0;
      expect(await activeState(worker, "kubelet")).toBe("inactive");
      expect(await processRuns(worker, "kubelet.mjs")).toBe(false);

      const seen = await waitFor(
        `${worker.name} to turn NotReady`,
        async () => {
          const n = await within(core.readNode({ name: worker.name }), 5000, "read node");
          return readyOf(n)?.status !== "True" ? { node: n, at: Date.now() } : undefined;
        },
        { timeoutMs: graceMs + 10_000, intervalMs: 100 },
      );
      const latencyMs = seen.at - t0;
      // The last heartbeat: the kubelet renews its Lease every second, so it is at most ~1 s older than the stop.
      const lease = await coordination.readNamespacedLease({ name: worker.name, namespace: "kube-node-lease" });
      const silentMs = seen.at - Date.parse(String(lease.spec?.renewTime));
      console.log(
        `kubelet stop: ${stopMs} ms; NotReady seen ${latencyMs} ms after the stop, ${silentMs} ms after the last ` +
          `heartbeat (grace ${graceMs} ms)`,
      );
      const ready = readyOf(seen.node);
      expect([ready?.status, ready?.reason]).toEqual(["Unknown", "NodeStatusUnknown"]);
      // Not before the grace period has passed without heartbeat, and within it (plus the controller's 0.5 s round
      // and this test's polling) of the stop.
      expect(silentMs).toBeGreaterThan(graceMs);
      expect(silentMs).toBeLessThan(graceMs + 1500);
      expect(latencyMs).toBeGreaterThan(graceMs - 1500);
      expect(latencyMs).toBeLessThan(graceMs + 1500);
      // Stored so in etcd; only this node: the others still heartbeat.
      expect(readyOf(await storedNode(worker.name))?.status).toBe("Unknown");
      for (const name of others) expect(readyOf(await core.readNode({ name }))?.status, name).toBe("True");
      await waitFor(
        `the unreachable taint on ${worker.name}`,
        async () =>
          (await core.readNode({ name: worker.name })).spec?.taints?.some(
            (t) => t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute",
          ) || undefined,
        { timeoutMs: 5000, intervalMs: 100 },
      );

      const t1 = Date.now();
      ok(await worker.systemctl("start", "kubelet"), `systemctl start kubelet in ${worker.name}`);
      const back = await waitFor(
        `${worker.name} to turn Ready again`,
        async () => {
          const n = await within(core.readNode({ name: worker.name }), 5000, "read node");
          return readyOf(n)?.status === "True" ? n : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      console.log(`kubelet start: Ready again after ${Date.now() - t1} ms`);
      expect(readyOf(back)?.reason).toBe("KubeletReady");
      expect(readyOf(await storedNode(worker.name))?.status).toBe("True");
      await waitFor(
        `the unreachable taints to leave ${worker.name}`,
        async () =>
          (await core.readNode({ name: worker.name })).spec?.taints?.some((t) => TROUBLE_TAINTS.includes(t.key))
            ? undefined
            : true,
        { timeoutMs: 5000, intervalMs: 100 },
      );
    } finally {
      await worker.systemctl("start", "kubelet");
    }
  });

  it("fails the API when 2 of 3 etcd members stop, and brings it back with every object intact", async () => {
    await settled();
    const uidsBefore = await objectUids();
    const keysBefore = await objectKeys();
    expect(keysBefore.filter((k) => k.startsWith("/registry/pods/"))).toHaveLength(
      Object.keys(uidsBefore).filter((k) => k.startsWith("Pod ")).length,
    );
    const key = `/lab-kube-test/${process.pid}`;
    ok(await lab.etcdctl(["put", key, "kept"]), "etcdctl put");
    const [m1, m2, m3] = lab.masters as [LabNode, LabNode, LabNode];
    try {
      const t0 = Date.now();
      await Promise.all([m2, m3].map(async (m) => ok(await m.systemctl("stop", "etcd"), `stop etcd in ${m.name}`)));
      const stopMs = Date.now() - t0;
      expect([await activeState(m1, "etcd"), await activeState(m2, "etcd"), await activeState(m3, "etcd")]).toEqual([
        "active",
        "inactive",
        "inactive",
      ]);

      // Through client-node a request fails, with a 5xx: the apiserver never serves a stale answer...
      const failed = await waitFor(
        "a request through client-node to fail",
        async () => {
          try {
            await within(core.listNode(), 15_000, "list nodes");
            return undefined;
          } catch (err) {
            return { err, at: Date.now() };
          }
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      expect(failed.err, describeError(failed.err)).toBeInstanceOf(ApiException);
      expect((failed.err as ApiException<unknown>).code, describeError(failed.err)).toBeGreaterThanOrEqual(500);
      // ... and every apiserver's /readyz answers 500, naming etcd.
      const readyz = await Promise.all(
        lab.masters.map((m) =>
          waitFor(
            `${m.name}'s /readyz to fail`,
            async () => {
              const res = await apiserverGet(m.ip, "/readyz?verbose");
              return res.code !== 200 ? { ...res, node: m.name } : undefined;
            },
            { timeoutMs: 20_000, intervalMs: 200 },
          ),
        ),
      );
      const lostMs = Date.now() - t0;
      for (const r of readyz) {
        expect(r.code, `${r.node}: ${r.body}`).toBeGreaterThanOrEqual(500);
        expect(r.body, r.node).toContain("[-]etcd failed");
      }
      // A read of a pod that exists fails too, and the surviving member itself says it has no quorum (its health
      // check is a linearizable read).
      const somePod =
        Object.keys(uidsBefore)
          .find((k) => k.startsWith(`Pod ${NS}/`))
          ?.slice(`Pod ${NS}/`.length) ?? "";
      const [read, health] = await Promise.all([
        within(core.readNamespacedPod({ name: somePod, namespace: NS }), 15_000, "read pod").then(
          () => undefined,
          (err: unknown) => err,
        ),
        lab.etcdctl(["endpoint", "health", "--command-timeout=2s"], { node: m1.name }),
      ]);
      expect(read, `a read of pod ${somePod} succeeded without quorum`).toBeInstanceOf(ApiException);
      expect((read as ApiException<unknown>).code, describeError(read)).toBeGreaterThanOrEqual(500);
      expect(health.code, health.stdout).not.toBe(0);
      console.log(
        `etcd stop on 2 masters took ${stopMs} ms; the first failed request (${describeError(failed.err)}) answered ` +
          `${failed.at - t0} ms after the stop began; every /readyz non-200 by ${lostMs} ms`,
      );

      const t1 = Date.now();
      // Together and without blocking: etcd is Type=notify, and a lone member's start waits for quorum.
      await Promise.all(
        [m2, m3].map(async (m) => ok(await m.systemctl("start", "--no-block", "etcd"), `start etcd in ${m.name}`)),
      );
      await lab.waitEtcdHealthy(30_000);
      const etcdMs = Date.now() - t1;
      await waitFor(
        "the API to answer again (a list through client-node, /readyz 200 on every master)",
        async () => {
          await within(core.listNode(), 10_000, "list nodes");
          for (const m of lab.masters) {
            const r = await apiserverGet(m.ip, "/readyz");
            if (r.code !== 200) throw new Error(`${m.name} /readyz ${r.code}: ${r.body}`);
          }
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      const apiMs = Date.now() - t1;
      // systemd sees both units through their start (Type=notify: READY once they joined the cluster).
      await waitFor(
        "etcd.service active on every master",
        async () => {
          const states = await Promise.all(lab.masters.map((m) => activeState(m, "etcd")));
          if (states.some((st) => st !== "active")) throw new Error(states.join(", "));
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      console.log(
        `etcd start on 2 masters: etcd healthy in ${etcdMs} ms, the API back in ${apiMs} ms, both units active ` +
          `in ${Date.now() - t1} ms`,
      );

      expect(await objectUids()).toEqual(uidsBefore);
      expect(await objectKeys()).toEqual(keysBefore);
      for (const m of lab.masters) {
        const got = await lab.etcdctl(["get", key, "--print-value-only"], { node: m.name });
        expect(got.stdout.trim(), m.name).toBe("kept");
      }
    } finally {
      await Promise.all([m2, m3].map((m) => m.systemctl("start", "--no-block", "etcd")));
      await lab.etcdctl(["del", key]);
    }
  }, 120_000);

  it("honours PDBs on eviction: 429 when web-pdb would be violated; an allowed one moves the pod to another node", async () => {
    const { pods } = await settled();
    const pdb = await readPdb("web-pdb");
    // 4 Ready web pods, minAvailable 3: exactly one disruption is allowed now.
    expect(pdb.spec?.minAvailable).toBe(3);
    expect([pdb.status?.currentHealthy, pdb.status?.desiredHealthy, pdb.status?.disruptionsAllowed]).toEqual([4, 3, 1]);
    const web = pods.filter((p) => p.metadata?.namespace === NS && p.metadata.labels?.app === "web");
    const victim = web[0] as V1Pod;
    const victimName = victim.metadata?.name ?? "";
    const from = lab.node(victim.spec?.nodeName ?? "");
    const to = lab.workers.find((w) => w !== from) as LabNode;
    expect(from.role).toBe("worker");
    const other = web.find((p) => p !== victim) as V1Pod;
    const otherName = other.metadata?.name ?? "";
    expect((await containerProcesses(from)).has(`${NS}/${victimName}/web`)).toBe(true);

    // Watch the budget all along: never fewer than minAvailable Ready web pods (Terminating ones not counted).
    let minReady = Infinity;
    let samples = 0;
    const dips: string[] = [];
    const watchErrors: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        try {
          const items = await within(webPods(), 5000, "list web pods");
          const ready = items.filter((p) => !p.metadata?.deletionTimestamp && podReady(p));
          samples++;
          minReady = Math.min(minReady, ready.length);
          if (ready.length < 3) dips.push(ready.map((p) => p.metadata?.name).join(","));
        } catch (err) {
          watchErrors.push(describeError(err));
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    try {
      // Both workers cordoned: the replacement has nowhere to go yet, so the budget stays spent while we test it.
      await cordon(from.name, true);
      await cordon(to.name, true);
      await evict(victimName);
      const spent = await readPdb("web-pdb");
      expect(spent.status?.disruptionsAllowed).toBe(0);

      const blocked = await evict(otherName).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(blocked, "the second eviction was allowed").toBeInstanceOf(ApiException);
      const status = statusBody(blocked as ApiException<unknown>);
      expect((blocked as ApiException<unknown>).code, describeError(blocked)).toBe(429);
      expect([status.code, status.reason]).toEqual([429, "TooManyRequests"]);
      expect(status.message).toBe("Cannot evict pod as it would violate the pod's disruption budget.");
      expect(status.details?.causes?.[0]?.message).toMatch(/^The disruption budget web-pdb needs 3 healthy pods/);
      const untouched = await core.readNamespacedPod({ name: otherName, namespace: NS });
      expect(untouched.metadata?.deletionTimestamp).toBeUndefined();
      expect(untouched.metadata?.uid).toBe(other.metadata?.uid);

      // The evicted pod goes: its node's kubelet stops the container, then the pod is deleted.
      await waitFor(
        `${victimName} to be deleted`,
        async () => {
          try {
            await core.readNamespacedPod({ name: victimName, namespace: NS });
            return undefined;
          } catch (err) {
            if (err instanceof ApiException && err.code === 404) return true;
            throw err;
          }
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      expect((await containerProcesses(from)).has(`${NS}/${victimName}/web`)).toBe(false);

      // Its replacement waits, unschedulable, while both workers are cordoned...
      const before = new Set(web.map((p) => p.metadata?.uid));
      const pending = await waitFor(
        "the replacement web pod, unschedulable",
        async () => {
          const fresh = (await webPods()).filter((p) => !before.has(p.metadata?.uid));
          const p = fresh[0];
          const scheduled = p?.status?.conditions?.find((c) => c.type === "PodScheduled");
          return fresh.length === 1 && scheduled?.status === "False" ? p : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      expect(pending?.spec?.nodeName).toBeUndefined();
      expect(pending?.status?.phase).toBe("Pending");
      expect((await readPdb("web-pdb")).status?.disruptionsAllowed).toBe(0);

      // ... and runs on the other worker once that one is schedulable again.
      await cordon(to.name, false);
      const replacement = await waitFor(
        "the replacement to run on the other worker",
        async () => {
          const p = await core.readNamespacedPod({ name: pending?.metadata?.name ?? "", namespace: NS });
          return p.status?.phase === "Running" && podReady(p) ? p : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      const replacementName = replacement.metadata?.name ?? "";
      expect(replacement.spec?.nodeName).toBe(to.name);
      expect(replacement.spec?.nodeName).not.toBe(from.name);
      // The other worker's runtime runs it: a Ready sandbox and a container process.
      const sandboxes = (await crictlPods(to)).filter((s) => s.metadata.name === replacementName);
      expect(sandboxes.map((s) => s.state)).toEqual(["SANDBOX_READY"]);
      expect((await containerProcesses(to)).has(`${NS}/${replacementName}/web`)).toBe(true);
    } finally {
      await cordon(to.name, false);
      await cordon(from.name, false);
      watching = false;
      await watcher;
    }
    console.log(`web-pdb watch: ${samples} samples, at least ${minReady} Ready web pods`);
    expect(samples).toBeGreaterThan(10);
    expect(dips).toEqual([]);
    expect(watchErrors).toEqual([]);
    expect(minReady).toBeGreaterThanOrEqual(3);
    const after = await settled();
    expect(after.pods.filter((p) => p.metadata?.labels?.app === "web")).toHaveLength(4);
  }, 120_000);

  // Last: it stops every container of a worker (and restores them through the kubelet at the end).
  it("binds the scheduler's and controller-manager's health ports to 127.0.0.1 as kubeadm does: refused from outside, ok inside", async () => {
    for (const m of lab.masters) {
      for (const port of [10257, 10259]) {
        expect([m.name, port, await tcpAccepts(m.ip, port)]).toEqual([m.name, port, false]);
        const probe = `require("https").get({host:"127.0.0.1",port:${port},path:"/healthz",rejectUnauthorized:false},r=>{let b="";r.on("data",c=>b+=c);r.on("end",()=>console.log(r.statusCode,b))}).on("error",e=>{console.log("error",e.message);process.exit(1)})`;
        const r = await m.exec(["/usr/bin/node", "-e", probe]);
        expect([m.name, port, r.stdout.trim()]).toEqual([m.name, port, "200 ok"]);
      }
      expect(await tcpAccepts(m.ip, 6443)).toBe(true);
    }
  });

  it("keeps containers running through `systemctl stop containerd`; crictl lists them after the start and stops them", async () => {
    const { pods } = await settled();
    const worker = lab.workers[1] as LabNode;
    const onNode = pods.filter((p) => p.spec?.nodeName === worker.name);
    const want = onNode.flatMap((p) => (p.spec?.containers ?? []).map((c) => `${podKey(p)}/${c.name}`)).sort();
    expect(want.length).toBeGreaterThanOrEqual(3);
    try {
      // The kubelet goes first (as in a node stop), so nothing restarts containers behind crictl's back.
      ok(await worker.systemctl("stop", "kubelet"), "stop kubelet");
      const procs = await containerProcesses(worker);
      expect([...procs.keys()].sort()).toEqual(want);
      const sandboxes = (await crictlPods(worker)).filter((s) => s.state === "SANDBOX_READY");
      expect(sandboxes.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort()).toEqual(
        onNode.map(podKey).sort(),
      );

      ok(await worker.systemctl("stop", "containerd"), "stop containerd");
      expect(await activeState(worker, "containerd")).toBe("inactive");
      expect(await processRuns(worker, "containerd.mjs")).toBe(false);
      // No runtime to ask: crictl fails...
      const down = await worker.exec(["crictl", "pods"]);
      expect(down.code).toBe(1);
      expect(down.stderr).toContain("validate service connection");
      // ... but every container process still runs, the same pids.
      expect(await containerProcesses(worker)).toEqual(procs);

      ok(await worker.systemctl("start", "containerd"), "start containerd");
      expect(await activeState(worker, "containerd")).toBe("active");
      const adopted = await crictlPods(worker);
      expect(
        adopted
          .filter((s) => s.state === "SANDBOX_READY")
          .map((s) => s.id)
          .sort(),
      ).toEqual(sandboxes.map((s) => s.id).sort());
      const running = await crictlPs(worker);
      expect(running.map((c) => c.podSandboxId).sort()).toEqual(sandboxes.map((s) => s.id).sort());
      expect(await containerProcesses(worker)).toEqual(procs);

      const ids = sandboxes.map((s) => s.id);
      const stopped = ok(await worker.exec(["crictl", "stopp", ...ids]), "crictl stopp");
      expect(stopped.stdout.trim().split("\n").sort()).toEqual(ids.map((id) => `Stopped sandbox ${id}`).sort());
      await waitFor(
        `the container processes in ${worker.name} to end`,
        async () => {
          const left = await containerProcesses(worker);
          if (left.size > 0) throw new Error(`still running: ${[...left.keys()].join(", ")}`);
          return true;
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      const after = await crictlPods(worker);
      expect(after.filter((s) => ids.includes(s.id)).map((s) => s.state)).toEqual(ids.map(() => "SANDBOX_NOTREADY"));
      expect(await crictlPs(worker)).toEqual([]);
      const exited = (await crictlPs(worker, true)).filter((c) => ids.includes(c.podSandboxId));
      expect(exited.map((c) => c.state)).toEqual(running.map(() => "CONTAINER_EXITED"));
    } finally {
      await worker.systemctl("start", "containerd");
      await worker.systemctl("start", "kubelet");
    }
    // Restored: the kubelet runs the node's pods again, in new sandboxes.
    const ready = await waitFor(
      `the kubelet in ${worker.name} to run its pods again`,
      async () => {
        const sbs = (await crictlPods(worker)).filter((s) => s.state === "SANDBOX_READY");
        const running = await containerProcesses(worker);
        if (sbs.length !== onNode.length || running.size !== want.length)
          throw new Error(`${sbs.length} Ready sandboxes, ${running.size} containers running`);
        return sbs;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    await settled();
    expect(ready.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort()).toEqual(onNode.map(podKey).sort());
    expect(ready.every((s) => s.metadata.attempt >= 1)).toBe(true);
    expect((await containerProcesses(worker)).size).toBe(want.length);
  }, 120_000);
});
