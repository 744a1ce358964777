import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { OpRecords, ownerTag } from "./op-records.js";

const log = pino({ level: "silent" });

async function fresh(max = 100): Promise<{ dir: string; records: OpRecords }> {
  const dir = await mkdtemp(join(tmpdir(), "kc-ops-"));
  const records = new OpRecords(dir, max, log);
  await records.open();
  return { dir, records };
}

describe("OpRecords", () => {
  it("acts once per operation id and replays the recorded result", async () => {
    const { records } = await fresh();
    let calls = 0;
    const act = () => Promise.resolve({ n: ++calls });
    expect(await records.once("alice", "op-1", "StopUnits", "a", act)).toEqual({ result: { n: 1 }, replayed: false });
    expect(await records.once("alice", "op-1", "StopUnits", "a", act)).toEqual({ result: { n: 1 }, replayed: true });
    expect(calls).toBe(1);
  });

  it("survives a restart (a new instance on the same directory)", async () => {
    const { dir, records } = await fresh();
    await records.once("alice", "op-2", "StartUnits", "x", () => Promise.resolve("first"));
    const again = new OpRecords(dir, 100, log);
    await again.open();
    let acted = false;
    const res = await again.once("alice", "op-2", "StartUnits", "x", () => {
      acted = true;
      return Promise.resolve("second");
    });
    expect(res).toEqual({ result: "first", replayed: true });
    expect(acted).toBe(false);
  });

  it("joins a call still in flight instead of acting twice", async () => {
    const { records } = await fresh();
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const act = async () => {
      calls++;
      await gate;
      return "done";
    };
    const a = records.once("alice", "op-3", "StopUnits", "f", act);
    const b = records.once("alice", "op-3", "StopUnits", "f", act);
    release();
    expect(await Promise.all([a, b])).toEqual([
      { result: "done", replayed: false },
      { result: "done", replayed: true },
    ]);
    expect(calls).toBe(1);
  });

  it("keeps each caller's operation ids apart: no replay of another's result, no conflict with another's id", async () => {
    const { dir, records } = await fresh();
    expect(await records.once("alice", "op-6", "StopUnits", "kubelet", () => Promise.resolve("alice's"))).toEqual({
      result: "alice's",
      replayed: false,
    });
    expect(await records.once("bob", "op-6", "StartUnits", "etcd", () => Promise.resolve("bob's"))).toEqual({
      result: "bob's",
      replayed: false,
    });
    expect(await records.once("alice", "op-6", "StopUnits", "kubelet", () => Promise.resolve("again"))).toEqual({
      result: "alice's",
      replayed: true,
    });
    expect((await readdir(dir)).filter((f) => f.endsWith("~op-6.json"))).toHaveLength(2);
  });

  it("drops records written before ids had owners", async () => {
    const { dir } = await fresh();
    await writeFile(join(dir, "0000000000003-op-z.json"), JSON.stringify({ opId: "op-z", result: 1 }));
    const records = new OpRecords(dir, 100, log);
    await records.open();
    expect(await readdir(dir)).not.toContain("0000000000003-op-z.json");
  });

  it("refuses an id reused for a different request", async () => {
    const { records } = await fresh();
    await records.once("alice", "op-4", "StopUnits", "kubelet", () => Promise.resolve(1));
    await expect(records.once("alice", "op-4", "StopUnits", "etcd", () => Promise.resolve(2))).rejects.toMatchObject({
      code: "OPERATION_ID_CONFLICT",
    });
    await expect(
      records.once("alice", "op-4", "StartUnits", "kubelet", () => Promise.resolve(2)),
    ).rejects.toMatchObject({
      code: "OPERATION_ID_CONFLICT",
    });
  });

  it("does not record a call that threw", async () => {
    const { records } = await fresh();
    await expect(records.once("alice", "op-5", "StopUnits", "f", () => Promise.reject(new Error("x")))).rejects.toThrow(
      "x",
    );
    expect(await records.once("alice", "op-5", "StopUnits", "f", () => Promise.resolve("ok"))).toEqual({
      result: "ok",
      replayed: false,
    });
  });

  it("keeps only the newest records", async () => {
    const { dir, records } = await fresh(10);
    for (let i = 0; i < 15; i++) await records.once("alice", `op-${i}`, "StopUnits", "f", () => Promise.resolve(i));
    expect(records.size).toBe(10);
    const files = await readdir(dir);
    expect(files).toHaveLength(10);
    expect(files.some((f) => f.endsWith("~op-0.json"))).toBe(false);
    expect(files.some((f) => f.endsWith("~op-14.json"))).toBe(true);
  });

  it("ignores leftover temp files and unreadable records", async () => {
    const { dir } = await fresh();
    await writeFile(join(dir, "0000000000001-op-x.json.tmp"), "{half");
    await writeFile(join(dir, `0000000000002-${ownerTag("alice")}~op-y.json`), "{half");
    const records = new OpRecords(dir, 100, log);
    await records.open();
    expect(await readdir(dir)).not.toContain("0000000000001-op-x.json.tmp");
    expect(await records.once("alice", "op-y", "StopUnits", "f", () => Promise.resolve("acted"))).toEqual({
      result: "acted",
      replayed: false,
    });
  });
});
