// The csrsigning controller of the kube-controller-manager stand-in (pkg/controller/certificates/signer): signs the
// approved CSRs of the two kubelet signers with the cluster CA (--cluster-signing-cert-file/-key-file), for
// --cluster-signing-duration, and writes the certificate into the CSR's status. Like the real one it signs only what
// someone approved (no approver runs here: kube-controller-manager's csrapproving controller would approve kubelet
// client renewals on kubeadm clusters, never serving certificates; the lab leaves both to the operator) and marks a
// request its signer may not issue Failed (SignerValidationFailure) instead. The request is read and the certificate
// made with the openssl binary; the key usages are the CSR's spec.usages, the names those of the request.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StatusError } from "../apiserver/errors.js";
import { resourceOf } from "../apiserver/resources.js";
import type { Store } from "../apiserver/store.js";
import type { Log } from "../lib/log.js";
import { nowTime, type KObject } from "../lib/types.js";

const CSRS = resourceOf("CertificateSigningRequest");

const CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet";
const SERVING_SIGNER = "kubernetes.io/kubelet-serving";

/** The signer's settings. */
export interface SigningOptions {
  caCertFile: string;
  caKeyFile: string;
  /** --cluster-signing-duration; the real default is one year. */
  durationMs: number;
}

interface CsrObj extends KObject {
  spec?: { request?: string; signerName?: string; usages?: string[] };
  status?: { certificate?: string; conditions?: Array<{ type: string; status?: string }> };
}

/** What a PKCS#10 request says, as openssl prints it. */
interface Request {
  cn: string;
  o: string[];
  dns: string[];
  ips: string[];
  /** Names of other kinds (email, URI): a kubelet signer issues none. */
  other: string[];
}

function openssl(args: string[], input = ""): Promise<string> {
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

/** Reads (and verifies the signature of) a PEM certificate request. */
async function readRequest(pem: string): Promise<Request> {
  const text = await openssl(["req", "-noout", "-verify", "-text", "-nameopt", "RFC2253"], pem);
  const subject = /Subject: (.*)/.exec(text)?.[1] ?? "";
  const rdns = subject.split(/(?<!\\),/).map((x) => x.trim());
  const san = /X509v3 Subject Alternative Name:\s*\n\s*(.*)/.exec(text)?.[1] ?? "";
  const names = san ? san.split(", ") : [];
  return {
    cn: rdns.find((r) => r.startsWith("CN="))?.slice(3) ?? "",
    o: rdns.filter((r) => r.startsWith("O=")).map((r) => r.slice(2)),
    dns: names.filter((n) => n.startsWith("DNS:")).map((n) => n.slice(4)),
    ips: names.filter((n) => n.startsWith("IP Address:")).map((n) => n.slice(11)),
    other: names.filter((n) => !n.startsWith("DNS:") && !n.startsWith("IP Address:")),
  };
}

/** Why the kubelet signers may not issue this request (signer.go's isKubeletClient / isKubeletServing), or "". */
export function signerRefusal(signer: string, usages: string[], r: Request): string {
  const serving = signer === SERVING_SIGNER;
  const purpose = serving ? "server auth" : "client auth";
  const allowed = ["digital signature", "key encipherment", purpose];
  if (r.o.join(",") !== "system:nodes") return `subject organization is not system:nodes`;
  if (!r.cn.startsWith("system:node:")) return `subject common name does not begin with system:node:`;
  if (!usages.includes(purpose) || usages.some((u) => !allowed.includes(u)))
    return `usages did not match [${allowed.join(" ")}]`;
  if (r.other.length > 0) return `email addresses and URIs are not allowed`;
  if (serving && r.dns.length + r.ips.length === 0) return `DNS or IP subjectAltName is required`;
  if (!serving && r.dns.length + r.ips.length > 0) return `DNS and IP subjectAltNames are not allowed`;
  return "";
}

async function sign(o: SigningOptions, pem: string, usages: string[], r: Request, serving: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "csrsigning-"));
  try {
    const ku = ["digitalSignature", ...(usages.includes("key encipherment") ? ["keyEncipherment"] : [])];
    const sans = [...r.dns.map((d) => `DNS:${d}`), ...r.ips.map((i) => `IP:${i}`)];
    const ext = join(dir, "ext.cnf");
    await writeFile(
      ext,
      [
        "[ext]",
        "basicConstraints=critical,CA:FALSE",
        `keyUsage=critical,${ku.join(",")}`,
        `extendedKeyUsage=${serving ? "serverAuth" : "clientAuth"}`,
        "authorityKeyIdentifier=keyid",
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
        "",
      ].join("\n"),
    );
    const days = Math.max(1, Math.round(o.durationMs / 86_400_000));
    // prettier-ignore
    return await openssl(["x509", "-req", "-CA", o.caCertFile, "-CAkey", o.caKeyFile, "-set_serial", `0x${randomBytes(16).toString("hex")}`, "-days", String(days), "-sha256", "-extfile", ext, "-extensions", "ext"], pem);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One pass: every approved, unsigned, not failed kubelet CSR gets its certificate or a Failed condition. */
export async function signApprovedCsrs(store: Store, o: SigningOptions, log: Log): Promise<void> {
  const csrs = (await store.list(CSRS, undefined)).items as CsrObj[];
  for (const csr of csrs) {
    const signer = csr.spec?.signerName ?? "";
    if (signer !== CLIENT_SIGNER && signer !== SERVING_SIGNER) continue;
    const conds = csr.status?.conditions ?? [];
    const has = (t: string): boolean => conds.some((c) => c.type === t && c.status !== "False");
    if (!has("Approved") || has("Denied") || has("Failed") || csr.status?.certificate) continue;
    const name = csr.metadata.name ?? "";
    const pem = Buffer.from(csr.spec?.request ?? "", "base64").toString();
    const usages = csr.spec?.usages ?? [];
    let outcome: { certificate: string } | { failed: string };
    try {
      const r = await readRequest(pem);
      const refusal = signerRefusal(signer, usages, r);
      outcome = refusal
        ? { failed: refusal }
        : { certificate: await sign(o, pem, usages, r, signer === SERVING_SIGNER) };
    } catch (err) {
      outcome = { failed: `unable to parse csr: ${err instanceof Error ? err.message : String(err)}` };
    }
    try {
      await store.guaranteedUpdate(CSRS, undefined, name, (cur) => {
        const c = cur as CsrObj;
        if (c.status?.certificate) return null;
        c.status = {
          ...c.status,
          ...("certificate" in outcome
            ? { certificate: Buffer.from(outcome.certificate).toString("base64") }
            : {
                conditions: [
                  ...(c.status?.conditions ?? []),
                  {
                    type: "Failed",
                    status: "True",
                    reason: "SignerValidationFailure",
                    message: outcome.failed,
                    lastUpdateTime: nowTime(),
                    lastTransitionTime: nowTime(),
                  } as { type: string; status: string },
                ],
              }),
        };
        return c;
      });
      log.info("certificatesigningrequest handled", {
        csr: name,
        signer,
        ...("failed" in outcome ? { failed: outcome.failed } : { signed: true }),
      });
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    }
  }
}
