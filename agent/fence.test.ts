import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KubecycleError } from "../shared/index.js";
import { OperationFence } from "./fence.js";

const log = pino({ level: "silent" });
let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-fence-"));
  file = join(dir, "state", "fence.json");
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const older = { op: "20261201T060000-cluster-stop-lab-aaaa", epoch: 1_796_104_800_000 };
const newer = { op: "20261201T060100-cluster-start-lab-bbbb", epoch: 1_796_104_860_000 };

describe("the operation fence", () => {
  it("lets the newest operation through and refuses an older one with SUPERSEDED, naming both", async () => {
    const fence = await OperationFence.open(file, log);
    await fence.admit(older);
    await fence.admit(newer);
    const err = await fence.admit(older).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KubecycleError);
    expect((err as KubecycleError).code).toBe("SUPERSEDED");
    expect((err as KubecycleError).message).toContain(older.op);
    expect((err as KubecycleError).message).toContain(newer.op);
    expect(fence.current?.op).toBe(newer.op);
    // The newest goes on: a resumed operation keeps its epoch.
    await fence.admit(newer);
  });

  it("keeps the newest operation on disk: an agent restart refuses the older one still", async () => {
    await (await OperationFence.open(file, log)).admit(newer);
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject(newer);
    const again = await OperationFence.open(file, log);
    await expect(again.admit(older)).rejects.toMatchObject({ code: "SUPERSEDED" });
  });

  it("lets a change without a stamp (an older coordinator) through, and moves nothing", async () => {
    const fence = await OperationFence.open(file, log);
    await fence.admit(newer);
    await fence.admit(undefined);
    expect(fence.current?.op).toBe(newer.op);
  });

  it("starts without a fence when its file is malformed, and writes a whole one at the next change", async () => {
    await (await OperationFence.open(file, log)).admit(older);
    await writeFile(file, "{not json");
    const fence = await OperationFence.open(file, log);
    expect(fence.current).toBeUndefined();
    await fence.admit(older);
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject(older);
  });
});
