// Kubelet certificate signing requests after a long outage: which are pending, and which kubecycle may approve. A
// kubelet whose serving (or client) certificate ran out while the cluster was off asks for a new one and waits; the
// built-in approver never approves serving certificates, so someone must. kubecycle approves only what a node of the
// recorded inventory would ask for itself: requested by that node's own identity, for that node's name and addresses,
// with the usages its signer allows. Everything else is left pending, and said why. Pure functions but the API calls.
import type { V1CertificateSigningRequest } from "@kubernetes/client-node";

/** The kubelet signers (certificates.k8s.io/v1 well-known signers). */
export const KUBELET_SERVING = "kubernetes.io/kubelet-serving";
export const KUBELET_CLIENT = "kubernetes.io/kube-apiserver-client-kubelet";

/** What a PKCS#10 request asks for: its subject and its subjectAltName extension. */
export interface ParsedRequest {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  emailAddresses: string[];
  uris: string[];
}

// ----- a DER reader, just enough for a PKCS#10 CertificationRequest (RFC 2986) and its extension request -----

interface Tlv {
  tag: number;
  /** Offset of the value. */
  start: number;
  /** Offset after the value. */
  end: number;
}

function tlv(buf: Buffer, offset: number): Tlv {
  const tag = buf[offset];
  let len = buf[offset + 1];
  if (tag === undefined || len === undefined) throw new Error("truncated DER");
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error("unsupported DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] ?? 0);
    start += n;
  }
  const end = start + len;
  if (end > buf.length) throw new Error("truncated DER");
  return { tag, start, end };
}

/** The TLVs inside a constructed value, in order. */
function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let off = parent.start; off < parent.end;) {
    const t = tlv(buf, off);
    out.push(t);
    off = t.end;
  }
  return out;
}

function oid(buf: Buffer, t: Tlv): string {
  const bytes = buf.subarray(t.start, t.end);
  const first = bytes[0] ?? 0;
  const parts = [Math.floor(first / 40), first % 40];
  let v = 0;
  for (const b of bytes.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

const OID_CN = "2.5.4.3";
const OID_O = "2.5.4.10";
const OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
const OID_SAN = "2.5.29.17";

function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join(".");
  if (bytes.length === 16) {
    const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
    // The shortest form, as the addresses are written elsewhere (net.isIP-compatible).
    return new URL(`http://[${groups.join(":")}]/`).hostname.replace(/^\[(.*)\]$/, "$1");
  }
  return bytes.toString("hex");
}

/** Reads the subject and the subjectAltName of a PEM or DER certificate request. Throws when it is not one. */
export function parseCertificateRequest(pemOrDer: string | Buffer): ParsedRequest {
  const text = typeof pemOrDer === "string" ? pemOrDer : pemOrDer.toString("latin1");
  const pem =
    /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]+)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(
      text,
    );
  const der = pem?.[1] ? Buffer.from(pem[1].replace(/\s+/g, ""), "base64") : Buffer.from(text, "latin1");
  const out: ParsedRequest = {
    commonName: "",
    organizations: [],
    dnsNames: [],
    ipAddresses: [],
    emailAddresses: [],
    uris: [],
  };
  const root = tlv(der, 0);
  const info = children(der, root)[0];
  if (!info || root.tag !== 0x30 || info.tag !== 0x30) throw new Error("not a certificate request");
  const [, subject, , attributes] = children(der, info);
  if (!subject || subject.tag !== 0x30) throw new Error("a certificate request without a subject");
  for (const rdn of children(der, subject)) {
    for (const atv of children(der, rdn)) {
      const [type, value] = children(der, atv);
      if (!type || !value) continue;
      const s = der.subarray(value.start, value.end).toString("utf8");
      const id = oid(der, type);
      if (id === OID_CN) out.commonName = s;
      if (id === OID_O) out.organizations.push(s);
    }
  }
  if (attributes?.tag === 0xa0) {
    for (const attr of children(der, attributes)) {
      const [type, values] = children(der, attr);
      if (!type || !values || oid(der, type) !== OID_EXTENSION_REQUEST) continue;
      for (const exts of children(der, values)) {
        for (const ext of children(der, exts)) {
          const parts = children(der, ext);
          const id = parts[0];
          const value = parts.at(-1);
          if (!id || !value || oid(der, id) !== OID_SAN) continue;
          const names = tlv(der, value.start);
          for (const gn of children(der, names)) {
            const bytes = der.subarray(gn.start, gn.end);
            if (gn.tag === 0x82) out.dnsNames.push(bytes.toString("latin1"));
            else if (gn.tag === 0x87) out.ipAddresses.push(ipText(bytes));
            else if (gn.tag === 0x81) out.emailAddresses.push(bytes.toString("latin1"));
            else if (gn.tag === 0x86) out.uris.push(bytes.toString("latin1"));
          }
        }
      }
    }
  }
  return out;
}

// ----- the decision -----

/** A node as the recorded inventory knows it: the name it is known by and every address it has. */
export interface KnownNode {
  name: string;
  addresses: readonly string[];
}

/** One pending kubelet CSR and what kubecycle makes of it. */
export interface KubeletCsr {
  name: string;
  signer: string;
  kind: "serving" | "client";
  requester: string;
  /** The node it asks for (from its subject), when it names one. */
  node: string;
  /** What it asks for, for people: "DNS:n1, IP:10.0.0.1". */
  sans: string[];
  usages: string[];
  createdAt: string;
  /** Approve: everything matches a node of the inventory. Otherwise each reason it does not. */
  approve: boolean;
  reasons: string[];
}

const ALLOWED_USAGES: Record<string, readonly string[]> = {
  [KUBELET_SERVING]: ["digital signature", "key encipherment", "server auth"],
  [KUBELET_CLIENT]: ["digital signature", "key encipherment", "client auth"],
};
const REQUIRED_USAGE: Record<string, string> = { [KUBELET_SERVING]: "server auth", [KUBELET_CLIENT]: "client auth" };

/** A CSR nobody approved, denied or failed yet. */
export function isPending(csr: V1CertificateSigningRequest): boolean {
  const done = (csr.status?.conditions ?? []).some(
    (c) => (c.type === "Approved" || c.type === "Denied" || c.type === "Failed") && c.status !== "False",
  );
  return !done && !csr.status?.certificate;
}

/** Whether a CSR is a kubelet's (one of the two kubelet signers). */
export function isKubeletCsr(csr: V1CertificateSigningRequest): boolean {
  const signer = csr.spec?.signerName ?? "";
  return signer === KUBELET_SERVING || signer === KUBELET_CLIENT;
}

/**
 * What kubecycle makes of a kubelet CSR, against the nodes of the recorded inventory. Approved only when all hold:
 * the subject is `system:node:<node>` in `system:nodes` for a known node; the requester is that node itself (a
 * bootstrap token could be anyone's); the usages are the signer's and include its purpose; a serving certificate's
 * names are that node's name and its recorded addresses, nothing else; a client certificate carries no names.
 */
export function assessKubeletCsr(csr: V1CertificateSigningRequest, nodes: readonly KnownNode[]): KubeletCsr {
  const signer = csr.spec?.signerName ?? "";
  const kind = signer === KUBELET_SERVING ? "serving" : "client";
  const requester = csr.spec?.username ?? "";
  const groups = csr.spec?.groups ?? [];
  const usages = csr.spec?.usages ?? [];
  const reasons: string[] = [];
  let parsed: ParsedRequest | undefined;
  try {
    const raw = csr.spec?.request ?? "";
    parsed = parseCertificateRequest(Buffer.from(raw, "base64").toString("latin1"));
  } catch (err) {
    reasons.push(`its request is not a readable PKCS#10 certificate request (${(err as Error).message})`);
  }
  const cn = parsed?.commonName ?? "";
  const nodeName = cn.startsWith("system:node:") ? cn.slice("system:node:".length) : "";
  const node = nodes.find((n) => n.name === nodeName);
  const sans = parsed
    ? [
        ...parsed.dnsNames.map((d) => `DNS:${d}`),
        ...parsed.ipAddresses.map((i) => `IP:${i}`),
        ...parsed.emailAddresses.map((e) => `email:${e}`),
        ...parsed.uris.map((u) => `URI:${u}`),
      ]
    : [];
  if (parsed) {
    if (!nodeName) reasons.push(`its subject CN=${cn || "(none)"} is not system:node:<node>`);
    else if (!node) reasons.push(`${nodeName} is not a node of the recorded inventory`);
    if (parsed.organizations.join(",") !== "system:nodes") {
      reasons.push(`its subject O=${parsed.organizations.join(",") || "(none)"} is not system:nodes`);
    }
  }
  if (requester.startsWith("system:bootstrap:")) {
    reasons.push(
      `it was requested with a bootstrap token (${requester}), not by the node itself: anyone holding the token could ask`,
    );
  } else if (requester !== cn || !groups.includes("system:nodes")) {
    reasons.push(`it was requested by ${requester || "(nobody)"}, not by ${cn || "the node"} itself (in system:nodes)`);
  }
  const allowed = ALLOWED_USAGES[signer] ?? [];
  const extra = usages.filter((u) => !allowed.includes(u));
  if (extra.length > 0) reasons.push(`usages ${extra.join(", ")} are not for ${signer}`);
  const required = REQUIRED_USAGE[signer];
  if (required && !usages.includes(required)) reasons.push(`it lacks the usage "${required}"`);
  if (parsed && kind === "serving") {
    if (parsed.emailAddresses.length + parsed.uris.length > 0) reasons.push("it asks for e-mail or URI names");
    if (parsed.dnsNames.length + parsed.ipAddresses.length === 0) reasons.push("it names no DNS name or address");
    if (node) {
      const foreignDns = parsed.dnsNames.filter((d) => d !== node.name);
      const foreignIps = parsed.ipAddresses.filter((i) => !node.addresses.includes(i));
      if (foreignDns.length > 0) reasons.push(`DNS names ${foreignDns.join(", ")} are not ${node.name}'s name`);
      if (foreignIps.length > 0) {
        reasons.push(
          `addresses ${foreignIps.join(", ")} are not ${node.name}'s (recorded: ${node.addresses.join(", ") || "none"})`,
        );
      }
    }
  }
  if (parsed && kind === "client" && sans.length > 0)
    reasons.push(`a client certificate with names (${sans.join(", ")})`);
  return {
    name: csr.metadata?.name ?? "",
    signer,
    kind,
    requester,
    node: nodeName,
    sans,
    usages,
    createdAt: csr.metadata?.creationTimestamp ? new Date(csr.metadata.creationTimestamp).toISOString() : "",
    approve: reasons.length === 0,
    reasons,
  };
}

/** The pending kubelet CSRs among `all`, each assessed, oldest first. */
export function pendingKubeletCsrs(
  all: readonly V1CertificateSigningRequest[],
  nodes: readonly KnownNode[],
): KubeletCsr[] {
  return all
    .filter((c) => isKubeletCsr(c) && isPending(c))
    .map((c) => assessKubeletCsr(c, nodes))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
}

/** One line per CSR for people: what it asks for and, when refused, why. */
export function describeCsr(c: KubeletCsr): string {
  const what = `${c.name}: ${c.kind} certificate for ${c.node || "(no node)"} requested by ${c.requester || "(nobody)"}${c.sans.length ? ` (${c.sans.join(", ")})` : ""}`;
  return c.approve ? what : `${what}: refused: ${c.reasons.join("; ")}`;
}
