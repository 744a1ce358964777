// What the lab needs before it can come up: root, the system packages its nodes run, and a build of the repo (the
// nodes run the agent as shipped, from dist/).
import { readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { AGENT_ENTRY, REPO_ROOT } from "./agent.js";
import { exists, run } from "./host.js";

/** Fails with what is missing and how to get it. */
export async function checkPrerequisites(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the lab needs root (namespaces, cgroups, bridges): run it as root");
  const needs: Array<[string, string]> = [
    ["/usr/bin/etcd", "etcd-server"],
    ["/usr/bin/etcdctl", "etcd-client"],
    ["/lib/systemd/systemd", "systemd"],
    ["/usr/bin/openssl", "openssl"],
    ["/usr/bin/nsenter", "util-linux"],
    ["/usr/bin/unshare", "util-linux"],
    ["/usr/bin/node", "nodejs (>= 20.19, at /usr/bin/node: the nodes run the agent with it)"],
  ];
  const missing: string[] = [];
  for (const [path, pkg] of needs) if (!(await exists(path))) missing.push(`${path} (${pkg})`);
  if ((await run("ip", ["-V"]).catch(() => ({ code: 127 }))).code !== 0) missing.push("ip (iproute2)");
  if (missing.length > 0) {
    throw new Error(
      `the lab needs: ${missing.join(", ")}.\n  On Debian: apt-get install systemd iproute2 util-linux openssl etcd-server etcd-client`,
    );
  }
}

/** Builds the repo when the agent's shipped entry is missing or older than the sources it is built from. */
export async function ensureBuilt(
  build: "auto" | "check" | "skip" = "auto",
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const target = join(REPO_ROOT, AGENT_ENTRY);
  const built = await stat(target).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
  if (build === "skip" && built !== undefined) return;
  // What the lab runs: the agent bundle in the nodes and the CLI bundle on the host, both made by one `npm run build`
  // from these sources (and the locked dependencies, and the unit file the agent's bundle carries for its install);
  // the agent's stands for both.
  const newest = await newestSource(
    ["agent", "coordinator", "shared", "proto", "systemd", "package-lock.json"].map((d) => join(REPO_ROOT, d)),
  );
  if (built !== undefined && built >= newest.mtimeMs) return;
  const why = built === undefined ? `${AGENT_ENTRY} is missing` : `${newest.path} is newer than the build`;
  if (build === "check") throw new Error(`${why}: run \`npm run build\` first`);
  log(`building (${why})`);
  const r = await run("npm", ["run", "build"], {
    cwd: REPO_ROOT,
    timeoutMs: 300_000,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" },
  });
  if (r.code !== 0) throw new Error(`npm run build failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
}

async function newestSource(roots: readonly string[]): Promise<{ path: string; mtimeMs: number }> {
  let newest = { path: "", mtimeMs: 0 };
  const walk = async (dir: string): Promise<void> => {
    const st = await stat(dir).catch(() => undefined);
    if (st?.isFile()) {
      if (st.mtimeMs > newest.mtimeMs) newest = { path: relative(REPO_ROOT, dir), mtimeMs: st.mtimeMs };
      return;
    }
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\.(ts|proto|service)$/.test(e.name) && !e.name.endsWith(".test.ts")) {
        const m = (await stat(p)).mtimeMs;
        if (m > newest.mtimeMs) newest = { path: relative(REPO_ROOT, p), mtimeMs: m };
      }
    }
  };
  for (const r of roots) await walk(r);
  return newest;
}
