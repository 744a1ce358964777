import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTROL_PLANE_PROBES, componentUrl, probeComponents, probeUrl } from "./components.js";
import { parseStaticPod } from "./manifests.js";
import { kubeadmApiserverYaml, kubeadmComponentYaml } from "./testing/layouts.js";
import { createTestCa } from "./testing/pki.js";

const [APISERVER, SCHEDULER, CONTROLLER] = CONTROL_PLANE_PROBES as [
  (typeof CONTROL_PLANE_PROBES)[number],
  (typeof CONTROL_PLANE_PROBES)[number],
  (typeof CONTROL_PLANE_PROBES)[number],
];

describe("componentUrl", () => {
  const api = (o: { securePort?: number; bindAddress?: string }) =>
    parseStaticPod(kubeadmApiserverYaml({ ip: "10.0.0.11", pki: "/p", ...o }), "/m/kube-apiserver.yaml");

  it.each([
    [{}, "https://127.0.0.1:6443/readyz"],
    [{ securePort: 8443 }, "https://127.0.0.1:8443/readyz"],
    [{ bindAddress: "0.0.0.0" }, "https://127.0.0.1:6443/readyz"],
    [{ bindAddress: "::" }, "https://127.0.0.1:6443/readyz"],
    [{ bindAddress: "10.0.0.11" }, "https://10.0.0.11:6443/readyz"],
    [{ bindAddress: "fd00::11" }, "https://[fd00::11]:6443/readyz"],
    [{ bindAddress: "not-an-ip" }, "https://127.0.0.1:6443/readyz"],
  ])("kube-apiserver %j -> %s", (o, want) => {
    expect(componentUrl(APISERVER, api(o))).toBe(want);
  });

  it("the scheduler and controller-manager as kubeadm binds them, and on another port", () => {
    const sched = parseStaticPod(kubeadmComponentYaml("kube-scheduler", {}), "/m/s.yaml");
    const cm = parseStaticPod(kubeadmComponentYaml("kube-controller-manager", { securePort: 10999 }), "/m/c.yaml");
    expect(componentUrl(SCHEDULER, sched)).toBe("https://127.0.0.1:10259/healthz");
    expect(componentUrl(CONTROLLER, cm)).toBe("https://127.0.0.1:10999/healthz");
  });
});

describe("probing", () => {
  let dir: string;
  const servers: HttpServer[] = [];
  let tls: { cert: Buffer; key: Buffer };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kc-probe-"));
    // A serving certificate from a CA the agent does not know, as the cluster's are to it.
    const ca = await createTestCa(join(dir, "ca"), "kubernetes");
    const { cert, key } = await ca.issue("apiserver", { san: ["IP:127.0.0.1"] });
    tls = { cert: await readFile(cert), key: await readFile(key) };
  });
  afterAll(async () => {
    for (const s of servers) s.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function serve(https: boolean, answer: (res: ServerResponse) => void): Promise<number> {
    const handler = (_req: unknown, res: ServerResponse) => answer(res);
    const srv = https ? createHttpsServer(tls, handler) : createHttpServer(handler);
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    return (srv.address() as AddressInfo).port;
  }

  it("healthy only on 200 with the answer ok", async () => {
    const ok = await serve(true, (res) => res.end("ok"));
    const failing = await serve(true, (res) => {
      res.statusCode = 500;
      res.end("[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n");
    });
    const odd = await serve(true, (res) => res.end("okay"));
    expect(await probeUrl(`https://127.0.0.1:${ok}/readyz`, 2000)).toEqual({ healthy: true, detail: "ok" });
    const f = await probeUrl(`https://127.0.0.1:${failing}/readyz`, 2000);
    expect(f.healthy).toBe(false);
    expect(f.detail).toContain("HTTP 500");
    expect(f.detail).toContain("[-]etcd failed: reason withheld");
    expect((await probeUrl(`https://127.0.0.1:${odd}/readyz`, 2000)).healthy).toBe(false);
  });

  it("gives up after its timeout when nothing answers, and says why when nothing listens", async () => {
    const silent = await serve(true, () => undefined);
    const t0 = Date.now();
    const r = await probeUrl(`https://127.0.0.1:${silent}/healthz`, 300);
    expect(r).toMatchObject({ healthy: false, detail: expect.stringContaining("no answer within 300 ms") });
    expect(Date.now() - t0).toBeLessThan(2000);
    const closed = await serve(false, (res) => res.end("ok"));
    servers.at(-1)?.close();
    await new Promise((r) => setTimeout(r, 50));
    expect((await probeUrl(`http://127.0.0.1:${closed}/healthz`, 1000)).detail).toContain("ECONNREFUSED");
  });

  it("probes the fixed set at the ports the manifests name, concurrently; absent ones are not asked", async () => {
    const api = await serve(true, (res) => setTimeout(() => res.end("ok"), 300));
    const sched = await serve(true, (res) => setTimeout(() => res.end("ok"), 300));
    const kubelet = await serve(false, (res) => setTimeout(() => res.end("ok"), 300));
    const pods = [
      parseStaticPod(kubeadmApiserverYaml({ ip: "127.0.0.1", pki: "/p", securePort: api }), "/m/a.yaml"),
      parseStaticPod(kubeadmComponentYaml("kube-scheduler", { securePort: sched }), "/m/s.yaml"),
    ];
    const t0 = Date.now();
    const res = await probeComponents(
      {
        staticPods: () => Promise.resolve(pods),
        kubeletPresent: () => Promise.resolve(true),
        kubeletHealthzPort: kubelet,
      },
      2000,
    );
    // Three probes of 300 ms each, at once.
    expect(Date.now() - t0).toBeLessThan(800);
    expect(res).toEqual([
      {
        component: "kube-apiserver",
        url: `https://127.0.0.1:${api}/readyz`,
        present: true,
        healthy: true,
        detail: "ok",
      },
      {
        component: "kube-scheduler",
        url: `https://127.0.0.1:${sched}/healthz`,
        present: true,
        healthy: true,
        detail: "ok",
      },
      { component: "kube-controller-manager", url: "", present: false, healthy: false, detail: "not on this node" },
      { component: "kubelet", url: `http://127.0.0.1:${kubelet}/healthz`, present: true, healthy: true, detail: "ok" },
    ]);
  });
});
