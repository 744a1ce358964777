// The runbook's "restore etcd data from a backup" on the lab: one member that lost its data rejoins while the others
// keep quorum (`kubecycle etcd rejoin`); then every member's data damaged and the whole etcd restored from a
// snapshot (`kubecycle etcd restore`). Checked through etcdctl inside the nodes, systemd and the API: the snapshot's
// keys are back and the later ones are not, every member healthy under one leader, the old data kept aside, and the
// API serving again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labUp, type Lab, type LabNode } from "../lab/lab.js";
import { ClusterProbe } from "./cluster.js";
import { downLab, journalOf, kubecycle as cli, opOf, waitFor } from "./helpers.js";

let lab: Lab;
let probe: ClusterProbe;
const kubecycle = (args: string[]) => cli(lab, args);
const DATA = "/var/lib/etcd";
const BEFORE = "/kubecycle-e2e/restore/before/";
const AFTER = "/kubecycle-e2e/restore/after/";

const master = (i: number): LabNode => {
  const n = lab.masters[i];
  if (!n) throw new Error(`no master ${i}`);
  return n;
};

/** How many keys are under `prefix` as the member on `node` serves them from its own data (a serializable read). */
async function keysOn(node: LabNode, prefix: string): Promise<number> {
  const r = await lab.etcdctl(["get", prefix, "--prefix", "--keys-only", "--consistency=s", "-w", "json"], {
    node: node.name,
  });
  if (r.code !== 0) throw new Error(`etcdctl get on ${node.name}: ${r.stderr}`);
  return Number((JSON.parse(r.stdout) as { count?: number }).count ?? 0);
}

/** Members by name as etcd lists them, each started (named) or not. */
async function memberNames(): Promise<string[]> {
  const r = await lab.etcdctl(["member", "list", "-w", "json"]);
  const list = JSON.parse(r.stdout) as { members: Array<{ name?: string }> };
  return list.members.map((m) => m.name ?? "").sort();
}

async function activeState(node: LabNode, unit: string): Promise<string> {
  return (await node.systemctl("show", "-p", "ActiveState", "--value", unit)).stdout.trim();
}

/** Directories kubecycle kept aside in the node's etcd data directory. */
async function keptAside(node: LabNode): Promise<string[]> {
  const r = await node.exec(["ls", "-1", DATA]);
  return r.stdout.split("\n").filter((l) => l.startsWith("kubecycle-"));
}

beforeAll(async () => {
  lab = await labUp({ masters: 3, workers: 1, build: "skip" });
  probe = await ClusterProbe.open(lab);
  await probe.settled();
}, 240_000);

afterAll(async () => {
  await downLab(lab, import.meta.url);
}, 120_000);

describe("etcd repaired by kubecycle on the lab", () => {
  let snapshot = "";

  it("takes a snapshot, and refuses to restore a healthy etcd without --force, changing nothing", async () => {
    await probe.writeKeys(BEFORE, 300);
    const snap = await kubecycle(["etcd", "snapshot", "-o", "json"]);
    expect(snap.code, snap.stderr).toBe(0);
    snapshot = (JSON.parse(snap.stdout) as { path: string }).path;
    await probe.writeKeys(AFTER, 200);

    const dry = await kubecycle(["etcd", "restore", snapshot, "--dry-run"]);
    expect(dry.code, dry.stdout + dry.stderr).toBe(2);
    expect(dry.stdout + dry.stderr).toContain("etcd is healthy");
    const refused = await kubecycle(["etcd", "restore", snapshot, "--yes"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("etcd is healthy");
    for (const m of lab.masters) expect(await activeState(m, "etcd.service")).toBe("active");
    expect(await keysOn(master(0), AFTER)).toBe(200);
  });

  it("lets a member that lost its data rejoin empty while the others keep quorum", async () => {
    const lost = master(2);
    expect((await lost.systemctl("stop", "etcd.service")).code).toBe(0);
    expect((await lost.exec(["rm", "-rf", `${DATA}/member`])).code).toBe(0);

    const r = await kubecycle(["etcd", "rejoin", lost.kubeName, "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await journalOf(lab, opOf(r))).result).toBe("succeeded");
    // Independently: the member runs again, has every key from the others, and the list is whole.
    expect(await activeState(lost, "etcd.service")).toBe("active");
    expect(await keysOn(lost, BEFORE)).toBe(300);
    expect(await keysOn(lost, AFTER)).toBe(200);
    expect((await lab.etcdHealth()).endpoints.filter((e) => e.health)).toHaveLength(3);
    expect((await memberNames()).every((n) => n !== "")).toBe(true);
    // The join flags are gone: a restart starts it from its own data.
    const dropIn = await lost.exec(["ls", "/etc/systemd/system/etcd.service.d"]);
    expect(dropIn.stdout).not.toContain("kubecycle-rejoin");
  }, 300_000);

  it("restores every member from the snapshot: its keys back, the later ones gone, the API serving", async () => {
    // Every member's data damaged, as after a bad power cut: etcd stopped (it would not come back) and its db cut.
    for (const m of lab.masters) {
      expect((await m.systemctl("stop", "etcd.service")).code).toBe(0);
      const cut = await m.exec(["truncate", "-s", "4096", `${DATA}/member/snap/db`]);
      expect(cut.code, cut.stderr).toBe(0);
    }

    const r = await kubecycle(["etcd", "restore", snapshot, "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    const op = opOf(r);
    const j = await journalOf(lab, op);
    expect(j.result).toBe("succeeded");

    // Through etcdctl inside each node: healthy, one leader, the snapshot's keys and none of the later ones.
    expect((await lab.etcdHealth()).endpoints.filter((e) => e.health)).toHaveLength(3);
    for (const m of lab.masters) {
      expect(await keysOn(m, BEFORE), m.name).toBe(300);
      expect(await keysOn(m, AFTER), m.name).toBe(0);
      // The damaged data is kept aside, not deleted.
      expect(
        (await keptAside(m)).some((d) => d.startsWith("kubecycle-before-restore-")),
        m.name,
      ).toBe(true);
    }
    const status = await lab.etcdctl(["endpoint", "status", "--cluster", "-w", "json"]);
    const leaders = new Set(
      (JSON.parse(status.stdout) as Array<{ Status: { leader: string } }>).map((s) => String(s.Status.leader)),
    );
    expect(leaders.size).toBe(1);
    // The API serves again, from the restored data, with every node Ready.
    await waitFor(
      "the API lists every node Ready",
      async () => {
        const nodes = (await probe.core.listNode()).items;
        return nodes.length === lab.nodes.length &&
          nodes.every((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
          ? true
          : undefined;
      },
      120_000,
    );
    for (const m of lab.masters) expect(await activeState(m, "kubelet.service")).toBe("active");
    expect(await probe.lockLease()).toBeUndefined();
  }, 600_000);
});
