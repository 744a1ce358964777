import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PodScope__Output } from "../shared/index.js";
import { graceSeconds, inScope, podKind, podScope, PodSandboxes, POD_SCOPES, type CrictlPod } from "./pods.js";
import { fakeCrictl, invocations, type FakeContainer, type FakePod } from "./testing/fake-bin.js";

// Every crictl call here starts a node process (the stand-in): a stop of a few pods takes seconds on a busy machine.
vi.setConfig({ testTimeout: 30_000 });

const staticPod = (name: string, labels: Record<string, string>): FakePod => ({
  id: `sb-${name}`,
  metadata: { name: `${name}-master-1`, namespace: "kube-system" },
  labels: { ...labels, "io.kubernetes.pod.namespace": "kube-system" },
  annotations: { "kubernetes.io/config.source": "file", "kubernetes.io/config.hash": "abc" },
});
const apiPod = (name: string, namespace: string, labels: Record<string, string> = {}): FakePod => ({
  id: `sb-${name}`,
  metadata: { name, namespace },
  labels: { ...labels, "io.kubernetes.pod.namespace": namespace },
  annotations: { "kubernetes.io/config.source": "api" },
});

// A kubeadm master's sandboxes as the kubelet labels them, and a few that only look like control plane.
const PODS: FakePod[] = [
  staticPod("etcd", { component: "etcd", tier: "control-plane" }),
  staticPod("kube-apiserver", { component: "kube-apiserver", tier: "control-plane" }),
  staticPod("kube-scheduler", { component: "kube-scheduler", tier: "control-plane" }),
  apiPod("coredns-7db6d8ff4d-x2x9k", "kube-system", { "k8s-app": "kube-dns" }),
  apiPod("not-static-cp", "kube-system", { tier: "control-plane" }),
  apiPod("web-5d8f7-abcde", "default", { app: "web" }),
  apiPod("etcd-lookalike", "default", { component: "etcd" }),
];
const KIND: Record<string, string> = {
  "sb-etcd": "etcd",
  "sb-kube-apiserver": "control-plane",
  "sb-kube-scheduler": "control-plane",
  "sb-coredns-7db6d8ff4d-x2x9k": "workload",
  "sb-not-static-cp": "workload",
  "sb-web-5d8f7-abcde": "workload",
  "sb-etcd-lookalike": "workload",
};

describe("scopes", () => {
  it.each(PODS.map((p) => [p.id, p] as const))("classifies %s", (id, pod) => {
    expect(podKind(pod as CrictlPod)).toBe(KIND[id]);
  });

  it.each<[PodScope__Output, string[]]>([
    ["POD_SCOPE_ALL", ["etcd", "control-plane", "workload"]],
    ["POD_SCOPE_WORKLOAD", ["workload"]],
    ["POD_SCOPE_CONTROL_PLANE", ["control-plane"]],
    ["POD_SCOPE_ETCD", ["etcd"]],
    ["POD_SCOPE_ALL_BUT_ETCD", ["control-plane", "workload"]],
  ])("%s takes %j", (scope, kinds) => {
    expect((["etcd", "control-plane", "workload"] as const).filter((k) => inScope(scope, k))).toEqual(kinds);
  });

  it("reads the scope of a request; unset is ALL, anything unknown is refused", () => {
    expect(podScope(undefined)).toBe("POD_SCOPE_ALL");
    expect(podScope(0)).toBe("POD_SCOPE_ALL");
    for (const s of POD_SCOPES) expect(podScope(s)).toBe(s);
    expect(() => podScope(7)).toThrow(/unknown pod scope/);
    expect(() => podScope("POD_SCOPE_EVERYTHING")).toThrow(/unknown pod scope/);
  });

  it("reads a container's grace period from the kubelet's annotation, else 30 s", () => {
    expect(graceSeconds({ annotations: { "io.kubernetes.pod.terminationGracePeriod": "5" } })).toBe(5);
    expect(graceSeconds({ annotations: { "io.kubernetes.pod.terminationGracePeriod": "0" } })).toBe(0);
    expect(graceSeconds({ annotations: { "io.kubernetes.pod.terminationGracePeriod": "-1" } })).toBe(30);
    expect(graceSeconds({ annotations: { "io.kubernetes.pod.terminationGracePeriod": "x" } })).toBe(30);
    expect(graceSeconds({})).toBe(30);
  });
});

describe("PodSandboxes.stop", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  const container = (pod: string, name: string, grace?: number, exitAfterS = 0): FakeContainer => ({
    id: `c-${pod}-${name}`,
    podSandboxId: `sb-${pod}`,
    metadata: { name },
    ...(grace === undefined ? {} : { annotations: { "io.kubernetes.pod.terminationGracePeriod": String(grace) } }),
    exitAfterS,
  });

  async function runtime(containers: FakeContainer[], concurrency = 16) {
    const dir = await mkdtemp(join(tmpdir(), "kc-pods-"));
    dirs.push(dir);
    const crictl = await fakeCrictl(dir, PODS, containers);
    return { dir, pods: new PodSandboxes({ crictl, concurrency }) };
  }

  it("stops the workload's containers with their grace periods first, then their sandboxes, and leaves the rest", async () => {
    const { dir, pods } = await runtime([
      container("web-5d8f7-abcde", "web", 30, 0.8),
      container("web-5d8f7-abcde", "sidecar", 5),
      container("coredns-7db6d8ff4d-x2x9k", "coredns"),
      container("kube-apiserver", "kube-apiserver", 30),
      container("etcd", "etcd", 30),
    ]);
    const r = await pods.stop("POD_SCOPE_WORKLOAD", 60_000);
    expect(r.stopped.map((p) => p.id).sort()).toEqual(
      ["sb-coredns-7db6d8ff4d-x2x9k", "sb-etcd-lookalike", "sb-not-static-cp", "sb-web-5d8f7-abcde"].sort(),
    );
    expect(r.remaining).toEqual([]);
    expect(r.containersStopped).toBe(3);
    expect(r.message).toContain("scope workload");

    const calls = await invocations(dir, "crictl");
    const stops = calls.filter((c) => c.argv.includes("stop"));
    const stopps = calls.filter((c) => c.argv.includes("stopp"));
    // Every container stop carries its pod's grace period (the kubelet's default when it has none) ...
    expect(
      Object.fromEntries(
        stops.map((c) => [
          c.argv.at(-1),
          c.argv.find((a) => a.startsWith("--timeout=") && c.argv.indexOf(a) > c.argv.indexOf("stop")),
        ]),
      ),
    ).toEqual({
      "c-web-5d8f7-abcde-web": "--timeout=30",
      "c-web-5d8f7-abcde-sidecar": "--timeout=5",
      "c-coredns-7db6d8ff4d-x2x9k-coredns": "--timeout=30",
    });
    // ... and every one of them ended before the first sandbox was stopped.
    const lastStopEnd = Math.max(...stops.map((c) => c.end ?? Number.POSITIVE_INFINITY));
    expect(lastStopEnd).toBeLessThanOrEqual(Math.min(...stopps.map((c) => c.t)));
    expect(stopps.map((c) => c.argv.at(-1)).sort()).toEqual(r.stopped.map((p) => p.id).sort());
    // crictl's own RPC deadline is raised above the grace period (it would cut the call at 2 s).
    const web = stops.find((c) => c.argv.at(-1) === "c-web-5d8f7-abcde-web");
    expect(web?.argv[0]).toBe("--timeout=40s");
  });

  it.each<[PodScope__Output, string[]]>([
    ["POD_SCOPE_ETCD", ["sb-etcd"]],
    ["POD_SCOPE_CONTROL_PLANE", ["sb-kube-apiserver", "sb-kube-scheduler"]],
    ["POD_SCOPE_ALL_BUT_ETCD", PODS.map((p) => p.id).filter((id) => id !== "sb-etcd")],
    ["POD_SCOPE_ALL", PODS.map((p) => p.id)],
  ])("%s stops exactly %j", async (scope, ids) => {
    const { dir, pods } = await runtime([container("etcd", "etcd", 30), container("kube-apiserver", "kube-apiserver")]);
    const r = await pods.stop(scope, 60_000);
    expect(r.stopped.map((p) => p.id).sort()).toEqual([...ids].sort());
    const stopped = (await invocations(dir, "crictl"))
      .filter((c) => c.argv.includes("stopp"))
      .map((c) => c.argv.at(-1));
    expect(stopped.sort()).toEqual([...ids].sort());
  });

  it("bounds each grace period by the time left", async () => {
    const { dir, pods } = await runtime([container("web-5d8f7-abcde", "web", 600)]);
    const t0 = Date.now();
    await pods.stop("POD_SCOPE_WORKLOAD", 8000);
    const stop = (await invocations(dir, "crictl")).find((c) => c.argv.includes("stop"));
    const timeout = Number(stop?.argv.at(-2)?.replace("--timeout=", ""));
    // 8 s in all, a quarter kept back for the sandboxes: at most 6 s for the containers (not the pod's 600 s), less
    // what listing them took before the stop began (seconds on a loaded machine: each crictl here is a process).
    expect(timeout).toBeLessThanOrEqual(6);
    const before = (stop?.t ?? Infinity) - t0;
    expect(before).toBeLessThan(5000);
    expect(timeout).toBeGreaterThanOrEqual(Math.floor((6000 - before) / 1000));
  });

  it("stops containers concurrently, never more than the bound at once", async () => {
    const slow = ["a", "b", "c", "d"].map((n) => container("web-5d8f7-abcde", n, 10, 0.4));
    const { dir, pods } = await runtime(slow, 2);
    await pods.stop("POD_SCOPE_WORKLOAD", 60_000);
    const stops = (await invocations(dir, "crictl")).filter((c) => c.argv.includes("stop"));
    expect(stops).toHaveLength(4);
    const overlap = Math.max(...stops.map((s) => stops.filter((o) => o.t <= s.t && (o.end ?? 0) > s.t).length));
    expect(overlap).toBe(2);
  });

  it("reports what is still ready, and why; a crictl that fails is an error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kc-pods-"));
    dirs.push(dir);
    const stubborn: FakePod = { ...apiPod("stuck", "default"), stubborn: true };
    const pods = new PodSandboxes({ crictl: await fakeCrictl(dir, [...PODS, stubborn], []), concurrency: 4 });
    const r = await pods.stop("POD_SCOPE_WORKLOAD", 10_000);
    expect(r.remaining.map((p) => p.id)).toEqual(["sb-stuck"]);
    expect(r.stopped.map((p) => p.id)).not.toContain("sb-stuck");
    expect(r.message).toMatch(
      /1 pod sandbox\(es\) of scope workload still ready: default\/stuck: .*failed to stop sandbox/,
    );

    const broken = new PodSandboxes({ crictl: "/bin/false", concurrency: 4 });
    await expect(broken.stop("POD_SCOPE_ALL", 5000)).rejects.toMatchObject({ code: "SYSTEMD_FAILED" });
  });
});
