import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import type { CertificateInfo__Output } from "../shared/index.js";
import type { EtcdConfig } from "./layout.js";
import { componentArgv, flagValue, type StaticPod } from "./manifests.js";
import { findComponent } from "./layout.js";

// Only this block is ever parsed: files such as kubeadm's kubelet-client-current.pem hold the private key as well.
const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/;
// A certificate file is a few KiB; anything larger is not one.
const MAX_CERT_FILE_BYTES = 1024 * 1024;

const oneLine = (dn: string): string => dn.split("\n").filter(Boolean).join(", ");

/**
 * Path, subject, issuer and validity of the first certificate in `pem` (the leaf of a chain). Nothing else of the
 * text is looked at, so a key in the same file never leaves this function.
 */
export function describeCertificate(purpose: string, path: string, pem: string): CertificateInfo__Output {
  const block = CERTIFICATE_PEM.exec(pem)?.[0];
  if (!block) return failed(purpose, path, "no PEM certificate in it");
  try {
    const cert = new X509Certificate(block);
    return {
      purpose,
      path,
      subject: oneLine(cert.subject),
      issuer: oneLine(cert.issuer),
      notBeforeUnixMs: Date.parse(cert.validFrom),
      notAfterUnixMs: Date.parse(cert.validTo),
      error: "",
    };
  } catch (err) {
    return failed(purpose, path, `not a readable certificate: ${(err as Error).message}`);
  }
}

function failed(purpose: string, path: string, error: string): CertificateInfo__Output {
  return { purpose, path, subject: "", issuer: "", notBeforeUnixMs: 0, notAfterUnixMs: 0, error };
}

/** Reads and describes a certificate file; a file that cannot be read gives an entry with the reason. */
export async function readCertificate(purpose: string, path: string): Promise<CertificateInfo__Output> {
  if (path === "") return failed(purpose, path, "no path configured");
  try {
    const data = await readFile(path);
    if (data.length > MAX_CERT_FILE_BYTES) return failed(purpose, path, `${data.length} bytes, too large`);
    return describeCertificate(purpose, path, data.toString("utf8"));
  } catch (err) {
    return failed(purpose, path, (err as Error).message);
  }
}

const record = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * The client certificate a kubeconfig names for its current context's user (else its first user with one): a path
 * (relative to the kubeconfig, as kubectl resolves it) or embedded data.
 */
export function kubeconfigClientCert(
  text: string,
  kubeconfigPath: string,
): { path: string } | { embedded: string } | { error: string } {
  let doc: Record<string, unknown>;
  try {
    doc = record(parse(text, { maxAliasCount: 50 }) as unknown);
  } catch (err) {
    return { error: `not YAML: ${(err as Error).message.split("\n")[0] ?? ""}` };
  }
  const named = (list: unknown, name: unknown) =>
    (Array.isArray(list) ? list : []).map(record).find((e) => e.name === name);
  const context = record(named(doc.contexts, doc["current-context"])?.context);
  const users = (Array.isArray(doc.users) ? doc.users : []).map(record);
  const withCert = (u: Record<string, unknown>) => {
    const user = record(u.user);
    return typeof user["client-certificate"] === "string" || typeof user["client-certificate-data"] === "string";
  };
  const chosen = users.find((u) => u.name === context.user && withCert(u)) ?? users.find(withCert);
  const user = record(chosen?.user);
  if (typeof user["client-certificate-data"] === "string") {
    return { embedded: Buffer.from(user["client-certificate-data"], "base64").toString("utf8") };
  }
  if (typeof user["client-certificate"] === "string") {
    return { path: resolve(dirname(kubeconfigPath), user["client-certificate"]) };
  }
  return { error: "names no client certificate" };
}

/** Where the node's certificates are, as its layout and config say. */
export interface CertificateSources {
  etcd: EtcdConfig;
  staticPods: readonly StaticPod[];
  kubeletKubeconfig: string;
  /** Whether the kubelet's unit exists: a node with a kubelet must have its kubeconfig. */
  kubeletPresent: boolean;
  /** The agent's own certificate and CA as it serves them now (reloads change them), with their files' paths. */
  agent: { certPath: string; certPem: string; caPath: string; caPem: string };
}

/**
 * The certificates the cluster needs to come back: etcd's (server, peer, and the client credentials the agent uses),
 * the apiserver's (serving, kubelet client, etcd client, from its manifest's flags), the kubelet's client certificate
 * (from its kubeconfig), and the agent's own with its CA, as served. Only those this node has a configuration for are listed.
 */
export async function nodeCertificates(src: CertificateSources): Promise<CertificateInfo__Output[]> {
  const wanted: Array<[string, string]> = [];
  if (src.etcd.mode !== "none") {
    wanted.push(
      ["etcd-server", src.etcd.serverCertFile],
      ["etcd-peer", src.etcd.peerCertFile],
      ["etcd-client", src.etcd.certFile],
    );
  }
  const apiserver = findComponent(src.staticPods, "kube-apiserver");
  if (apiserver) {
    const argv = componentArgv(apiserver);
    wanted.push(
      ["apiserver-serving", flagValue(argv, "tls-cert-file") ?? ""],
      ["apiserver-kubelet-client", flagValue(argv, "kubelet-client-certificate") ?? ""],
      ["apiserver-etcd-client", flagValue(argv, "etcd-certfile") ?? ""],
    );
  }
  const entries: Array<Promise<CertificateInfo__Output | undefined>> = wanted.map(([purpose, path]) =>
    readCertificate(purpose, path),
  );
  entries.push(kubeletClient(src));
  entries.push(Promise.resolve(describeCertificate("kubecycle-agent", src.agent.certPath, src.agent.certPem)));
  // Each CA of the file: a bundle holds the old and the new CA while a CA is rolled.
  const cas = src.agent.caPem.match(new RegExp(CERTIFICATE_PEM.source, "g")) ?? [""];
  for (const ca of cas) entries.push(Promise.resolve(describeCertificate("kubecycle-ca", src.agent.caPath, ca)));
  const all = await Promise.all(entries);
  return all.filter((e): e is CertificateInfo__Output => e !== undefined);
}

async function kubeletClient(src: CertificateSources): Promise<CertificateInfo__Output | undefined> {
  const purpose = "kubelet-client";
  let text: string;
  try {
    text = await readFile(src.kubeletKubeconfig, "utf8");
  } catch (err) {
    // No kubelet and no kubeconfig: a node without Kubernetes, nothing to report.
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && !src.kubeletPresent) return undefined;
    return failed(purpose, src.kubeletKubeconfig, (err as Error).message);
  }
  const named = kubeconfigClientCert(text, src.kubeletKubeconfig);
  if ("error" in named) return failed(purpose, src.kubeletKubeconfig, named.error);
  if ("embedded" in named) return describeCertificate(purpose, `${src.kubeletKubeconfig} (embedded)`, named.embedded);
  return readCertificate(purpose, named.path);
}
