import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import protobuf from "protobufjs";
import { loadAgentProto, loadRegistryProto, protoPaths } from "./index.js";

const root = new URL("../..", import.meta.url).pathname;

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe("the contracts (agent, registry)", () => {
  it("has generated types in sync with proto/ (run `npm run proto:gen` after changing the .proto)", async () => {
    const out = await mkdtemp(join(tmpdir(), "kc-protogen-"));
    const script = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const args = (script.scripts["proto:gen"] ?? "").split(" ").slice(1);
    const outDir = args.findIndex((a) => a.startsWith("--outDir="));
    args[outDir] = `--outDir=${out}`;
    await promisify(execFile)(join(root, "node_modules/.bin/proto-loader-gen-types"), args, { cwd: root });
    const committed = join(root, "shared/proto/generated");
    expect(await files(out)).toEqual(await files(committed));
    for (const f of await files(out)) {
      expect(await readFile(join(out, f), "utf8"), f).toBe(await readFile(join(committed, f), "utf8"));
    }
  });

  it("loads, with every RPC the agent serves", () => {
    const service = loadAgentProto().kubecycle.v1.Agent.service;
    expect(Object.keys(service).sort()).toEqual(
      [
        "EtcdRejoin",
        "EtcdReplaceMember",
        "EtcdRestore",
        "EtcdSnapshot",
        "EtcdStatus",
        "GetCertificates",
        "GetClock",
        "GetDiskUsage",
        "ProbeNetwork",
        "ReadJournal",
        "StageSnapshot",
        "GetNodeLayout",
        "GetStatus",
        "Health",
        "PowerOff",
        "ProbeComponents",
        "SetAutoStart",
        "StartUnits",
        "StopPodSandboxes",
        "StopUnits",
        "WatchStatus",
      ].sort(),
    );
  });

  it("loads the registry, with every RPC serve offers, and the agent's messages it reuses", () => {
    const v1 = loadRegistryProto().kubecycle.v1;
    expect(Object.keys(v1.Registry.service).sort()).toEqual(["ListReports", "Report"]);
    // A report carries the agent contract's own UnitStatus and NodeFacts, not copies that could drift.
    const report = new protobuf.Root()
      .loadSync(protoPaths("kubecycle"))
      .resolveAll()
      .lookupType("kubecycle.v1.BootReport");
    const fields = report.fieldsArray.map((f) => [f.name, f.resolvedType?.fullName]);
    expect(fields).toContainEqual(["units", ".kubecycle.v1.UnitStatus"]);
    expect(fields).toContainEqual(["facts", ".kubecycle.v1.NodeFacts"]);
    expect(Object.keys(v1.Agent.service)).toEqual(Object.keys(loadAgentProto().kubecycle.v1.Agent.service));
  });
});
