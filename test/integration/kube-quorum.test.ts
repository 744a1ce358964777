// The API simulator fails like a real apiserver when etcd loses quorum, and its controllers are elected: a real
// 3-member etcd cluster on loopback, two apiservers and two controller-managers (as on two masters), driven
// through @kubernetes/client-node. Killing 2 of 3 etcd members makes reads fail (no stale answers) and /readyz
// non-200; restarting them brings the API back with every object intact. Exactly one controller-manager leads.
import { request } from "node:https";
import { ApiException, CoordinationV1Api, CoreV1Api, KubeConfig, type V1Namespace } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, Lab, waitFor, type EtcdCluster, type Proc } from "../lab/kube/harness.js";

let lab: Lab;
let etcd: EtcdCluster;
const apiPorts: number[] = [];
const kcm: Array<{ proc: Proc; port: number; name: string }> = [];

function client(port: number): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromString(lab.pki.kubeconfig(`https://127.0.0.1:${port}`));
  return kc.makeApiClient(CoreV1Api);
}

function get(port: number, path: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function leaders(): Promise<string[]> {
  const out: string[] = [];
  for (const k of kcm) {
    if (k.proc.child.exitCode !== null || k.proc.child.signalCode !== null) continue;
    const r = await get(k.port, "/lab/leader");
    if ((JSON.parse(r.body) as { leader: boolean }).leader) out.push(k.name);
  }
  return out;
}

beforeAll(async () => {
  lab = await Lab.create("kc-kube-quorum-");
  try {
    etcd = await lab.etcdCluster(3);
    for (const name of ["api-a", "api-b"]) {
      const port = await freePort();
      apiPorts.push(port);
      lab.apiserver(name, port, etcd);
    }
    for (const name of ["kcm-a", "kcm-b"]) {
      const port = await freePort();
      kcm.push({ proc: lab.controllerManager(name, port, etcd), port, name });
    }
    for (const port of apiPorts)
      await waitFor("apiserver ready", async () => (await get(port, "/readyz")).code === 200, 20_000);
  } catch (err) {
    console.error(lab.tail());
    await lab.destroy();
    throw err;
  }
}, 90_000);

afterAll(async () => {
  await lab?.destroy(process.env.KUBE_LAB_KEEP === "1");
});

describe("the API simulator on a 3-member etcd", () => {
  it("has exactly one active controller-manager, mirrored in its Lease, and fails over when it dies", async () => {
    const [first] = await waitFor("one leader", async () => {
      const l = await leaders();
      return l.length === 1 ? l : undefined;
    });
    // both stay candidates; a while later there is still exactly one
    await new Promise((r) => setTimeout(r, 1500));
    expect(await leaders()).toEqual([first]);
    const kc = new KubeConfig();
    kc.loadFromString(lab.pki.kubeconfig(`https://127.0.0.1:${apiPorts[0]}`));
    const coord = kc.makeApiClient(CoordinationV1Api);
    const lease = await waitFor("the kube-controller-manager Lease", () =>
      coord.readNamespacedLease({ name: "kube-controller-manager", namespace: "kube-system" }),
    );
    expect(lease.spec?.holderIdentity).toMatch(new RegExp(`^${first}_`));

    const leader = kcm.find((k) => k.name === first);
    if (!leader) throw new Error("no leader process");
    const t0 = Date.now();
    await lab.kill(leader.proc);
    const [second] = await waitFor(
      "a new leader",
      async () => {
        const l = await leaders();
        return l.length === 1 && l[0] !== first ? l : undefined;
      },
      15_000,
    );
    console.log(`controller-manager failover took ${Date.now() - t0} ms`);
    await waitFor("the Lease names the new leader", async () => {
      const l = await coord.readNamespacedLease({ name: "kube-controller-manager", namespace: "kube-system" });
      return l.spec?.holderIdentity?.startsWith(`${second}_`);
    });
  });

  it("fails reads and /readyz without quorum, and comes back with every object after", async () => {
    const api = client(apiPorts[0] ?? 0);
    const names = ["alpha", "beta", "gamma"];
    for (const name of names) {
      const body: V1Namespace = { metadata: { name, labels: { lab: "quorum" } } };
      await api.createNamespace({ body });
    }
    const before = await api.listNamespace({ labelSelector: "lab=quorum" });
    expect(before.items).toHaveLength(3);

    await etcd.stop("e1");
    await etcd.stop("e2");
    const t0 = Date.now();
    for (const port of apiPorts) {
      const err = await client(port)
        .listNamespace()
        .catch((e: unknown) => e);
      expect(err, `GET namespaces on :${port} must fail without quorum`).toBeInstanceOf(ApiException);
      expect((err as ApiException<unknown>).code).toBeGreaterThanOrEqual(500);
      const ready = await get(port, "/readyz");
      expect(ready.code).toBe(500);
      expect(ready.body).toContain("[-]etcd failed");
      expect((await get(port, "/livez")).code).toBe(500);
    }
    console.log(`without quorum: ${apiPorts.length} failed reads and health checks in ${Date.now() - t0} ms`);
    const running = kcm.find((k) => k.proc.child.exitCode === null && k.proc.child.signalCode === null);
    if (running) expect((await get(running.port, "/healthz")).code).toBe(500);

    etcd.start("e1");
    etcd.start("e2");
    const t1 = Date.now();
    for (const port of apiPorts)
      await waitFor("apiserver ready again", async () => (await get(port, "/readyz")).code === 200, 30_000, 200);
    console.log(`API ready ${Date.now() - t1} ms after the members were restarted`);
    const after = await client(apiPorts[1] ?? 0).listNamespace({ labelSelector: "lab=quorum" });
    expect(after.items.map((n) => [n.metadata?.name, n.metadata?.uid, n.metadata?.resourceVersion])).toEqual(
      before.items.map((n) => [n.metadata?.name, n.metadata?.uid, n.metadata?.resourceVersion]),
    );
  });
});
