// A master node assembled from exactly what kubeUnitFiles() and kubeNodeFiles() produce for the lab, run without
// systemd: the units' ExecStart command lines and the node's files, with their in-node paths moved under a temp
// root. The kubelet starts the control plane as static pods through the runtime, as kubeadm/KubeKey nodes do, so the
// real node-level facts hold: stopping kubelet and containerd leaves the apiserver serving, stopping the pod
// sandboxes (crictl stopp) ends it, and starting kubelet again brings it back, counted as a restart.
import { execFile } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { request } from "node:https";
import { dirname, join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab, waitFor, type Proc } from "../lab/kube/harness.js";
import { kubeNodeFiles, kubeUnitFiles, type KubeNodeSpec } from "../lab/kube/index.js";
import { issueKubeletCertificates } from "../lab/kube/pki.js";

let lab: Lab;
let root: string;
let spec: KubeNodeSpec;
let core: CoreV1Api;
const procs: { kubelet?: Proc; containerd?: Proc } = {};

/** An in-node path, under the test's root. */
const inRoot = (p: string): string =>
  /^\/(etc\/kubernetes|run|var\/lib\/containerd-lab|usr\/local\/bin)(\/|$)/.test(p) ? join(root, p) : p;

/** The ExecStart of a unit, its in-node paths moved under the root. */
function execStart(unit: string): string[] {
  const text = kubeUnitFiles(spec)[unit] ?? "";
  const line = text.split("\n").find((l) => l.startsWith("ExecStart="));
  if (!line) throw new Error(`${unit} has no ExecStart`);
  return line
    .slice("ExecStart=".length)
    .split(" ")
    .map((a) =>
      a.replace(
        /(=|^|unix:\/\/)(\/(?:etc\/kubernetes|run|var\/lib\/containerd-lab)[^\s,]*)/,
        (_m, pre: string, p: string) => `${pre}${inRoot(p)}`,
      ),
    );
}

function start(unit: "kubelet.service" | "containerd.service"): Proc {
  const [cmd, ...args] = execStart(unit);
  return lab.spawn(unit.replace(".service", ""), cmd ?? "", args);
}

function get(port: number, path: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, rejectUnauthorized: false, timeout: 3000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
    });
    req.on("error", () => resolve({ code: 0, body: "" }));
    req.end();
  });
}

function crictl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "/bin/sh",
      [join(root, "usr/local/bin/crictl"), ...args],
      { env: { ...process.env, CONTAINER_RUNTIME_ENDPOINT: `unix://${join(root, "run/containerd/containerd.sock")}` } },
      (err, stdout, stderr) => (err ? reject(new Error(`crictl ${args.join(" ")}: ${stderr}`)) : resolve(stdout)),
    );
  });
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "0.0.0.0", () => s.close(() => resolve(true)));
  });
}

beforeAll(async () => {
  for (const port of [6443, 10257, 10259]) {
    if (!(await portFree(port)))
      throw new Error(
        `port ${port} is in use on this host; kube-node.test.ts runs the static control plane on its real ports`,
      );
  }
  lab = await Lab.create("kc-kube-node-");
  try {
    root = join(lab.dir, "root");
    const etcd = await lab.etcdCluster(1);
    spec = {
      name: "m1",
      role: "master",
      ip: "127.0.0.1",
      masters: [{ name: "m1", ip: "127.0.0.1" }],
      etcd: {
        endpoints: etcd.endpoints(),
        caFile: lab.etcdTls.ca,
        certFile: lab.etcdTls.cert,
        keyFile: lab.etcdTls.key,
      },
      kubePkiDir: lab.pki.dir,
      binDir: lab.binDir,
      nodeGraceSeconds: 3,
    };
    // The kubelet's certificate store, which the lab copies into the node's PKI directory.
    await issueKubeletCertificates(lab.pki.dir, lab.pki.dir, { name: spec.name, ip: spec.ip });
    for (const f of kubeNodeFiles(spec)) {
      await mkdir(dirname(inRoot(f.path)), { recursive: true });
      await writeFile(inRoot(f.path), f.content);
      await chmod(inRoot(f.path), f.mode);
    }
    lab.trackRuntimeState(join(root, "run/containerd-lab"));
    procs.containerd = start("containerd.service");
    procs.kubelet = start("kubelet.service");
    const kc = new KubeConfig();
    kc.loadFromFile(join(root, "etc/kubernetes/admin.conf"));
    core = kc.makeApiClient(CoreV1Api);
  } catch (err) {
    console.error(lab.tail());
    await lab.destroy();
    throw err;
  }
}, 60_000);

afterAll(async () => {
  await lab?.destroy(process.env.KUBE_LAB_KEEP === "1");
});

describe("a master node from kubeUnitFiles() and kubeNodeFiles()", () => {
  it("has unit files systemd accepts", async () => {
    const dir = join(lab.dir, "units");
    await mkdir(dir, { recursive: true });
    const units = kubeUnitFiles(spec);
    expect(Object.keys(units).sort()).toEqual(["containerd.service", "kubelet.service"]);
    expect(units["containerd.service"]).toMatch(/^KillMode=process$/m);
    expect(units["kubelet.service"]).toMatch(/^After=.*containerd\.service/m);
    expect(units["kubelet.service"]).not.toMatch(/^(Requires|BindsTo|PartOf)=/m);
    for (const [name, text] of Object.entries(units)) await writeFile(join(dir, name), text);
    const out = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile("systemd-analyze", ["verify", ...Object.keys(units).map((n) => join(dir, n))], (err, _o, stderr) =>
        resolve({ code: err ? 1 : 0, stderr }),
      ),
    );
    expect(
      out.stderr.split("\n").filter((l) => l.includes(dir) && !/Unit .* not found|network-online/.test(l)),
    ).toEqual([]);
  });

  it("boots the control plane as static pods: apiserver, controller-manager and scheduler, with their mirror pods", async () => {
    const t0 = Date.now();
    await waitFor("the apiserver's /readyz", async () => (await get(6443, "/readyz")).code === 200, 30_000, 200);
    console.log(`static kube-apiserver ready ${Date.now() - t0} ms after kubelet start`);
    await waitFor(
      "node m1 Ready",
      async () =>
        (await core.readNode({ name: "m1" })).status?.conditions?.some(
          (c) => c.type === "Ready" && c.status === "True",
        ),
      20_000,
    );
    const mirrors = await waitFor(
      "3 Running mirror pods",
      async () => {
        const ps = (await core.listNamespacedPod({ namespace: "kube-system", labelSelector: "tier=control-plane" }))
          .items;
        return ps.length === 3 && ps.every((p) => p.status?.phase === "Running") ? ps : undefined;
      },
      20_000,
    );
    expect(mirrors.map((p) => p.metadata?.name).sort()).toEqual([
      "kube-apiserver-m1",
      "kube-controller-manager-m1",
      "kube-scheduler-m1",
    ]);
    expect((await get(10257, "/healthz")).body).toBe("ok");
    expect((await get(10259, "/healthz")).body).toBe("ok");
  });

  it("keeps the apiserver running when kubelet and containerd stop; stopping the sandboxes ends it; kubelet brings it back", async () => {
    if (!procs.kubelet || !procs.containerd) throw new Error("not started");
    await lab.kill(procs.kubelet, "SIGTERM");
    await lab.kill(procs.containerd, "SIGTERM");
    expect((await get(6443, "/readyz")).code).toBe(200);
    procs.containerd = start("containerd.service");
    const ids = await waitFor("the runtime back", async () =>
      (await crictl("pods", "--state", "ready", "-q")).trim().split("\n").filter(Boolean),
    );
    expect(ids).toHaveLength(3);
    await crictl("stopp", ...ids);
    expect((await get(6443, "/readyz")).code).toBe(0);
    expect((await get(10257, "/healthz")).code).toBe(0);

    procs.kubelet = start("kubelet.service");
    await waitFor("the apiserver's /readyz again", async () => (await get(6443, "/readyz")).code === 200, 30_000, 200);
    const api = await waitFor(
      "kube-apiserver-m1 counted one restart",
      async () => {
        const p = await core.readNamespacedPod({ name: "kube-apiserver-m1", namespace: "kube-system" });
        return p.status?.containerStatuses?.[0]?.restartCount === 1 && p.status.phase === "Running" ? p : undefined;
      },
      20_000,
    );
    expect(api.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
  });
});
