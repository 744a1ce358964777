// The cluster as the bench sees it, through the lab's own channels and never through kubecycle's words: each node's
// systemd (`systemctl show` inside the node, with its own microsecond timestamps), etcd (`etcdctl endpoint health
// --cluster` inside a member, the lab's helper), the API (@kubernetes/client-node with the lab's admin kubeconfig)
// and kubecycle's lock as it lies in the API and on disk.
import { CoordinationV1Api, CoreV1Api, KubeConfig, type V1Node } from "@kubernetes/client-node";
import { access } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import type { Lab, LabNode } from "../../test/lab/lab.js";

/** One unit's state and its last transitions, as the node's systemd recorded them (ms since the epoch, µs kept). */
export interface UnitTimes {
  unit: string;
  active: string;
  result: string;
  /** Restarts systemd made on its own (Restart=): the runbook's etcd deadlock shows here. */
  restarts: number;
  /** Left "inactive" for "activating": a start began. */
  inactiveExit: number;
  /** Became active (for Type=notify: READY=1 came). */
  activeEnter: number;
  /** Left "active": a stop began. */
  activeExit: number;
  /** Became inactive (or failed). */
  inactiveEnter: number;
}

/** Every node's lab units: kubelet, the runtime's services, and etcd on the masters. */
export type UnitsByNode = Map<string, UnitTimes[]>;

const PROPS = [
  "Id",
  "ActiveState",
  "Result",
  "NRestarts",
  "InactiveExitTimestamp",
  "ActiveEnterTimestamp",
  "ActiveExitTimestamp",
  "InactiveEnterTimestamp",
];

/** "Sat 2026-11-28 13:45:12.123456 UTC" -> ms since the epoch, the microseconds kept as a fraction; NaN when unset. */
function timestamp(v: string | undefined): number {
  const m = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d{6}) UTC/.exec(v ?? "");
  return m ? Date.parse(`${m[1]}T${m[2]}Z`) + Number(m[3]) / 1000 : Number.NaN;
}

/** The units the bench follows on a node, by their real names on this lab. */
export function unitsOf(lab: Lab, node: LabNode): string[] {
  return ["kubelet.service", ...lab.runtime.services, ...(node.role === "master" ? ["etcd.service"] : [])];
}

/** One `systemctl show` per node (all of its units in one call), every node at once. */
export async function readUnits(lab: Lab): Promise<UnitsByNode> {
  const out: UnitsByNode = new Map();
  await Promise.all(
    lab.nodes.map(async (n) => {
      const units = unitsOf(lab, n);
      const r = await n.exec(["systemctl", "show", "--timestamp=us+utc", `--property=${PROPS.join(",")}`, ...units]);
      if (r.code !== 0) throw new Error(`${n.name}: systemctl show failed: ${r.stderr.trim()}`);
      // One block per unit, in the order asked, separated by an empty line.
      const blocks = r.stdout.trim().split(/\n\n+/);
      out.set(
        n.name,
        blocks.map((b) => {
          const kv = new Map(b.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
          return {
            unit: kv.get("Id") ?? "?",
            active: kv.get("ActiveState") ?? "?",
            result: kv.get("Result") ?? "?",
            restarts: Number(kv.get("NRestarts") ?? 0),
            inactiveExit: timestamp(kv.get("InactiveExitTimestamp")),
            activeEnter: timestamp(kv.get("ActiveEnterTimestamp")),
            activeExit: timestamp(kv.get("ActiveExitTimestamp")),
            inactiveEnter: timestamp(kv.get("InactiveEnterTimestamp")),
          };
        }),
      );
    }),
  );
  return out;
}

/** The named unit on every node that has it. */
export function unitOnNodes(units: UnitsByNode, unit: string, nodes?: readonly string[]): UnitTimes[] {
  const out: UnitTimes[] = [];
  for (const [node, list] of units) {
    if (nodes && !nodes.includes(node)) continue;
    const u = list.find((x) => x.unit === unit);
    if (u) out.push(u);
  }
  return out;
}

/**
 * The floor of a phase: its slowest unit transition, as the nodes' systemd timed it (a stop: left active to
 * inactive; a start: left inactive to active). Throws when a transition did not happen inside the window the bench
 * watched: the phase did not do what it is being timed for.
 */
export function floorMs(
  units: readonly UnitTimes[],
  kind: "stop" | "start",
  window: { from: number; to: number },
): number {
  let floor = 0;
  for (const u of units) {
    const [begin, end] = kind === "stop" ? [u.activeExit, u.inactiveEnter] : [u.inactiveExit, u.activeEnter];
    // systemd's clock and ours are the same clock (CLOCK_REALTIME is not namespaced); 1 ms of slack for rounding.
    if (!(begin >= window.from - 1 && end <= window.to + 1 && end >= begin)) {
      throw new Error(
        `${u.unit}: its ${kind} (${new Date(begin).toISOString()} -> ${new Date(end).toISOString()}) is not inside ` +
          `the measured window ${new Date(window.from).toISOString()} -> ${new Date(window.to).toISOString()}`,
      );
    }
    floor = Math.max(floor, end - begin);
  }
  return floor;
}

/** When a majority of the etcd members had become active (Type=notify: each is active once it joined a quorum). */
export function quorumAt(etcd: readonly UnitTimes[]): number {
  const active = etcd.map((u) => u.activeEnter).sort((a, b) => a - b);
  return active[Math.floor(active.length / 2)] ?? Number.NaN;
}

/** Every followed unit in the given state on every node, or what is not. */
export function unitsNotIn(units: UnitsByNode, state: "active" | "inactive"): string[] {
  const wrong: string[] = [];
  for (const [node, list] of units) {
    for (const u of list) if (u.active !== state) wrong.push(`${node} ${u.unit} ${u.active}`);
  }
  return wrong;
}

/** Container processes still running on each node: the workload's and the control plane's static pods. */
export async function containersLeft(lab: Lab): Promise<number> {
  const counts = await Promise.all(
    lab.nodes.map(async (n) => {
      const r = await n.exec([
        "pgrep",
        "-c",
        "-f",
        "^lab-container:|/opt/kubecycle-lab/kube-(apiserver|controller|sched)",
      ]);
      return Number(r.stdout.trim() || 0);
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** The API and etcd, asked by the bench itself. */
export class ClusterView {
  readonly #lab: Lab;
  readonly #core: CoreV1Api;
  readonly #coordination: CoordinationV1Api;

  constructor(lab: Lab) {
    this.#lab = lab;
    const kc = new KubeConfig();
    kc.loadFromFile(lab.kubeconfigPath);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#coordination = kc.makeApiClient(CoordinationV1Api);
  }

  /**
   * What keeps the API side from being back since `since`: a node not Ready, tainted by the node-lifecycle
   * controller, cordoned, or whose kubelet has not renewed its node Lease since (a Ready=True written before the stop
   * proves nothing); a pod not Running; kubecycle's lock still held (its Lease or its local file).
   */
  async apiNotBack(since: number): Promise<string[]> {
    const wrong: string[] = [];
    const [nodes, leases, pods] = await Promise.all([
      this.#core.listNode(),
      this.#coordination.listNamespacedLease({ namespace: "kube-node-lease" }),
      this.#core.listPodForAllNamespaces(),
    ]);
    const renewed = new Map(leases.items.map((l) => [l.metadata?.name ?? "", l.spec?.renewTime]));
    for (const n of this.#lab.nodes) {
      const node = nodes.items.find((x) => x.metadata?.name === n.kubeName);
      if (!node) {
        wrong.push(`${n.kubeName}: no Node`);
        continue;
      }
      if (!ready(node)) wrong.push(`${n.kubeName}: not Ready`);
      const taints = (node.spec?.taints ?? []).filter((t) => t.key.startsWith("node.kubernetes.io/"));
      if (taints.length > 0) wrong.push(`${n.kubeName}: tainted ${taints.map((t) => t.key).join(",")}`);
      if (node.spec?.unschedulable) wrong.push(`${n.kubeName}: cordoned`);
      const renew = renewed.get(n.kubeName);
      if (!renew || new Date(renew).getTime() < since)
        wrong.push(`${n.kubeName}: its kubelet has not renewed its Lease`);
    }
    for (const p of pods.items) {
      const phase = p.status?.phase;
      if (phase !== "Running" && phase !== "Succeeded")
        wrong.push(`pod ${p.metadata?.namespace}/${p.metadata?.name}: ${phase}`);
    }
    wrong.push(...(await this.lockHeld()));
    return wrong;
  }

  /** Every API server's /readyz (it checks its etcd), asked at each master's address: a 200 from each. */
  async apiNotReady(): Promise<string[]> {
    const wrong = await Promise.all(
      this.#lab.masters.map(async (m) => {
        const status = await readyz(m.ip).catch((err: Error) => err.message);
        return status === 200 ? undefined : `${m.kubeName}: the API server's /readyz answered ${status}`;
      }),
    );
    return wrong.filter((w): w is string => w !== undefined);
  }

  /** kubecycle's cluster lock: a holder in its Lease, or its local lock file. */
  async lockHeld(): Promise<string[]> {
    const held: string[] = [];
    try {
      const lease = await this.#coordination.readNamespacedLease({ name: "kubecycle-lock", namespace: "kube-system" });
      if (lease.spec?.holderIdentity) held.push(`kubecycle's Lease is held by ${lease.spec.holderIdentity}`);
    } catch (err) {
      // Not found is a released lock; anything else must not pass for one.
      if ((err as { code?: number }).code !== 404) throw err;
    }
    const local = join(this.#lab.paths.coordinatorState, "lock");
    if (
      await access(local).then(
        () => true,
        () => false,
      )
    )
      held.push(`kubecycle's local lock ${local} exists`);
    return held;
  }

  /** Every member healthy (a linearizable read each), from the lab's helper. */
  async etcdNotHealthy(): Promise<string[]> {
    const h = await this.#lab.etcdHealth();
    if (h.error !== undefined) return [`etcd: ${h.error}`];
    const healthy = h.endpoints.filter((e) => e.health).length;
    const members = this.#lab.masters.length;
    return healthy === members && h.endpoints.length === members
      ? []
      : [`etcd: ${healthy}/${members} members healthy: ${JSON.stringify(h.endpoints)}`];
  }
}

/** GET https://IP:6443/readyz (anyone may ask; the lab's serving certificate is not checked here). */
function readyz(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`https://${ip}:6443/readyz`, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.end();
  });
}

function ready(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}
