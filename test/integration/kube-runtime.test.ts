// The containerd and crictl stand-ins: containers are real processes that survive the runtime's own death
// (KillMode=process on a real node), are re-adopted by the next runtime process, and end only when their sandbox
// is stopped, which the crictl stand-in does with real crictl's commands, flags and output shapes.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab, waitFor, type Proc } from "../lab/kube/harness.js";
import { RuntimeClient } from "../lab/kube/lib/runtime-client.js";

let lab: Lab;
let endpoint: string;
let runtime: Proc;
let rt: RuntimeClient;

function crictl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(lab.binDir, "crictl.mjs"), ...args],
      { env: { ...process.env, CONTAINER_RUNTIME_ENDPOINT: endpoint } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function startRuntime(): Promise<void> {
  const r = await lab.runtime("n1");
  runtime = r.proc;
  endpoint = r.endpoint;
  rt = new RuntimeClient(endpoint);
  await waitFor("the runtime socket", () => rt.version());
}

async function runPod(name: string, uid: string): Promise<{ sandbox: string; container: string; pid: number }> {
  const sandbox = await rt.runPodSandbox({
    metadata: { name, namespace: "default", uid, attempt: 0 },
    labels: {
      app: name,
      "io.kubernetes.pod.name": name,
      "io.kubernetes.pod.namespace": "default",
      "io.kubernetes.pod.uid": uid,
    },
  });
  const container = await rt.startContainer(sandbox, {
    metadata: { name: "main", attempt: 0 },
    image: { image: `registry.lab/${name}:1` },
    labels: {
      "io.kubernetes.container.name": "main",
      "io.kubernetes.pod.name": name,
      "io.kubernetes.pod.namespace": "default",
      "io.kubernetes.pod.uid": uid,
    },
  });
  const c = (await rt.listContainers()).find((x) => x.id === container);
  if (!c?.pid) throw new Error("container has no pid");
  return { sandbox, container, pid: c.pid };
}

beforeAll(async () => {
  lab = await Lab.create("kc-kube-runtime-");
  try {
    await startRuntime();
  } catch (err) {
    console.error(lab.tail());
    await lab.destroy();
    throw err;
  }
}, 60_000);

afterAll(async () => {
  await lab?.destroy(process.env.KUBE_LAB_KEEP === "1");
});

describe("containerd and crictl stand-ins", () => {
  it("runs containers as real processes that survive a SIGTERM of the runtime and are re-adopted", async () => {
    const a = await runPod("web-1", "uid-web-1");
    const b = await runPod("db-1", "uid-db-1");
    expect(cmdline(a.pid)).toBe("lab-container:default/web-1/main infinity");
    expect(processAlive(b.pid)).toBe(true);

    await lab.kill(runtime, "SIGTERM");
    expect(processAlive(a.pid)).toBe(true);
    expect(processAlive(b.pid)).toBe(true);
    // real crictl needs the runtime: it fails, saying so
    const down = await crictl("pods");
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("validate service connection");
    expect(down.stderr).toContain("connect: ");

    await startRuntime();
    const ps = JSON.parse((await crictl("ps", "-o", "json")).stdout) as {
      containers: Array<{ id: string; state: string; podSandboxId: string; labels: Record<string, string> }>;
    };
    expect(ps.containers.map((c) => c.id).sort()).toEqual([a.container, b.container].sort());
    expect(ps.containers.every((c) => c.state === "CONTAINER_RUNNING")).toBe(true);
    expect(ps.containers.find((c) => c.id === a.container)?.labels["io.kubernetes.pod.name"]).toBe("web-1");
  });

  it("lists pods like crictl: -o json, -q, --state, --label, and the table", async () => {
    const json = JSON.parse((await crictl("pods", "-o", "json")).stdout) as {
      items: Array<{
        id: string;
        metadata: { name: string; namespace: string; uid: string; attempt: number };
        state: string;
        createdAt: string;
        labels: Record<string, string>;
      }>;
    };
    expect(json.items).toHaveLength(2);
    const web = json.items.find((p) => p.metadata.name === "web-1");
    expect(web).toMatchObject({
      metadata: { name: "web-1", namespace: "default", uid: "uid-web-1", attempt: 0 },
      state: "SANDBOX_READY",
    });
    expect(web?.id).toMatch(/^[0-9a-f]{64}$/);
    expect(web?.createdAt).toMatch(/^\d{19}$/);
    expect(web?.labels["io.kubernetes.pod.namespace"]).toBe("default");
    const quiet = (await crictl("pods", "-q", "--label", "app=web-1")).stdout.trim().split("\n");
    expect(quiet).toEqual([web?.id]);
    expect((await crictl("pods", "--state", "notready", "-q")).stdout).toBe("");
    const table = (await crictl("pods")).stdout.split("\n");
    expect(table[0]).toMatch(/^POD ID\s+CREATED\s+STATE\s+NAME\s+NAMESPACE\s+ATTEMPT\s+RUNTIME$/);
    expect(table.some((l) => l.startsWith(web?.id.slice(0, 13) ?? "-") && /\bReady\s+web-1\s+default\b/.test(l))).toBe(
      true,
    );
  });

  it("stops pod sandboxes (their processes end), refuses rmp of a ready pod without -f, and removes them", async () => {
    const pods = JSON.parse((await crictl("pods", "-o", "json")).stdout) as {
      items: Array<{ id: string; metadata: { name: string } }>;
    };
    const containers = await rt.listContainers();
    const web = pods.items.find((p) => p.metadata.name === "web-1");
    const db = pods.items.find((p) => p.metadata.name === "db-1");
    if (!web || !db) throw new Error("pods missing");
    const webPid = containers.find((c) => c.podSandboxId === web.id)?.pid ?? 0;
    const dbPid = containers.find((c) => c.podSandboxId === db.id)?.pid ?? 0;

    const refused = await crictl("rmp", web.id);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`pod sandbox \\"${web.id}\\" is running, please use -f to stop it`);

    const stopped = await crictl("stopp", web.id.slice(0, 13));
    expect(stopped).toMatchObject({ code: 0, stdout: `Stopped sandbox ${web.id.slice(0, 13)}\n` });
    await waitFor("the web container process gone", () => !processAlive(webPid), 5000);
    expect(processAlive(dbPid)).toBe(true);
    expect((await crictl("pods", "--state", "notready", "-q")).stdout.trim()).toBe(web.id);
    const all = JSON.parse((await crictl("ps", "-a", "-o", "json")).stdout) as {
      containers: Array<{ podSandboxId: string; state: string }>;
    };
    expect(all.containers.find((c) => c.podSandboxId === web.id)?.state).toBe("CONTAINER_EXITED");
    expect((await crictl("ps", "-q")).stdout.trim().split("\n")).toHaveLength(1);
    expect((await rt.listContainers()).find((c) => c.podSandboxId === web.id)).toMatchObject({
      exitCode: 137,
      reason: "Error",
    });

    expect(await crictl("rmp", "-f", db.id)).toMatchObject({ code: 0, stdout: `Removed sandbox ${db.id}\n` });
    await waitFor("the db container process gone", () => !processAlive(dbPid), 5000);
    expect(await crictl("rmp", web.id)).toMatchObject({ code: 0 });
    expect((await crictl("pods", "-q")).stdout).toBe("");
    const missing = await crictl("stopp", "deadbeef");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("NotFound");
  });

  it("notices an adopted container that dies, and stops and removes containers with crictl stop/rm", async () => {
    const p = await runPod("job-1", "uid-job-1");
    await lab.kill(runtime, "SIGTERM");
    await startRuntime();
    process.kill(p.pid, "SIGKILL");
    await waitFor(
      "the runtime to report the container exited",
      async () => (await rt.listContainers()).find((c) => c.id === p.container)?.state === "CONTAINER_EXITED",
      5000,
    );

    const second = await rt.startContainer(p.sandbox, {
      metadata: { name: "main", attempt: 1 },
      image: { image: "registry.lab/job-1:1" },
    });
    const refused = await crictl("rm", second);
    expect(refused.code).toBe(1);
    expect(await crictl("stop", second)).toMatchObject({ code: 0, stdout: `${second}\n` });
    expect(await crictl("rm", second)).toMatchObject({ code: 0, stdout: `${second}\n` });
    expect((await crictl("ps", "-a", "-q")).stdout.trim()).toBe(p.container);
    expect((await crictl("version")).stdout).toContain("RuntimeName:  containerd");
  });
});
