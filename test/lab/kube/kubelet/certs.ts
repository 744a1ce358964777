// The kubelet stand-in's certificate manager, after client-go's util/certificate and the kubelet's
// pkg/kubelet/certificate: a certificate past its rotation deadline (the real one picks 70-90% of its lifetime at
// random; here 80%), expired or missing is replaced by a new key and a CertificateSigningRequest that the kubelet
// posts with its own client identity and then waits on, polling, until it is issued (then written to the store and
// used), denied or failed (then asked again after a pause, with a new key, as the real manager backs off).
// - client (--rotate-certificates): signer kubernetes.io/kube-apiserver-client-kubelet, CN=system:node:NAME,
//   O=system:nodes, no names, usages digital signature + client auth (an ECDSA key: no key encipherment). Only a
//   certificate that still works can ask: an expired one cannot authenticate, and the real kubelet then needs its
//   bootstrap kubeconfig, which kubeadm deletes after joining (see main.ts).
// - serving (--rotate-server-certificates, kubeadm's serverTLSBootstrap): signer kubernetes.io/kubelet-serving, the
//   same subject, DNS:<node name> and IP:<node ip>, usages digital signature + server auth. kube-controller-manager
//   never approves these itself. The stand-in serves nothing with it (no :10250): it is kept in the store only.
// The store is the real one's layout: <cert-dir>/kubelet-{client,server}-<time>.pem (certificate, then key) and the
// symlink kubelet-{client,server}-current.pem swapped atomically to the newest.
import { spawn } from "node:child_process";
import { X509Certificate, generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeClient } from "../lib/kubeclient.js";
import { errMsg, type Log } from "../lib/log.js";

export const CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet";
export const SERVING_SIGNER = "kubernetes.io/kubelet-serving";

/** A certificate and its key, as read from one PEM file of the store. */
export interface Pair {
  cert: Buffer;
  key: Buffer;
  x509: X509Certificate;
}

const CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/;
const KEY_RE = /-----BEGIN (?:EC |RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:EC |RSA )?PRIVATE KEY-----\n?/;

/** Reads a PEM file holding a certificate (and maybe its key; else `keyFile`'s). Undefined when missing or unreadable. */
export async function readPair(certFile: string, keyFile = certFile): Promise<Pair | undefined> {
  try {
    const text = await readFile(certFile, "utf8");
    const keyText = keyFile === certFile ? text : await readFile(keyFile, "utf8");
    const cert = CERT_RE.exec(text)?.[0];
    const key = KEY_RE.exec(keyText)?.[0];
    if (!cert || !key) return undefined;
    return { cert: Buffer.from(cert), key: Buffer.from(key), x509: new X509Certificate(cert) };
  } catch {
    return undefined;
  }
}

/** When a certificate is due for rotation: 80% of its lifetime (client-go jitters between 70% and 90%). */
export function rotationDeadline(x509: X509Certificate): number {
  const from = Date.parse(x509.validFrom);
  const to = Date.parse(x509.validTo);
  return from + 0.8 * (to - from);
}

export function isExpired(x509: X509Certificate, now = Date.now()): boolean {
  return now >= Date.parse(x509.validTo) || now < Date.parse(x509.validFrom);
}

/** Runs openssl with `input` on stdin; its stdout. */
function openssl(args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`openssl ${args[0]}: ${err.trim()}`))));
    child.stdin.end(input);
  });
}

/** A new ECDSA P-256 key (the kubelet's kind) and a PKCS#10 request for `subject` with `sans`, both PEM. */
export async function newRequest(subject: string, sans: string[]): Promise<{ key: string; csr: string }> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const key = privateKey.export({ type: "sec1", format: "pem" }).toString();
  const dir = await mkdtemp(join(tmpdir(), "kubelet-csr-"));
  try {
    await writeFile(join(dir, "key.pem"), key, { mode: 0o600 });
    // The request has no extension but its names.
    // prettier-ignore
    const csr = await openssl(["req", "-new", "-key", join(dir, "key.pem"), "-subj", subject, ...(sans.length ? ["-addext", `subjectAltName=${sans.join(",")}`] : [])], "");
    return { key, csr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes a new certificate and key to the store and points `<name>-current.pem` at it; returns the current path. */
export async function storeUpdate(certDir: string, name: string, cert: string, key: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/\..*$/, "").replace(/[T:]/g, "-");
  const file = `${name}-${stamp}.pem`;
  const current = join(certDir, `${name}-current.pem`);
  await writeFile(join(certDir, file), `${cert.trimEnd()}\n${key.trimEnd()}\n`, { mode: 0o600 });
  const tmp = `${current}.tmp-${process.pid}`;
  await rm(tmp, { force: true });
  await symlink(file, tmp);
  await rename(tmp, current);
  return current;
}

interface CsrStatus {
  certificate?: string;
  conditions?: Array<{ type: string; status?: string; reason?: string; message?: string }>;
}

/** How one kind of certificate is asked for. */
export interface Kind {
  /** "client" or "serving", for logs. */
  what: string;
  signerName: string;
  usages: string[];
  /** The store's base name: kubelet-client, kubelet-server. */
  storeName: string;
  sans: string[];
}

/** Options of {@link requestCertificate}. */
export interface RequestOptions {
  api: KubeClient;
  nodeName: string;
  log: Log;
  /** False once the kubelet stops: the wait ends. */
  running: () => boolean;
  nap: (ms: number) => Promise<void>;
  /** How long one request is waited on before asking again with a new key. Default 15 minutes, as the real one. */
  waitTimeoutMs?: number;
}

/**
 * Asks for a certificate of `kind` until one is issued: a new key and CSR, posted (retried while the API does not
 * answer), then its status polled every second. Returns the certificate and key (PEM), or undefined when stopped.
 */
export async function requestCertificate(
  kind: Kind,
  o: RequestOptions,
): Promise<{ cert: string; key: string } | undefined> {
  const subject = `/O=system:nodes/CN=system:node:${o.nodeName}`;
  let backoffMs = 1000;
  while (o.running()) {
    try {
      const { key, csr } = await newRequest(subject, kind.sans);
      const created = await o.api.request<{ metadata: { name: string } }>(
        "POST",
        "/apis/certificates.k8s.io/v1/certificatesigningrequests",
        {
          apiVersion: "certificates.k8s.io/v1",
          kind: "CertificateSigningRequest",
          metadata: { generateName: "csr-" },
          spec: { request: Buffer.from(csr).toString("base64"), signerName: kind.signerName, usages: kind.usages },
        },
      );
      const name = created.metadata.name;
      o.log.info(`waiting for the ${kind.what} certificate to be issued`, { csr: name, signer: kind.signerName });
      const end = Date.now() + (o.waitTimeoutMs ?? 15 * 60_000);
      while (o.running() && Date.now() < end) {
        const got = await o.api
          .request<{ status?: CsrStatus }>("GET", `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}`)
          .catch(() => undefined);
        const st = got?.status;
        const done = st?.conditions?.find((c) => (c.type === "Denied" || c.type === "Failed") && c.status !== "False");
        if (done)
          throw new Error(
            `certificate signing request ${name} is ${done.type.toLowerCase()}, reason: ${done.reason ?? ""}, message: ${done.message ?? ""}`,
          );
        if (st?.certificate) {
          o.log.info(`${kind.what} certificate issued`, { csr: name });
          return { cert: Buffer.from(st.certificate, "base64").toString(), key };
        }
        await o.nap(1000);
      }
      if (o.running()) o.log.warn(`no ${kind.what} certificate within the wait; asking again`, { csr: name });
    } catch (err) {
      o.log.warn(`requesting the ${kind.what} certificate failed`, { err: errMsg(err), retryInMs: backoffMs });
      await o.nap(backoffMs);
      // Doubling up to 8 s (the real manager's goes further): a master's kubelet asks before its apiserver runs.
      backoffMs = Math.min(backoffMs * 2, 8000);
    }
  }
  return undefined;
}
