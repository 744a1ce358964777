// The kubelet stand-in's certificates and the controller-manager stand-in's csrsigning controller, as local
// processes over a real etcd (fast tier, no root): a kubelet whose client certificate is past its rotation deadline
// and whose serving certificate is missing asks for both through CSRs with its own identity (the API records the
// requester, whatever the body says), gets nothing until someone approves, then the controller-manager signs with the
// cluster CA and the kubelet stores what it got; a request its signer may not issue fails; a kubelet whose client
// certificate expired cannot ask and exits as the real one does without a bootstrap kubeconfig.
import { CertificatesV1Api, KubeConfig, type V1CertificateSigningRequest } from "@kubernetes/client-node";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { pendingKubeletCsrs } from "../../coordinator/index.js";
import { issueDated } from "../lab/certs.js";
import { freePort, Lab, waitFor, type Proc } from "../lab/kube/harness.js";

const DAY = 86_400_000;
let lab: Lab;
let certs: CertificatesV1Api;
let apiPort: number;
let ca: X509Certificate;
const caFiles = (): { cert: string; key: string } => ({ cert: lab.pkiFile("caCert"), key: lab.pkiFile("caKey") });

beforeAll(async () => {
  lab = await Lab.create("kc-kubelet-certs-");
  try {
    const etcd = await lab.etcdCluster(1);
    apiPort = await freePort();
    lab.apiserver("apiserver", apiPort, etcd);
    lab.controllerManager("kcm", await freePort(), etcd, 3, [
      `--cluster-signing-cert-file=${lab.pkiFile("caCert")}`,
      `--cluster-signing-key-file=${lab.pkiFile("caKey")}`,
    ]);
    const kubeconfig = join(lab.dir, "kubeconfig");
    await writeFile(kubeconfig, lab.pki.kubeconfig(`https://127.0.0.1:${apiPort}`));
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    certs = kc.makeApiClient(CertificatesV1Api);
    ca = new X509Certificate(await readFile(lab.pkiFile("caCert")));
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

/** Starts a kubelet for `node` whose client certificate store holds `clientPem`, rotating both certificates. */
async function kubelet(node: string, clientPem: string): Promise<{ proc: Proc; certDir: string }> {
  const certDir = join(lab.dir, "nodes", node, "pki");
  await mkdir(certDir, { recursive: true });
  const current = join(certDir, "kubelet-client-current.pem");
  await writeFile(current, clientPem, { mode: 0o600 });
  const { endpoint } = await lab.runtime(node);
  const proc = await lab.kubelet(node, {
    servers: [`https://127.0.0.1:${apiPort}`],
    runtimeEndpoint: endpoint,
    clientCert: { cert: current, key: current },
    extra: [
      `--cert-dir=${certDir}`,
      "--rotate-certificates=true",
      "--rotate-server-certificates=true",
      `--bootstrap-kubeconfig=${join(certDir, "bootstrap-kubelet.conf")}`,
    ],
  });
  return { proc, certDir };
}

const bySigner = (all: V1CertificateSigningRequest[], signer: string) =>
  all.filter((c) => c.spec.signerName === signer);

async function approve(csr: V1CertificateSigningRequest): Promise<void> {
  const body = structuredClone(csr);
  body.status = {
    conditions: [{ type: "Approved", status: "True", reason: "Test", message: "approved by the test" }],
  };
  await certs.replaceCertificateSigningRequestApproval({ name: csr.metadata?.name ?? "", body });
}

async function issued(name: string): Promise<X509Certificate> {
  const pem = await waitFor(
    `a certificate in ${name}'s status`,
    async () => (await certs.readCertificateSigningRequest({ name })).status?.certificate,
    20_000,
  );
  return new X509Certificate(Buffer.from(pem, "base64"));
}

/** The store's current file: a symlink to the newest kubelet-<kind>-<time>.pem, certificate then key. */
async function stored(certDir: string, kind: "client" | "server"): Promise<X509Certificate> {
  const current = join(certDir, `kubelet-${kind}-current.pem`);
  const target = await waitFor(`${current} to point to a new file`, () => readlink(current).catch(() => undefined));
  expect(target).toMatch(new RegExp(`^kubelet-${kind}-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}\\.pem$`));
  const text = await readFile(current, "utf8");
  expect(text).toMatch(/-----BEGIN EC PRIVATE KEY-----/);
  return new X509Certificate(text);
}

it("a due client certificate and a missing serving one: CSRs by the node itself, signed only once approved, then stored", async () => {
  // Issued 300 days ago for 310: past 80% of its life, not expired.
  const due = await issueDated(caFiles(), {
    commonName: "system:node:lab",
    organization: "system:nodes",
    usage: "client",
    notBefore: new Date(Date.now() - 300 * DAY),
    notAfter: new Date(Date.now() + 10 * DAY),
  });
  const { certDir } = await kubelet("lab", due);

  const pending = await waitFor(
    "the kubelet's client and serving CSRs",
    async () => {
      const items = (await certs.listCertificateSigningRequest()).items;
      const c = bySigner(items, "kubernetes.io/kube-apiserver-client-kubelet");
      const s = bySigner(items, "kubernetes.io/kubelet-serving");
      return c.length === 1 && s.length === 1 ? { client: c[0], serving: s[0] } : undefined;
    },
    20_000,
  );
  const client = pending.client ?? expect.fail("no client CSR");
  const serving = pending.serving ?? expect.fail("no serving CSR");
  for (const c of [client, serving]) {
    expect(c.spec.username).toBe("system:node:lab");
    expect(c.spec.groups).toEqual(["system:nodes", "system:authenticated"]);
    expect(c.metadata?.generateName).toBe("csr-");
  }
  expect(client.spec.usages).toEqual(["digital signature", "client auth"]);
  expect(serving.spec.usages).toEqual(["digital signature", "server auth"]);
  // What kubecycle makes of them: each asked by the node itself, for its name and address.
  const inventory = [{ name: "lab", addresses: ["127.0.0.1"] }];
  const judged = pendingKubeletCsrs([client, serving], inventory)
    .map((j) => [j.kind, j.approve, j.sans, j.reasons])
    .sort();
  expect(judged).toEqual([
    ["client", true, [], []],
    ["serving", true, ["DNS:lab", "IP:127.0.0.1"], []],
  ]);
  // Nothing is signed before someone approves (the signer has had many rounds by now).
  for (const c of [client, serving]) {
    const now = await certs.readCertificateSigningRequest({ name: c.metadata?.name ?? "" });
    expect(now.status?.certificate).toBeUndefined();
  }

  await approve(serving);
  await approve(client);
  const s = await issued(serving.metadata?.name ?? "");
  const c = await issued(client.metadata?.name ?? "");
  for (const x of [s, c]) {
    expect(x.verify(ca.publicKey)).toBe(true);
    expect(x.subject).toBe("O=system:nodes\nCN=system:node:lab");
    // --cluster-signing-duration's default, one year.
    expect(Date.parse(x.validTo) - Date.now()).toBeGreaterThan(364 * DAY);
  }
  expect(s.subjectAltName).toBe("DNS:lab, IP Address:127.0.0.1");
  expect(s.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
  expect(c.subjectAltName).toBeUndefined();
  expect(c.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);

  // The kubelet stored them, and the client certificate is in use: its key is the one it made.
  expect((await stored(certDir, "server")).serialNumber).toBe(s.serialNumber);
  const storedClient = await stored(certDir, "client");
  expect(storedClient.serialNumber).toBe(c.serialNumber);
  await waitFor("the kubelet to use its new client certificate", async () =>
    (await readFile(join(lab.dir, "logs", "kubelet-lab.log"), "utf8")).includes("the new client certificate is in use"),
  );
  // No further request: the new certificates are far from their deadlines.
  expect((await certs.listCertificateSigningRequest()).items).toHaveLength(2);
}, 60_000);

it("the requester is who created the CSR, and a request the kubelet signers may not issue fails", async () => {
  // A client certificate request with a name in it, sent by the admin who claims to be the node.
  const key = join(lab.dir, "forged.key");
  // prettier-ignore
  const req = execFileSync("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", "/O=system:nodes/CN=system:node:lab", "-addext", "subjectAltName=DNS:evil.example"], { stdio: ["ignore", "pipe", "ignore"] });
  const created = await certs.createCertificateSigningRequest({
    body: {
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name: "forged" },
      spec: {
        request: req.toString("base64"),
        signerName: "kubernetes.io/kube-apiserver-client-kubelet",
        usages: ["digital signature", "client auth"],
        username: "system:node:lab",
        groups: ["system:nodes"],
      },
    },
  });
  expect(created.spec.username).toBe("kubernetes-admin");
  expect(created.spec.groups).toEqual(["system:masters", "system:authenticated"]);
  await approve(created);
  const failed = await waitFor(
    "the signer's verdict on the forged CSR",
    async () => {
      const c = await certs.readCertificateSigningRequest({ name: "forged" });
      return c.status?.conditions?.find((x) => x.type === "Failed");
    },
    20_000,
  );
  expect(failed).toMatchObject({ status: "True", reason: "SignerValidationFailure" });
  expect(failed.message).toMatch(/subjectAltNames are not allowed/);
  expect((await certs.readCertificateSigningRequest({ name: "forged" })).status?.certificate).toBeUndefined();
}, 40_000);

it("a client certificate that expired during the outage: no CSR, the kubelet exits as without a bootstrap kubeconfig", async () => {
  const expired = await issueDated(caFiles(), {
    commonName: "system:node:old",
    organization: "system:nodes",
    usage: "client",
    notBefore: new Date(Date.now() - 400 * DAY),
    notAfter: new Date(Date.now() - 30 * DAY),
  });
  const before = (await certs.listCertificateSigningRequest()).items.length;
  const { proc } = await kubelet("old", expired);
  await proc.exited;
  expect(proc.child.exitCode).toBe(1);
  const log = await readFile(proc.log, "utf8");
  expect(log).toMatch(/part of the existing bootstrap client certificate in \S+ is expired/);
  expect(log).toMatch(/unable to load bootstrap kubeconfig: stat \S+bootstrap-kubelet.conf: no such file or directory/);
  expect((await certs.listCertificateSigningRequest()).items).toHaveLength(before);
}, 30_000);
