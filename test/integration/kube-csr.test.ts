// KubeCluster's CSR calls (coordinator/kube/cluster.ts) through the real @kubernetes/client-node against the lab's API
// simulator over a real etcd, local processes, no root: a kubelet's request (made by openssl) listed and judged,
// approved through the approval subresource, the approval read back with another client; a stale copy conflicts.
import { CertificatesV1Api, KubeConfig, type V1CertificateSigningRequest } from "@kubernetes/client-node";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { connectCluster, pendingKubeletCsrs } from "../../coordinator/index.js";
import { freePort, Lab, waitFor } from "../lab/kube/harness.js";

let lab: Lab;
let certs: CertificatesV1Api;
let kubeconfig: string;

beforeAll(async () => {
  lab = await Lab.create("kc-kube-csr-");
  try {
    const etcd = await lab.etcdCluster(1);
    const port = await freePort();
    lab.apiserver("apiserver", port, etcd);
    kubeconfig = join(lab.dir, "kubeconfig");
    await writeFile(kubeconfig, lab.pki.kubeconfig(`https://127.0.0.1:${port}`));
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    certs = kc.makeApiClient(CertificatesV1Api);
    await waitFor("the API", () => certs.listCertificateSigningRequest().then(() => true), 30_000);
  } catch (err) {
    console.error(lab.tail());
    await lab.destroy();
    throw err;
  }
}, 90_000);

afterAll(async () => {
  await lab?.destroy();
});

async function request(node: string, san: string): Promise<string> {
  const key = join(lab.dir, `${node}.key`);
  const out = join(lab.dir, `${node}.csr`);
  // prettier-ignore
  await promisify(execFile)("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", `/O=system:nodes/CN=system:node:${node}`, "-addext", `subjectAltName=${san}`, "-out", out]);
  return Buffer.from(await readFile(out)).toString("base64");
}

it("lists a kubelet's pending CSR, approves it through the approval subresource, and a stale copy conflicts", async () => {
  const body: V1CertificateSigningRequest = {
    apiVersion: "certificates.k8s.io/v1",
    kind: "CertificateSigningRequest",
    metadata: { name: "csr-w1" },
    spec: {
      request: await request("w1", "DNS:w1,IP:10.0.0.21"),
      signerName: "kubernetes.io/kubelet-serving",
      username: "system:node:w1",
      groups: ["system:nodes", "system:authenticated"],
      usages: ["digital signature", "key encipherment", "server auth"],
    },
  };
  await certs.createCertificateSigningRequest({ body });
  const cluster = connectCluster({ kubeconfig: [kubeconfig] });

  const listed = await cluster.listCsrs();
  const judged = pendingKubeletCsrs(listed, [{ name: "w1", addresses: ["10.0.0.21"] }]);
  expect(judged.map((c) => [c.name, c.approve, c.sans])).toEqual([["csr-w1", true, ["DNS:w1", "IP:10.0.0.21"]]]);

  const stale = listed.find((c) => c.metadata?.name === "csr-w1");
  if (!stale) throw new Error("csr-w1 not listed");
  await cluster.approveCsr(stale, "approved by a test");
  // Read back with another client: the condition is in the stored object, and the request is unchanged.
  const stored = await certs.readCertificateSigningRequest({ name: "csr-w1" });
  expect(stored.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
    ["Approved", "True", "KubecycleApprove", "approved by a test"],
  ]);
  expect(stored.spec.request).toBe(body.spec.request);
  expect(pendingKubeletCsrs(await cluster.listCsrs(), [{ name: "w1", addresses: ["10.0.0.21"] }])).toEqual([]);

  // The copy listed before the approval carries an older resourceVersion: approving it again is a conflict.
  await expect(cluster.approveCsr(stale, "again")).rejects.toMatchObject({ code: "CONFLICT" });
}, 60_000);
