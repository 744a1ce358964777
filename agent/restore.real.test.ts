// The agent's etcd restore and rejoin against a real 3-member etcd (Debian's etcd 3.4, as the lab runs it) with mutual
// TLS on loopback: a snapshot staged and checked, every member restored from it after its data was damaged (the
// snapshot's keys back, the later ones gone, the old data kept aside), and a member whose data was lost removed,
// added again and rejoined empty with the others keeping quorum. etcd itself is asked for every outcome. No root.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { etcdctl, parseEtcdJson, parseMembers, type Target } from "./etcd.js";
import { parseEnvFile } from "./layout.js";
import { EtcdRestorer, parseInitialCluster } from "./restore.js";
import { FakeUnitManager } from "./testing/fake-manager.js";
import { realEtcd, type RealEtcd, type RealMember } from "./testing/real-etcd.js";

vi.setConfig({ testTimeout: 90_000, hookTimeout: 60_000 });

let dir: string;
let etcd: RealEtcd;
const log = pino({ level: "silent" });

const target = (m: RealMember): Target => ({
  endpoint: m.client,
  caFile: `${etcd.ssl}/ca.crt`,
  certFile: `${etcd.ssl}/member.crt`,
  keyFile: `${etcd.ssl}/member.key`,
  name: m.name,
});

async function ctl(m: RealMember, args: string[]): Promise<string> {
  const r = await etcdctl("etcdctl", target(m), args, 5000);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

const m = (i: number): RealMember => etcd.members[i] as RealMember;

/** Every member healthy with one leader, as etcd says; their ids by name. */
async function healthy(): Promise<Map<string, string>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const leaders = new Set<string>();
      for (const x of etcd.members) {
        const st = (
          parseEtcdJson(await ctl(x, ["endpoint", "status", "-w", "json"])) as Array<{
            Status: { leader: string };
          }>
        )[0];
        leaders.add(String(st?.Status.leader ?? ""));
        await ctl(x, ["endpoint", "health"]);
      }
      const list = parseMembers(await ctl(m(0), ["member", "list", "-w", "json"]));
      if (leaders.size === 1 && list.length === 3 && list.every((x) => x.name !== "")) {
        return new Map(list.map((x) => [x.name, x.id]));
      }
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error("etcd did not become healthy");
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function keys(prefix: string): Promise<string[]> {
  const out = await ctl(m(0), ["get", prefix, "--prefix", "--keys-only"]);
  return out.split("\n").filter(Boolean).sort();
}

async function revision(x: RealMember): Promise<number> {
  const st = (
    parseEtcdJson(await ctl(x, ["endpoint", "status", "-w", "json"])) as Array<{
      Status: { header: { revision: number } };
    }>
  )[0];
  return Number(st?.Status.header.revision ?? 0);
}

function restorer(x: RealMember, manager = new FakeUnitManager(["etcd.service"], ["etcd.service"])) {
  return new EtcdRestorer({
    config: () => Promise.resolve(etcd.config(x)),
    manager,
    etcdctl: "etcdctl",
    etcdutl: join(dir, "no-etcdutl-here"),
    stateDir: join(dir, `agent-${x.name}`),
    restoreTimeoutMs: 60_000,
    etcdTimeoutMs: 5000,
    systemdDir: join(dir, `systemd-${x.name}`),
    // This member's own process: the node's /proc would show only its own etcd.
    etcdProcesses: () => Promise.resolve(etcd.running().filter((pid) => pid === x.proc?.pid)),
    log,
  });
}

const chunks = (path: string): AsyncIterable<Buffer> => createReadStream(path, { highWaterMark: 64 * 1024 });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-etcd-restore-"));
  etcd = await realEtcd(dir, ["m1", "m2", "m3"]);
  for (const x of etcd.members) etcd.start(x);
  await healthy();
});

afterAll(async () => {
  await etcd?.stopAll();
  await rm(dir, { recursive: true, force: true });
});

describe("restoring every member from one snapshot", () => {
  let snapshot: string;
  let sha256: string;
  let snapRevision: number;

  it("stages a snapshot: its sha256 checked, read with etcdctl on etcd 3.4 (no etcdutl), and refuses a damaged one", async () => {
    for (let i = 0; i < 20; i++) await ctl(m(0), ["put", `/restore/before/${String(i).padStart(2, "0")}`, `v${i}`]);
    snapshot = join(dir, "snap.db");
    await ctl(m(0), ["snapshot", "save", snapshot]);
    const bytes = await readFile(snapshot);
    sha256 = createHash("sha256").update(bytes).digest("hex");
    for (let i = 0; i < 5; i++) await ctl(m(0), ["put", `/restore/after/${i}`, `v${i}`]);

    const r = restorer(m(0));
    const wrong = "0".repeat(64);
    await expect(
      r.stage({ operationId: "op-stage-1", sha256: wrong, sizeBytes: bytes.length }, chunks(snapshot)),
    ).rejects.toMatchObject({ code: "SNAPSHOT_CORRUPT" });
    expect(await readdir(join(dir, "agent-m1", "restore"))).toEqual([]);

    const staged = await r.stage({ operationId: "op-stage-1", sha256, sizeBytes: bytes.length }, chunks(snapshot));
    const status = parseEtcdJson(await ctl(m(0), ["snapshot", "status", snapshot, "-w", "json"])) as {
      revision: number;
      totalKey: number;
    };
    expect(staged).toMatchObject({ sha256, sizeBytes: bytes.length, revision: status.revision, replayed: false });
    expect(staged.tool).toMatch(/^etcdctl \(etcdctl version: 3\./);
    snapRevision = staged.revision;
    // Staged again under the same sha256: not written twice.
    const again = await r.stage({ operationId: "op-stage-2", sha256, sizeBytes: bytes.length }, chunks(snapshot));
    expect(again.replayed).toBe(true);
    for (const x of etcd.members.slice(1)) {
      await restorer(x).stage({ operationId: "op-stage-1", sha256, sizeBytes: bytes.length }, chunks(snapshot));
    }
  });

  it("refuses while the member runs, and when the member list does not name this member as configured", async () => {
    const members = etcd.members.map((x) => ({
      id: "",
      name: x.name,
      peerUrls: [x.peer],
      clientUrls: [],
      isLearner: false,
    }));
    await expect(
      restorer(m(0)).restore("op-r0", { snapshotSha256: sha256, members, clusterToken: "kc-restored" }),
    ).rejects.toMatchObject({ code: "ETCD_RUNNING" });
    const moved = members.map((x) => (x.name === "m1" ? { ...x, peerUrls: ["https://127.0.0.9:2380"] } : x));
    await expect(
      restorer(m(0)).restore("op-r0", { snapshotSha256: sha256, members: moved, clusterToken: "kc-restored" }),
    ).rejects.toMatchObject({ code: "INVALID_REQUEST" });
  });

  it("brings back the snapshot's keys and not the later ones, at the snapshot's revision, keeping the damaged data aside", async () => {
    const before = await healthy();
    await etcd.stopAll();
    // The damage: every member's database overwritten.
    for (const x of etcd.members) await writeFile(join(x.dataDir, "member", "snap", "db"), "garbage");
    const members = etcd.members.map((x) => ({
      id: "",
      name: x.name,
      peerUrls: [x.peer],
      clientUrls: [],
      isLearner: false,
    }));
    const results = await Promise.all(
      etcd.members.map((x) =>
        restorer(x).restore("op-restore", { snapshotSha256: sha256, members, clusterToken: "kc-restored" }),
      ),
    );
    for (const [i, res] of results.entries()) {
      expect(res).toMatchObject({ dataDir: m(i).dataDir, memberName: m(i).name, revision: snapRevision });
      expect(res.keptAside).toMatch(
        new RegExp(`^${m(i).dataDir}/kubecycle-before-restore-\\d{8}T\\d{6}Z-[0-9a-f]{8}$`),
      );
      expect(await readFile(join(res.keptAside, "member", "snap", "db"), "utf8")).toBe("garbage");
      // The staged snapshot is gone once restored.
      expect(await readdir(join(dir, `agent-${m(i).name}`, "restore"))).toEqual([]);
    }
    for (const x of etcd.members) etcd.start(x);
    const after = await healthy();
    expect(await keys("/restore/before/")).toHaveLength(20);
    expect(await keys("/restore/after/")).toEqual([]);
    for (const x of etcd.members) expect(await revision(x)).toBe(snapRevision);
    // A new cluster: every member has a new id.
    for (const name of ["m1", "m2", "m3"]) expect(after.get(name)).not.toBe(before.get(name));
  });
});

describe("a member that lost its data rejoins", () => {
  it("is removed and added again through a healthy member, then joins empty and catches up", async () => {
    // The test before restarted every member: etcd refuses the add ("unhealthy cluster") for 5 s more, which the
    // replace waits out.
    const before = await healthy();
    const m3 = m(2);
    await etcd.stop(m3);
    await rm(join(m3.dataDir, "member"), { recursive: true, force: true });

    // Its own agent cannot replace it; another member's can.
    await expect(restorer(m3).replaceMember("op-replace-self", before.get("m3") ?? "")).rejects.toBeDefined();
    const replaced = await restorer(m(0)).replaceMember("op-replace", before.get("m3") ?? "");
    expect(replaced.removedId).toBe(before.get("m3"));
    expect(replaced.added).toMatchObject({ name: "m3", peerUrls: [m3.peer] });
    expect(replaced.added?.id).not.toBe(before.get("m3"));
    expect(parseInitialCluster(replaced.initialCluster)).toEqual(new Map(etcd.members.map((x) => [x.name, [x.peer]])));
    // The same replace again (a resumed step) finds the member added and adds nothing.
    const repeat = await restorer(m(0)).replaceMember("op-replace", before.get("m3") ?? "");
    expect(repeat.added?.id).toBe(replaced.added?.id);
    expect(parseMembers(await ctl(m(0), ["member", "list", "-w", "json"]))).toHaveLength(3);

    const manager = new FakeUnitManager(["etcd.service"], ["etcd.service"]);
    const prepared = await restorer(m3, manager).rejoin("op-rejoin", "prepare", replaced.initialCluster);
    expect(prepared.configured).toContain("50-kubecycle-rejoin.conf");
    expect(manager.calls).toContain("daemon-reload");
    const dropIn = join(dir, "systemd-m3", "etcd.service.d");
    expect(await readFile(join(dropIn, "50-kubecycle-rejoin.conf"), "utf8")).toContain(
      `EnvironmentFile=${dropIn}/kubecycle-rejoin.env`,
    );
    // What systemd gives etcd from that environment file, the bootstrap flags left to it.
    const env = parseEnvFile(await readFile(join(dropIn, "kubecycle-rejoin.env"), "utf8"));
    expect(env.ETCD_INITIAL_CLUSTER_STATE).toBe("existing");
    etcd.start(m3, { env, bootstrapFlags: false });
    const after = await healthy();
    expect(after.get("m3")).toBe(replaced.added?.id);
    expect(await keys("/restore/before/")).toHaveLength(20);

    const finished = await restorer(m3, manager).rejoin("op-rejoin-finish", "finish", "");
    expect(finished.configured).toContain("removed");
    expect(await readdir(dropIn)).toEqual([]);
  });

  it("refuses to prepare while the member runs, or for an initial cluster that does not name it", async () => {
    await expect(restorer(m(2)).rejoin("op-x", "prepare", etcd.initialCluster())).rejects.toMatchObject({
      code: "ETCD_RUNNING",
    });
    await expect(restorer(m(2)).rejoin("op-x", "prepare", `m1=${m(0).peer},m2=${m(1).peer}`)).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
  });
});
