import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeCertificate, kubeconfigClientCert, nodeCertificates, readCertificate } from "./certificates.js";
import { etcdFromManifest, type EtcdConfig } from "./layout.js";
import { parseStaticPod } from "./manifests.js";
import { kubeadmApiserverYaml, kubeadmEtcdYaml, kubeletConf } from "./testing/layouts.js";
import { createTestCa, opensslDate, type TestCa } from "./testing/pki.js";

let dir: string;
let ca: TestCa;
const day = 86_400_000;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-certs-"));
  ca = await createTestCa(join(dir, "ca"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Seconds precision, as certificates carry it. */
/** The agent's identity as it would serve it: the certificate's and the CA's text. */
async function served(certPath: string) {
  return {
    certPath,
    certPem: await readFile(certPath, "utf8"),
    caPath: ca.caCert,
    caPem: await readFile(ca.caCert, "utf8"),
  };
}

const at = (ms: number) => Math.floor(ms / 1000) * 1000;

describe("describeCertificate", () => {
  it("reads subject, issuer and validity of a real certificate", async () => {
    const start = at(Date.now() - 10 * day);
    const end = at(Date.now() + 300 * day);
    const { cert } = await ca.issue("kubelet", {
      subject: "/O=system:nodes/CN=system:node:master-1",
      startDate: opensslDate(new Date(start)),
      endDate: opensslDate(new Date(end)),
      keyType: "rsa",
    });
    expect(describeCertificate("kubelet-client", cert, await readFile(cert, "utf8"))).toEqual({
      purpose: "kubelet-client",
      path: cert,
      subject: "O=system:nodes, CN=system:node:master-1",
      issuer: "CN=kubecycle-test-ca",
      notBeforeUnixMs: start,
      notAfterUnixMs: end,
      error: "",
    });
  });

  it("reads an expired certificate's dates as they are", async () => {
    const end = at(Date.now() - 2 * day);
    const { cert } = await ca.issue("expired", {
      startDate: opensslDate(new Date(Date.now() - 400 * day)),
      endDate: opensslDate(new Date(end)),
    });
    const info = await readCertificate("etcd-peer", cert);
    expect(info.error).toBe("");
    expect(info.notAfterUnixMs).toBe(end);
    expect(info.notAfterUnixMs).toBeLessThan(Date.now());
  });

  it("takes the certificate out of a file that also holds the key, and nothing of the key", async () => {
    const { cert, key } = await ca.issue("combined", { subject: "/O=system:nodes/CN=system:node:w1" });
    const pemFile = join(dir, "kubelet-client-current.pem");
    // kubeadm's rotating kubelet certificate: the certificate and its private key in one file.
    const keyText = await readFile(key, "utf8");
    await writeFile(pemFile, (await readFile(cert, "utf8")) + keyText);
    const info = await readCertificate("kubelet-client", pemFile);
    expect(info.subject).toBe("O=system:nodes, CN=system:node:w1");
    const wire = JSON.stringify(info);
    expect(wire).not.toContain("PRIVATE KEY");
    const keyBody = keyText.split("\n").filter((l) => l && !l.startsWith("-----"));
    for (const line of keyBody) expect(wire).not.toContain(line);
  });

  it("gives an entry with the reason for a file it cannot read or that holds no certificate", async () => {
    expect(await readCertificate("etcd-server", join(dir, "missing.crt"))).toMatchObject({
      purpose: "etcd-server",
      subject: "",
      notAfterUnixMs: 0,
      error: expect.stringContaining("ENOENT"),
    });
    const { key } = await ca.issue("keyonly");
    expect((await readCertificate("etcd-server", key)).error).toBe("no PEM certificate in it");
    expect((await readCertificate("etcd-server", "")).error).toBe("no path configured");
  });
});

describe("kubeconfigClientCert", () => {
  it("follows the current context's user to a path, relative to the kubeconfig", () => {
    const text = `apiVersion: v1
kind: Config
current-context: b
contexts:
- name: a
  context: { cluster: c, user: ua }
- name: b
  context: { cluster: c, user: ub }
users:
- name: ua
  user: { client-certificate: /a.crt }
- name: ub
  user: { client-certificate: pki/b.crt }
`;
    expect(kubeconfigClientCert(text, "/etc/kubernetes/kubelet.conf")).toEqual({ path: "/etc/kubernetes/pki/b.crt" });
  });

  it("reads embedded data", () => {
    const text = `users:\n- name: u\n  user:\n    client-certificate-data: ${Buffer.from("PEM TEXT").toString("base64")}\n`;
    expect(kubeconfigClientCert(text, "/k")).toEqual({ embedded: "PEM TEXT" });
  });

  it("says when it names none", () => {
    expect(kubeconfigClientCert("users:\n- name: u\n  user:\n    token: abc\n", "/k")).toEqual({
      error: "names no client certificate",
    });
    expect(kubeconfigClientCert("users: [", "/k")).toMatchObject({ error: expect.stringContaining("not YAML") });
  });
});

describe("nodeCertificates", () => {
  it("lists a kubeadm master's certificates from its manifests and kubelet.conf, never a key", async () => {
    const pki = join(dir, "kubeadm-pki");
    const issue = async (rel: string, subject: string) => {
      const { cert } = await ca.issue(rel.replaceAll("/", "_"), { subject });
      await writeFile(join(pki, rel), await readFile(cert));
    };
    await mkdir(join(pki, "etcd"), { recursive: true });
    await issue("etcd/server.crt", "/CN=master-1");
    await issue("etcd/healthcheck-client.crt", "/CN=kube-etcd-healthcheck-client");
    await writeFile(join(pki, "etcd/healthcheck-client.key"), "key");
    await issue("apiserver.crt", "/CN=kube-apiserver");
    await issue("apiserver-kubelet-client.crt", "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client");
    await issue("apiserver-etcd-client.crt", "/CN=kube-apiserver-etcd-client");
    // The peer certificate is missing on this node.
    const { cert: kubeletCert, key: kubeletKey } = await ca.issue("kubelet-current", {
      subject: "/O=system:nodes/CN=system:node:master-1",
    });
    const current = join(dir, "kubelet-client-current.pem");
    await writeFile(current, (await readFile(kubeletCert, "utf8")) + (await readFile(kubeletKey, "utf8")));
    const kubeconfig = join(dir, "kubelet.conf");
    await writeFile(kubeconfig, kubeletConf({ server: "https://10.0.0.11:6443", clientCert: current }));
    const { cert: agentCert } = await ca.issue("agent", { subject: "/O=kubecycle:agent/CN=master-1" });

    const etcd = await etcdFromManifest(
      parseStaticPod(kubeadmEtcdYaml({ name: "master-1", ip: "10.0.0.11", pki }), "/m/etcd.yaml"),
      pki,
    );
    const certs = await nodeCertificates({
      etcd,
      staticPods: [parseStaticPod(kubeadmApiserverYaml({ ip: "10.0.0.11", pki }), "/m/kube-apiserver.yaml")],
      kubeletKubeconfig: kubeconfig,
      kubeletPresent: true,
      agent: await served(agentCert),
    });
    expect(certs.map((c) => [c.purpose, c.path, c.subject || c.error.slice(0, 6)])).toEqual([
      ["etcd-server", `${pki}/etcd/server.crt`, "CN=master-1"],
      ["etcd-peer", `${pki}/etcd/peer.crt`, "ENOENT"],
      ["etcd-client", `${pki}/etcd/healthcheck-client.crt`, "CN=kube-etcd-healthcheck-client"],
      ["apiserver-serving", `${pki}/apiserver.crt`, "CN=kube-apiserver"],
      [
        "apiserver-kubelet-client",
        `${pki}/apiserver-kubelet-client.crt`,
        "O=kubeadm:cluster-admins, CN=kube-apiserver-kubelet-client",
      ],
      ["apiserver-etcd-client", `${pki}/apiserver-etcd-client.crt`, "CN=kube-apiserver-etcd-client"],
      ["kubelet-client", current, "O=system:nodes, CN=system:node:master-1"],
      ["kubecycle-agent", agentCert, "O=kubecycle:agent, CN=master-1"],
      ["kubecycle-ca", ca.caCert, "CN=kubecycle-test-ca"],
    ]);
    expect(JSON.stringify(certs)).not.toContain("PRIVATE KEY");
  });

  it("a node without etcd, apiserver or kubelet lists the agent's certificate only", async () => {
    const { cert } = await ca.issue("agent-worker", { subject: "/O=kubecycle:agent/CN=w1" });
    const none = { mode: "none" } as EtcdConfig;
    const certs = await nodeCertificates({
      etcd: none,
      staticPods: [],
      kubeletKubeconfig: join(dir, "no-such-kubelet.conf"),
      kubeletPresent: false,
      agent: await served(cert),
    });
    expect(certs.map((c) => c.purpose)).toEqual(["kubecycle-agent", "kubecycle-ca"]);
  });

  it("a kubelet without its kubeconfig is reported", async () => {
    const certs = await nodeCertificates({
      etcd: { mode: "none" } as EtcdConfig,
      staticPods: [],
      kubeletKubeconfig: join(dir, "no-such-kubelet.conf"),
      kubeletPresent: true,
      agent: await served((await ca.issue("agent-w2", { subject: "/O=kubecycle:agent/CN=w2" })).cert),
    });
    expect(certs.map((c) => [c.purpose, c.error.slice(0, 6)])).toEqual([
      ["kubelet-client", "ENOENT"],
      ["kubecycle-agent", ""],
      ["kubecycle-ca", ""],
    ]);
  });
});
