// deploy/rbac.yaml held against every API call kubecycle made across the end-to-end suite. The lab's API servers
// authorize kubecycle's operator by that manifest and audit each request (test/lab/kube/apiserver/authz.ts); each
// end-to-end file hands its labs' audit logs over when it brings them down (downLab in helpers.ts). After the run:
// - a request the manifest refused fails the run, naming it (kubecycle needs a grant the manifest does not give);
// - once every end-to-end file ran, a grant no request used fails it too (the manifest gives more than is needed).
// A vitest global setup of the integration project: its teardown sees every file's records.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { TestProject } from "vitest/node";
import { REPO_ROOT } from "../lab/agent.js";
import { RbacPolicy, type AuditRecord } from "../lab/kube/apiserver/authz.js";

declare module "vitest" {
  interface ProvidedContext {
    /** Where end-to-end files leave their labs' API audit records. */
    apiAuditDir: string;
  }
}

const E2E_DIR = join(REPO_ROOT, "test", "e2e");

/** What one end-to-end file leaves: its name and its lab's audit records. */
interface AuditDrop {
  file: string;
  records: AuditRecord[];
}

/** Called by an end-to-end file (through downLab) for each lab it brought up. */
export async function dropAudit(dir: string, file: string, records: AuditRecord[]): Promise<void> {
  const drop: AuditDrop = { file: basename(file), records };
  await writeFile(join(dir, `${basename(file)}-${process.pid}-${Date.now()}.json`), JSON.stringify(drop));
}

/** The verdict on a run's records: refused requests, and (when every file ran) unused grants. */
export function judge(
  policy: RbacPolicy,
  drops: AuditDrop[],
  e2eFiles: string[],
): { refused: string[]; unused: string[] | undefined } {
  const records = drops.flatMap((d) => d.records);
  const refused = [
    ...new Set(
      records
        .filter((r) => !r.allowed)
        .map(
          (r) =>
            `${r.verb} ${r.apiGroup ? `${r.apiGroup}/` : ""}${r.resource}${r.subresource ? `/${r.subresource}` : ""}${r.namespace ? ` in ${r.namespace}` : ""}${r.name ? ` (${r.name})` : ""}`,
        ),
    ),
  ];
  const ran = new Set(drops.map((d) => d.file));
  const all = e2eFiles.every((f) => ran.has(f));
  return {
    refused,
    unused: all
      ? policy.unusedGrants(records.map((r) => ({ who: { user: r.user, groups: r.groups }, attrs: r })))
      : undefined,
  };
}

let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), "kubecycle-api-audit-"));
  project.provide("apiAuditDir", dir);
}

export async function teardown(): Promise<void> {
  if (!dir) return;
  try {
    const drops = await Promise.all(
      (await readdir(dir)).map(async (f) => JSON.parse(await readFile(join(dir ?? "", f), "utf8")) as AuditDrop),
    );
    if (drops.length === 0) return;
    // The end-to-end files that bring a lab up (and hand its audit over through downLab).
    const e2eFiles: string[] = [];
    for (const f of (await readdir(E2E_DIR)).filter((x) => x.endsWith(".test.ts"))) {
      if ((await readFile(join(E2E_DIR, f), "utf8")).includes("downLab(")) e2eFiles.push(f);
    }
    const policy = RbacPolicy.fromFile(join(REPO_ROOT, "deploy", "rbac.yaml"));
    const { refused, unused } = judge(policy, drops, e2eFiles);
    const calls = drops.reduce((n, d) => n + d.records.length, 0);
    const problems = [
      ...refused.map((r) => `deploy/rbac.yaml refused kubecycle: ${r}`),
      ...(unused ?? []).map((u) => `deploy/rbac.yaml grants what kubecycle never asked for: ${u}`),
    ];
    if (problems.length > 0) {
      console.error(`\nAPI audit (${calls} calls):\n  ${problems.join("\n  ")}\n`);
      // A global teardown's exception is only logged by vitest; the exit code is how the run fails.
      process.exitCode = 1;
    } else {
      console.log(
        unused
          ? `API audit: deploy/rbac.yaml grants exactly what kubecycle asked for (${calls} calls in ${e2eFiles.length} end-to-end files)`
          : `API audit: nothing refused in ${calls} calls (the unused-grant check needs every end-to-end file to run)`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
