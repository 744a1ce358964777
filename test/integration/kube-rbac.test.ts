// deploy/rbac.yaml against the API simulator's RBAC authorizer, over real HTTPS with real client certificates and a
// real etcd: the coordinator's own ClusterApi and ClusterLock, as the kubecycle operator (group kubecycle:operators),
// do everything a procedure does; what the manifest does not grant is Forbidden with the real apiserver's message;
// the audit log records each request with its decision. The whole end-to-end suite runs kubecycle under the same
// manifest (test/e2e/api-audit.ts checks that every grant is used).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiException, CertificatesV1Api, CoordinationV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterLock, connectCluster, type KubeCluster } from "../../coordinator/index.js";
import { REPO_ROOT } from "../lab/agent.js";
import { judge } from "../e2e/api-audit.js";
import { RbacPolicy, type AuditRecord } from "../lab/kube/apiserver/authz.js";
import { freePort, Lab, waitFor } from "../lab/kube/harness.js";

let lab: Lab;
let admin: CoreV1Api;
let operatorKc: KubeConfig;
let api: KubeCluster;
let auditLog: string;
let stateDir: string;
let etcd: Awaited<ReturnType<Lab["etcdCluster"]>>;
let adminConfig: KubeConfig;
const etcdOf = () => etcd;
const adminKc = () => adminConfig;

async function audit(): Promise<AuditRecord[]> {
  return (await readFile(auditLog, "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditRecord);
}

async function forbidden(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    expect((err as ApiException<unknown>).code).toBe(403);
    return (JSON.parse(String((err as ApiException<unknown>).body)) as { message: string }).message;
  }
  throw new Error("the call was allowed");
}

beforeAll(async () => {
  lab = await Lab.create("kc-kube-rbac-");
  stateDir = await mkdtemp(join(tmpdir(), "kc-rbac-state-"));
  try {
    etcd = await lab.etcdCluster(1);
    const port = await freePort();
    auditLog = join(lab.dir, "audit", "audit.jsonl");
    lab.apiserver("apiserver", port, etcd, [
      `--authorization-policy-file=${join(REPO_ROOT, "deploy", "rbac.yaml")}`,
      `--audit-log-path=${auditLog}`,
    ]);
    const server = `https://127.0.0.1:${port}`;
    const adminKc = new KubeConfig();
    adminKc.loadFromString(lab.pki.kubeconfig(server));
    adminConfig = adminKc;
    admin = adminKc.makeApiClient(CoreV1Api);
    await waitFor("the API server", () => admin.readNamespace({ name: "kube-system" }));
    await admin.createNode({ body: { metadata: { name: "n1" } } });
    await admin.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "web-1" },
        spec: { nodeName: "n1", containers: [{ name: "web", image: "registry.lab/web:1" }] },
      },
    });
    const file = join(lab.dir, "operator.kubeconfig");
    await writeFile(file, lab.pki.kubeconfig(server, "kubecycle-operator"), { mode: 0o600 });
    operatorKc = new KubeConfig();
    operatorKc.loadFromFile(file);
    api = connectCluster({ kubeconfig: [file] });
  } catch (err) {
    console.error(lab.tail());
    await lab.destroy();
    throw err;
  }
}, 90_000);

afterAll(async () => {
  await lab?.destroy();
  await rm(stateDir, { recursive: true, force: true });
});

describe("deploy/rbac.yaml", () => {
  it("grants the coordinator everything a procedure asks of the API", async () => {
    expect((await api.listNodes()).map((n) => n.metadata?.name)).toEqual(["n1"]);
    expect((await api.getNode("n1"))?.metadata?.name).toBe("n1");
    await api.patchNode("n1", { unschedulable: true, annotations: { "kubecycle.io/cordoned-by": "test" } });
    expect((await admin.readNode({ name: "n1" })).spec?.unschedulable).toBe(true);
    expect((await api.listPods({ node: "n1" })).map((p) => p.metadata?.name)).toEqual(["web-1"]);
    expect(await api.listPdbs()).toEqual([]);
    expect(await api.listCsrs()).toEqual([]);
    // The drain's watches, from its lists' versions: the node's pods by field selector, a controller's in its
    // namespace. Both see the eviction (web-1 Terminating: no kubelet here to end it).
    const stop = new AbortController();
    const seen: string[] = [];
    const scopes = [{ node: "n1" }, { namespace: "default" }];
    const lists = await Promise.all(scopes.map((scope) => api.listPodList(scope)));
    const watching = scopes.map((scope, i) =>
      api.watchPods(
        scope,
        lists[i]?.resourceVersion ?? "",
        (e) =>
          seen.push(
            `${e.type} ${e.pod.metadata?.name}${e.pod.metadata?.deletionTimestamp ? " terminating" : ""} ${scope.node ?? scope.namespace}`,
          ),
        stop.signal,
      ),
    );
    expect(await api.evictPod("default", "web-1")).toEqual({ kind: "evicted" });
    await waitFor("both watches to see web-1 terminating", () =>
      ["n1", "default"].every((s) => seen.includes(`MODIFIED web-1 terminating ${s}`)),
    );
    stop.abort();
    await Promise.all(watching);

    const lock = new ClusterLock(api, { op: "op-1", procedure: "node stop", target: "n1" }, { stateDir });
    await lock.acquire({ breakLock: false });
    expect((await api.getLease("kube-system", "kubecycle-lock"))?.spec?.holderIdentity).toContain("op-1");
    await lock.release();
    expect(await api.getLease("kube-system", "kubecycle-lock")).toBeUndefined();
  });

  it("refuses what it does not grant, with the real apiserver's message", async () => {
    const core = operatorKc.makeApiClient(CoreV1Api);
    const leases = operatorKc.makeApiClient(CoordinationV1Api);
    expect(await forbidden(() => core.deleteNode({ name: "n1" }))).toBe(
      'nodes "n1" is forbidden: User "kubecycle-operator" cannot delete resource "nodes" in API group "" at the cluster scope',
    );
    expect(await forbidden(() => core.readNamespacedPod({ namespace: "kube-system", name: "x" }))).toContain(
      'cannot get resource "pods" in API group "" in the namespace "kube-system"',
    );
    // The lock's Lease and no other: not in another namespace, not another name, not a list.
    const lease = { metadata: { name: "kubecycle-lock" }, spec: { holderIdentity: "x" } };
    expect(await forbidden(() => leases.createNamespacedLease({ namespace: "default", body: lease }))).toContain(
      'cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "default"',
    );
    expect(
      await forbidden(() => leases.readNamespacedLease({ namespace: "kube-system", name: "kube-scheduler" })),
    ).toContain('leases.coordination.k8s.io "kube-scheduler" is forbidden');
    expect(await forbidden(() => leases.listNamespacedLease({ namespace: "kube-system" }))).toContain("cannot list");
    expect(
      await forbidden(() => core.createNamespacedPod({ namespace: "default", body: { metadata: { name: "p" } } })),
    ).toContain('cannot create resource "pods"');
  });

  it("audits every request of the operator with its decision, and none of the admin's", async () => {
    const records = await audit();
    expect(records.every((r) => r.user === "kubecycle-operator" && r.groups.includes("kubecycle:operators"))).toBe(
      true,
    );
    const seen = (allowed: boolean) =>
      new Set(
        records
          .filter((r) => r.allowed === allowed)
          .map(
            (r) =>
              `${r.verb} ${r.apiGroup}/${r.resource}${r.subresource ? `/${r.subresource}` : ""} ${r.namespace ?? "-"}`,
          ),
      );
    expect([...seen(true)].sort()).toEqual(
      [
        "create /pods/eviction default",
        "create coordination.k8s.io/leases kube-system",
        "delete coordination.k8s.io/leases kube-system",
        "get /nodes -",
        "get coordination.k8s.io/leases kube-system",
        "list /nodes -",
        "list /pods -",
        "list /pods default",
        "watch /pods -",
        "watch /pods default",
        "list certificates.k8s.io/certificatesigningrequests -",
        "list policy/poddisruptionbudgets -",
        "patch /nodes -",
      ].sort(),
    );
    expect(seen(false).has("delete /nodes -")).toBe(true);
  });

  it("names a call the manifest refused, and (once every end-to-end file ran) each grant never used", async () => {
    const policy = RbacPolicy.fromFile(join(REPO_ROOT, "deploy", "rbac.yaml"));
    const drops = [{ file: "one.test.ts", records: await audit() }];
    const some = judge(policy, drops, ["one.test.ts", "two.test.ts"]);
    expect(some.refused).toContain("delete nodes (n1)");
    expect(some.unused).toBeUndefined();
    // This file renewed no lock, so the Lease's update was never asked for.
    expect(judge(policy, drops, ["one.test.ts"]).unused).toEqual([
      "Role kube-system/kubecycle-lock: update leases kubecycle-lock",
    ]);
  });
});

describe("deploy/rbac-approve-kubelet-csrs.yaml, the opt-in for --approve-kubelet-csrs", () => {
  /** An API server over the same etcd authorizing by `manifests` (a combined policy file); the operator's ClusterApi. */
  async function operatorUnder(manifests: string[]): Promise<KubeCluster> {
    const policy = join(lab.dir, `policy-${manifests.length}-${Date.now()}.yaml`);
    await writeFile(policy, manifests.join("\n---\n"));
    const port = await freePort();
    lab.apiserver(`apiserver-${port}`, port, etcdOf(), [
      `--authorization-policy-file=${policy}`,
      `--audit-log-path=${join(lab.dir, "audit", `audit-${port}.jsonl`)}`,
    ]);
    const file = join(lab.dir, `operator-${port}.kubeconfig`);
    await writeFile(file, lab.pki.kubeconfig(`https://127.0.0.1:${port}`, "kubecycle-operator"), { mode: 0o600 });
    const cluster = connectCluster({ kubeconfig: [file] });
    await waitFor("the API server", () => cluster.listCsrs().then(() => true));
    return cluster;
  }

  it("without it the approval is Forbidden; with its update but not the signer's approve, admission refuses naming the signer; with it, approved", async () => {
    const rbac = await readFile(join(REPO_ROOT, "deploy", "rbac.yaml"), "utf8");
    const optIn = await readFile(join(REPO_ROOT, "deploy", "rbac-approve-kubelet-csrs.yaml"), "utf8");
    const certs = adminKc().makeApiClient(CertificatesV1Api);
    await certs.createCertificateSigningRequest({
      body: {
        apiVersion: "certificates.k8s.io/v1",
        kind: "CertificateSigningRequest",
        metadata: { name: "csr-n1" },
        spec: {
          request: Buffer.from("not read by the authorizer").toString("base64"),
          signerName: "kubernetes.io/kubelet-serving",
          usages: ["digital signature", "server auth"],
        },
      },
    });
    const approve = async (cluster: KubeCluster) => {
      const csr = (await cluster.listCsrs()).find((c) => c.metadata?.name === "csr-n1");
      if (!csr) throw new Error("csr-n1 not listed");
      return cluster.approveCsr(csr, "by the test");
    };

    await expect(approve(await operatorUnder([rbac]))).rejects.toThrow(
      /cannot update resource "certificatesigningrequests\/approval"/,
    );
    // The opt-in's first rule alone: RBAC lets the update through, the CertificateApproval admission does not.
    const updateOnly = optIn.replace(/\n {2}# The signers kubecycle approves for[\s\S]*?verbs: \[approve\]\n/, "\n");
    expect(updateOnly).not.toContain("signers");
    await expect(approve(await operatorUnder([rbac, updateOnly]))).rejects.toThrow(
      /user not permitted to approve requests with signerName "kubernetes.io\/kubelet-serving"/,
    );
    const approved = await approve(await operatorUnder([rbac, optIn]));
    expect(approved.status?.conditions?.map((c) => c.type)).toEqual(["Approved"]);
  }, 60_000);
});
