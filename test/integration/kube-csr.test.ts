// KubeCluster's CSR calls (coordinator/kube/cluster.ts) through the real @kubernetes/client-node against the lab's API
// simulator over a real etcd, local processes, no root: a kubelet's request (made by openssl) listed and judged,
// approved through the approval subresource, the approval read back with another client; a stale copy conflicts. The
// request is sent with the kubelet's client certificate (CN=system:node:lab): the API records its sender as requester.
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
/** The same API as the kubelet (the harness's shared kubelet certificate, system:node:lab). */
let asNode: CertificatesV1Api;
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
    const node = new KubeConfig();
    node.loadFromOptions({
      clusters: [{ name: "lab", server: `https://127.0.0.1:${port}`, caFile: lab.pkiFile("caCert") }],
      users: [{ name: "node", certFile: lab.pkiFile("kubeletCert"), keyFile: lab.pkiFile("kubeletKey") }],
      contexts: [{ name: "node", cluster: "lab", user: "node" }],
      currentContext: "node",
    });
    asNode = node.makeApiClient(CertificatesV1Api);
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
    metadata: { name: "csr-lab" },
    spec: {
      request: await request("lab", "DNS:lab,IP:10.0.0.21"),
      signerName: "kubernetes.io/kubelet-serving",
      usages: ["digital signature", "key encipherment", "server auth"],
    },
  };
  const created = await asNode.createCertificateSigningRequest({ body });
  expect([created.spec.username, created.spec.groups]).toEqual([
    "system:node:lab",
    ["system:nodes", "system:authenticated"],
  ]);
  const cluster = connectCluster({ kubeconfig: [kubeconfig] });

  const listed = await cluster.listCsrs();
  const judged = pendingKubeletCsrs(listed, [{ name: "lab", addresses: ["10.0.0.21"] }]);
  expect(judged.map((c) => [c.name, c.approve, c.sans])).toEqual([["csr-lab", true, ["DNS:lab", "IP:10.0.0.21"]]]);

  const stale = listed.find((c) => c.metadata?.name === "csr-lab");
  if (!stale) throw new Error("csr-lab not listed");
  await cluster.approveCsr(stale, "approved by a test");
  // Read back with another client: the condition is in the stored object, and the request is unchanged.
  const stored = await certs.readCertificateSigningRequest({ name: "csr-lab" });
  expect(stored.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
    ["Approved", "True", "KubecycleApprove", "approved by a test"],
  ]);
  expect(stored.spec.request).toBe(body.spec.request);
  expect(pendingKubeletCsrs(await cluster.listCsrs(), [{ name: "lab", addresses: ["10.0.0.21"] }])).toEqual([]);

  // The copy listed before the approval carries an older resourceVersion: approving it again is a conflict.
  await expect(cluster.approveCsr(stale, "again")).rejects.toMatchObject({ code: "CONFLICT" });
}, 60_000);
