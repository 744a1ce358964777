import { X509Certificate } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { KubecycleError, roleFromSubject } from "../../shared/index.js";
import { AGENT_ORGANIZATION } from "./pki.js";

/** Where a certificate sits in the PKI directory: the CA, `agents/`, `clients/`, or anywhere else (e.g. a serve cert). */
export type PkiKind = "ca" | "agent" | "client" | "other";

/** What a certificate of the PKI directory lets its holder be: from its Organization (the CA: "ca"). */
export type PkiRole = "ca" | "agent" | "operator" | "viewer" | "none";

/** One certificate of the PKI directory, as `pki check` lists it. */
export interface PkiCertificate {
  /** How `pki renew` names it: "ca", "agents/master-1", "clients/alice", "serve". */
  name: string;
  kind: PkiKind;
  path: string;
  /** The subject on one line, "CN=alice, O=kubecycle:operator". */
  subject: string;
  commonName: string;
  role: PkiRole;
  dnsNames: string[];
  ips: string[];
  notBefore: string;
  notAfter: string;
  notAfterUnixMs: number;
  /** Whether the directory's CA issued it (the CA itself: true). */
  issuedByCa: boolean;
  /** Why it could not be read; the other fields are then empty. */
  error?: string;
}

/** The subdirectories that hold the old files `pki renew` kept aside, and staging directories: never listed. */
export const ASIDE_DIR = "old";
const MAX_CERT_FILE_BYTES = 1024 * 1024;
const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/;

const oneLine = (dn: string): string => dn.split("\n").filter(Boolean).join(", ");

/** The values of a DN's attribute: "O" of "CN=a\nO=b" is ["b"]. */
function attr(dn: string, key: string): string[] {
  return dn
    .split("\n")
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

/** DNS names and IP addresses of a subjectAltName as Node prints it ("DNS:a, IP Address:10.0.0.1"). */
export function parseSubjectAltName(san: string | undefined): { dnsNames: string[]; ips: string[] } {
  const entries = (san ?? "").split(", ").filter(Boolean);
  return {
    dnsNames: entries.filter((e) => e.startsWith("DNS:")).map((e) => e.slice(4)),
    ips: entries.filter((e) => e.startsWith("IP Address:")).map((e) => e.slice(11)),
  };
}

function roleOf(cert: X509Certificate, kind: PkiKind): PkiRole {
  if (kind === "ca" || cert.ca) return "ca";
  const orgs = attr(cert.subject, "O");
  const role = roleFromSubject({ O: orgs });
  if (role) return role;
  return orgs.includes(AGENT_ORGANIZATION) ? "agent" : "none";
}

/** Reads one certificate file of the PKI; a file that cannot be read gives an entry with the reason. */
export async function readPkiCertificate(
  path: string,
  name: string,
  kind: PkiKind,
  ca: X509Certificate | undefined,
): Promise<PkiCertificate> {
  const empty = {
    name,
    kind,
    path,
    subject: "",
    commonName: "",
    role: "none" as const,
    dnsNames: [],
    ips: [],
    notBefore: "",
    notAfter: "",
    notAfterUnixMs: 0,
    issuedByCa: false,
  };
  try {
    const data = await readFile(path);
    if (data.length > MAX_CERT_FILE_BYTES) return { ...empty, error: `${data.length} bytes, too large` };
    const block = CERTIFICATE_PEM.exec(data.toString("utf8"))?.[0];
    if (!block) return { ...empty, error: "no PEM certificate in it" };
    const cert = new X509Certificate(block);
    const notAfterUnixMs = Date.parse(cert.validTo);
    return {
      name,
      kind,
      path,
      subject: oneLine(cert.subject),
      commonName: attr(cert.subject, "CN")[0] ?? "",
      role: roleOf(cert, kind),
      ...parseSubjectAltName(cert.subjectAltName),
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: new Date(notAfterUnixMs).toISOString(),
      notAfterUnixMs,
      issuedByCa: ca !== undefined && cert.checkIssued(ca) && cert.verify(ca.publicKey),
    };
  } catch (err) {
    return { ...empty, error: (err as Error).message };
  }
}

/** The CA of a PKI directory, parsed; PKI_FAILED asking for `pki init` when there is none. */
export async function readCa(dir: string): Promise<X509Certificate> {
  const path = join(dir, "ca.crt");
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw new KubecycleError(
      "PKI_FAILED",
      `no CA in ${dir}: cannot read ${path}: ${(err as Error).message}`,
      { path: dir, hint: "pass the --dir that holds the PKI (ca.crt, agents/, clients/), or run `kubecycle pki init`" },
      { cause: err },
    );
  }
  const block = CERTIFICATE_PEM.exec(data.toString("utf8"))?.[0];
  try {
    if (!block) throw new Error("no PEM certificate in it");
    return new X509Certificate(block);
  } catch (err) {
    throw new KubecycleError("PKI_FAILED", `${path} is not a readable certificate: ${(err as Error).message}`, {
      path,
    });
  }
}

async function crtFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && e.name.endsWith(".crt"))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * Every certificate of a PKI directory as `kubecycle pki` lays it out: `ca.crt`, `agents/*.crt`, `clients/*.crt`,
 * and any other `*.crt` at the top or one folder down (a serve certificate, say). Old files kept aside by `pki
 * renew` (`*\/old/`) and staging directories (`.kubecycle-tmp-*`) are not listed. The CA first, then by name.
 */
export async function listPki(dir: string): Promise<PkiCertificate[]> {
  const ca = await readCa(dir);
  const out: PkiCertificate[] = [await readPkiCertificate(join(dir, "ca.crt"), "ca", "ca", ca)];
  for (const file of await crtFiles(dir)) {
    if (file === "ca.crt") continue;
    out.push(await readPkiCertificate(join(dir, file), basename(file, ".crt"), "other", ca));
  }
  const subdirs = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && !e.name.startsWith(".") && e.name !== ASIDE_DIR)
    .map((e) => e.name)
    .sort();
  for (const sub of subdirs) {
    const kind: PkiKind = sub === "agents" ? "agent" : sub === "clients" ? "client" : "other";
    for (const file of await crtFiles(join(dir, sub))) {
      out.push(await readPkiCertificate(join(dir, sub, file), `${sub}/${basename(file, ".crt")}`, kind, ca));
    }
  }
  return out;
}

/** How a certificate stands against a window: the order is the severity. */
export type ExpiryState = "ok" | "expiring" | "expired" | "not-issued-by-ca" | "unreadable";

/** The state of `cert` at `nowMs` for a window of `windowMs`. */
export function expiryState(cert: PkiCertificate, nowMs: number, windowMs: number): ExpiryState {
  if (cert.error !== undefined) return "unreadable";
  if (!cert.issuedByCa) return "not-issued-by-ca";
  if (cert.notAfterUnixMs <= nowMs) return "expired";
  if (cert.notAfterUnixMs <= nowMs + windowMs) return "expiring";
  return "ok";
}

/** Whole days from `nowMs` until `unixMs` (negative: past). */
export function daysLeft(unixMs: number, nowMs: number): number {
  return Math.floor((unixMs - nowMs) / 86_400_000);
}
