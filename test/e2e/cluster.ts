// What the whole-cluster end-to-end tests check through channels of their own, never kubecycle's word: each node's
// systemd (unit states, enablement and transition times, as `systemctl show` in the node gives them), etcd itself
// (its v3 JSON gateway with the lab's etcd admin certificate) and the API (@kubernetes/client-node).
import { CoordinationV1Api, CoreV1Api, KubeConfig, type V1Node } from "@kubernetes/client-node";
import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { expect } from "vitest";
import { readInventory, type Lab } from "../lab/lab.js";
import { waitFor } from "./helpers.js";

/** A unit's state, enablement and transition times (ms since the epoch, microseconds kept as a fraction). */
export interface UnitTimes {
  active: string;
  enabled: string;
  activeEnter: number;
  activeExit: number;
  inactiveEnter: number;
  /** When a start began (it left "inactive" for "activating"). */
  inactiveExit: number;
}

/** The independent channels into a lab cluster. */
export class ClusterProbe {
  readonly lab: Lab;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly #etcd: { ca: Buffer; cert: Buffer; key: Buffer; endpoint: string };

  private constructor(lab: Lab, kc: KubeConfig, etcd: { ca: Buffer; cert: Buffer; key: Buffer; endpoint: string }) {
    this.lab = lab;
    this.core = kc.makeApiClient(CoreV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.#etcd = etcd;
  }

  static async open(lab: Lab): Promise<ClusterProbe> {
    const kc = new KubeConfig();
    kc.loadFromFile(lab.kubeconfigPath);
    const inv = await readInventory(lab.paths.root);
    return new ClusterProbe(lab, kc, {
      ca: await readFile(inv.etcd.caFile),
      cert: await readFile(inv.etcd.certFile),
      key: await readFile(inv.etcd.keyFile),
      endpoint: inv.etcd.endpoints[0] ?? "",
    });
  }

  get masters(): string[] {
    return this.lab.masters.map((n) => n.name);
  }

  get nodes(): string[] {
    return this.lab.nodes.map((n) => n.name);
  }

  /** A unit's state and its transitions' times, as the node's own systemd recorded them (wall clock). */
  async unitTimes(node: string, unit: string): Promise<UnitTimes> {
    const props = [
      "ActiveState",
      "UnitFileState",
      "ActiveEnterTimestamp",
      "ActiveExitTimestamp",
      "InactiveEnterTimestamp",
      "InactiveExitTimestamp",
    ];
    const r = await this.lab.node(node).systemctl("show", "--timestamp=us+utc", `--property=${props.join(",")}`, unit);
    const kv = Object.fromEntries(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    // "Sat 2026-11-30 13:45:12.123456 UTC" -> ms since the epoch (with the microseconds kept as a fraction).
    const t = (v: string | undefined) => {
      const m = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d{6}) UTC/.exec(v ?? "");
      return m ? Date.parse(`${m[1]}T${m[2]}Z`) + Number(m[3]) / 1000 : Number.NaN;
    };
    return {
      active: kv.ActiveState ?? "",
      enabled: kv.UnitFileState ?? "",
      activeEnter: t(kv.ActiveEnterTimestamp),
      activeExit: t(kv.ActiveExitTimestamp),
      inactiveEnter: t(kv.InactiveEnterTimestamp),
      inactiveExit: t(kv.InactiveExitTimestamp),
    };
  }

  async nodeReady(name: string): Promise<boolean> {
    const n = await this.core.readNode({ name });
    return n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  }

  /** The cluster lock's Lease holder, or undefined when there is none (or the API does not answer). */
  async lockLease(): Promise<string | undefined> {
    try {
      return (await this.coordination.readNamespacedLease({ name: "kubecycle-lock", namespace: "kube-system" })).spec
        ?.holderIdentity;
    } catch {
      return undefined;
    }
  }

  /** Every node Ready and schedulable, no lock, every unit running: the cluster as a refusal must leave it. */
  async untouched(): Promise<void> {
    expect(await this.lockLease()).toBeUndefined();
    for (const n of this.nodes) {
      expect((await this.core.readNode({ name: n })).spec?.unschedulable ?? false, `${n} cordoned`).toBe(false);
      for (const u of ["kubelet", "containerd"])
        expect((await this.unitTimes(n, u)).active, `${n} ${u}`).toBe("active");
    }
    for (const m of this.masters) expect((await this.unitTimes(m, "etcd")).active, `${m} etcd`).toBe("active");
  }

  /** Every node Ready and untainted by the node-lifecycle controller (a node in `cordoned` may keep its cordon's taint). */
  async settled(timeoutMs = 120_000, opts: { cordoned?: readonly string[] } = {}): Promise<void> {
    await waitFor(
      "every node Ready and untainted",
      async () => {
        const nodes = (await this.core.listNode()).items;
        // A node an administrator cordoned on purpose keeps the cordon's own taint; no other.
        const expected = (n: V1Node, key: string) =>
          key === "node.kubernetes.io/unschedulable" && (opts.cordoned ?? []).includes(n.metadata?.name ?? "");
        const ok = nodes.every(
          (n) =>
            n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") &&
            !(n.spec?.taints ?? []).some((t) => t.key.startsWith("node.kubernetes.io/") && !expected(n, t.key)),
        );
        return nodes.length === this.lab.nodes.length && ok ? true : undefined;
      },
      timeoutMs,
    );
  }

  /** A call to etcd's v3 JSON gateway from the host, with the lab's etcd admin certificate: etcd's own word. */
  etcdApi<T>(path: string, body: unknown): Promise<T> {
    const e = this.#etcd;
    return new Promise((resolve, reject) => {
      const req = request(
        `${e.endpoint}${path}`,
        { method: "POST", ca: e.ca, cert: e.cert, key: e.key, timeout: 10_000 },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () =>
            res.statusCode === 200 ? resolve(JSON.parse(text) as T) : reject(new Error(`${res.statusCode}: ${text}`)),
          );
        },
      );
      req.on("error", reject);
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.end(JSON.stringify(body));
    });
  }

  /** Writes `count` keys `<prefix>00000`... with values `value-N`, 32 at a time. */
  async writeKeys(prefix: string, count: number): Promise<void> {
    const queue = Array.from({ length: count }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          await this.etcdApi("/v3/kv/put", { key: b64(keyOf(prefix, i)), value: b64(`value-${i}`) });
        }
      }),
    );
  }

  /** Every key under `prefix` (which ends with "/"), with its value. */
  async readKeys(prefix: string): Promise<Map<string, string>> {
    const end = `${prefix.slice(0, -1)}0`; // "/" + 1
    const res = await this.etcdApi<{ kvs?: Array<{ key: string; value: string }> }>("/v3/kv/range", {
      key: b64(prefix),
      range_end: b64(end),
    });
    return new Map(
      (res.kvs ?? []).map((kv) => [
        Buffer.from(kv.key, "base64").toString(),
        Buffer.from(kv.value, "base64").toString(),
      ]),
    );
  }
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The key `writeKeys` writes for `i`. */
export const keyOf = (prefix: string, i: number): string => `${prefix}${String(i).padStart(5, "0")}`;
