import { X509Certificate, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import {
  AGENT_ORGANIZATION,
  KubecycleError,
  ROLE_ORGANIZATIONS,
  SERVE_ORGANIZATION,
  type Role,
} from "../../shared/index.js";
import { CERT_MODE, KEY_MODE, createPrivateFile, exists, refuseOverwrite, withStagingDir } from "./files.js";
import { openssl } from "./openssl.js";

// An agent's certificate grants no client role (it cannot command agents); serve's only serves the agents' reports.
export { AGENT_ORGANIZATION, SERVE_ORGANIZATION };

/** Options every PKI function takes. */
export interface PkiOptions {
  /** Validity in days. Default 3650 for the CA, 365 for agent and client certificates. */
  days?: number;
  /** Replace files that already exist. Default false: refuse with ALREADY_EXISTS. */
  force?: boolean;
  /** The openssl binary. Default `openssl` from PATH. */
  openssl?: string;
}

/** Options for {@link createCa}. */
export interface CaOptions extends PkiOptions {
  /** The CA's common name. Default "kubecycle-ca". */
  commonName?: string;
}

/** Options for {@link issueAgentCert}. */
export interface AgentCertOptions extends PkiOptions {
  /** The node name (a DNS-1123 subdomain, as Kubernetes node names are): the CN and the first DNS SAN. */
  node: string;
  /** The addresses the coordinator dials the agent on; at least one. */
  ips: readonly string[];
  /** More DNS names for the SAN. Default none. */
  dnsNames?: readonly string[];
}

/** Options for {@link issueServeCert}. */
export interface ServeCertOptions extends PkiOptions {
  /** The admin host's name: the CN and the first DNS SAN; also the file name. */
  name: string;
  /** The addresses the agents dial `kubecycle serve` on. Default none (then dnsNames must be dialled). */
  ips?: readonly string[];
  /** More DNS names for the SAN. Default none. */
  dnsNames?: readonly string[];
}

/** Options for {@link issueClientCert}. */
export interface ClientCertOptions extends PkiOptions {
  /** Who holds it (CN), shown in the agents' audit lines. Also the file name. */
  name: string;
  /** What it may do, carried as the Organization `kubecycle:<role>`. */
  role: Role;
}

/** The files a PKI function wrote. */
export interface WrittenFiles {
  cert: string;
  key: string;
}

const MAX_DAYS = 36500;
// Validated values are the only user input that reaches openssl's -subj and config file: none of / \ = + $ or newlines.
const DNS_LABEL = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
const DNS_SUBDOMAIN = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const CA_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._@:-]{0,63}$/;

const CA_EXTENSIONS = {
  basicConstraints: "critical,CA:TRUE,pathlen:0",
  keyUsage: "critical,keyCertSign,cRLSign",
  subjectKeyIdentifier: "hash",
  authorityKeyIdentifier: "keyid:always",
};
const LEAF_EXTENSIONS = {
  basicConstraints: "critical,CA:FALSE",
  keyUsage: "critical,digitalSignature",
  subjectKeyIdentifier: "hash",
  authorityKeyIdentifier: "keyid,issuer",
};

/** Creates the kubecycle CA: `<dir>/ca.crt` and `<dir>/ca.key` (EC P-256, key 0600, dir 0700). */
export async function createCa(dir: string, opts: CaOptions = {}): Promise<WrittenFiles> {
  const cn = opts.commonName ?? "kubecycle-ca";
  if (!CA_NAME.test(cn)) {
    throw invalid("commonName", `CA common name "${cn}" must be 1-64 letters, digits, spaces or ._@:-`);
  }
  const days = checkDays(opts.days ?? 3650);
  const bin = opts.openssl ?? "openssl";
  const files = { cert: join(dir, "ca.crt"), key: join(dir, "ca.key") };
  await refuseOverwrite([files.cert, files.key], opts.force ?? false);
  await withStagingDir(dir, async (tmp) => {
    const key = join(tmp, "ca.key");
    const cert = join(tmp, "ca.crt");
    const cnf = join(tmp, "openssl.cnf");
    await generateKey(bin, key);
    await writeFile(cnf, opensslConfig(CA_EXTENSIONS));
    // -config keeps the system openssl.cnf's default extensions out of our certificates.
    // prettier-ignore
    await openssl(bin, [
      "req", "-new", "-x509", "-config", cnf, "-extensions", "ext", "-key", key,
      "-subj", `/CN=${cn}/O=kubecycle`, "-days", String(days), "-sha256", "-set_serial", serial(),
      "-out", cert,
    ]);
    return [
      { from: key, to: files.key, mode: KEY_MODE },
      { from: cert, to: files.cert, mode: CERT_MODE },
    ];
  });
  return files;
}

/** Issues a node agent's certificate, `<dir>/agents/<node>.crt|.key`, for serving and for reporting to the coordinator. */
export async function issueAgentCert(dir: string, opts: AgentCertOptions): Promise<WrittenFiles> {
  const { node } = opts;
  if (!isDnsName(node)) {
    throw invalid("node", `node name "${node}" is not a DNS-1123 subdomain (lowercase a-z, 0-9, - and .)`);
  }
  if (opts.ips.length === 0) throw invalid("ips", "an agent certificate needs at least one IP address");
  for (const ip of opts.ips) {
    // A zone id (fe80::1%eth0) passes isIP but cannot go in a certificate.
    if (isIP(ip) === 0 || ip.includes("%")) throw invalid("ips", `"${ip}" is not an IP address`);
  }
  for (const name of opts.dnsNames ?? []) {
    if (!isDnsName(name)) throw invalid("dnsNames", `"${name}" is not a DNS-1123 name`);
  }
  const dns = [...new Set([node, ...(opts.dnsNames ?? [])])].map((n) => `DNS:${n}`);
  const ips = [...new Set(opts.ips)].map((ip) => `IP:${ip}`);
  return issueLeaf(dir, "agents", node, AGENT_ORGANIZATION, opts, {
    ...LEAF_EXTENSIONS,
    extendedKeyUsage: "serverAuth,clientAuth",
    subjectAltName: [...dns, ...ips].join(","),
  });
}

/**
 * Issues `kubecycle serve`'s serving certificate, `<dir>/serve/<name>.crt|.key` (O=kubecycle:serve, server
 * authentication only): the agents send their reports only to a server that shows it under the name they dial.
 */
export async function issueServeCert(dir: string, opts: ServeCertOptions): Promise<WrittenFiles> {
  const { name } = opts;
  if (!isDnsName(name)) {
    throw invalid("name", `serve host name "${name}" is not a DNS-1123 subdomain (lowercase a-z, 0-9, - and .)`);
  }
  for (const ip of opts.ips ?? []) {
    if (isIP(ip) === 0 || ip.includes("%")) throw invalid("ips", `"${ip}" is not an IP address`);
  }
  for (const n of opts.dnsNames ?? []) {
    if (!isDnsName(n)) throw invalid("dnsNames", `"${n}" is not a DNS-1123 name`);
  }
  const dns = [...new Set([name, ...(opts.dnsNames ?? [])])].map((n) => `DNS:${n}`);
  const ips = [...new Set(opts.ips ?? [])].map((ip) => `IP:${ip}`);
  return issueLeaf(dir, "serve", name, SERVE_ORGANIZATION, opts, {
    ...LEAF_EXTENSIONS,
    extendedKeyUsage: "serverAuth",
    subjectAltName: [...dns, ...ips].join(","),
  });
}

/** Issues an operator's or viewer's client certificate, `<dir>/clients/<name>.crt|.key`. */
export async function issueClientCert(dir: string, opts: ClientCertOptions): Promise<WrittenFiles> {
  const { name, role } = opts;
  if (!CLIENT_NAME.test(name)) {
    throw invalid(
      "name",
      `client name "${name}" must be 1-64 letters, digits or ._@-, starting with a letter or digit`,
    );
  }
  // Issue exactly the Organization the agents' authorization reads back, from the same table.
  const org = Object.keys(ROLE_ORGANIZATIONS).find((o) => ROLE_ORGANIZATIONS[o] === role);
  if (org === undefined) {
    throw invalid("role", `role must be ${Object.values(ROLE_ORGANIZATIONS).join(" or ")}, not "${String(role)}"`);
  }
  return issueLeaf(dir, "clients", name, org, opts, { ...LEAF_EXTENSIONS, extendedKeyUsage: "clientAuth" });
}

async function issueLeaf(
  dir: string,
  kind: "agents" | "clients" | "serve",
  cn: string,
  org: string,
  opts: PkiOptions,
  extensions: Record<string, string>,
): Promise<WrittenFiles> {
  const days = checkDays(opts.days ?? 365);
  const bin = opts.openssl ?? "openssl";
  const ca = { cert: join(dir, "ca.crt"), key: join(dir, "ca.key") };
  if (!(await exists(ca.cert)) || !(await exists(ca.key))) {
    throw new KubecycleError("PKI_FAILED", `no CA in ${dir} (need ca.crt and ca.key)`, {
      path: dir,
      hint: "run `kubecycle pki init` first, or pass the --dir that holds the CA",
    });
  }
  await checkCaOutlives(ca.cert, days);
  const out = join(dir, kind);
  const files = { cert: join(out, `${cn}.crt`), key: join(out, `${cn}.key`) };
  await refuseOverwrite([files.cert, files.key], opts.force ?? false);
  await withStagingDir(out, async (tmp) => {
    const key = join(tmp, "leaf.key");
    const csr = join(tmp, "leaf.csr");
    const cert = join(tmp, "leaf.crt");
    const cnf = join(tmp, "openssl.cnf");
    await generateKey(bin, key);
    await writeFile(cnf, opensslConfig(extensions));
    await openssl(bin, ["req", "-new", "-config", cnf, "-key", key, "-subj", `/CN=${cn}/O=${org}`, "-out", csr]);
    // prettier-ignore
    await openssl(bin, [
      "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-set_serial", serial(),
      "-days", String(days), "-sha256", "-extfile", cnf, "-extensions", "ext", "-out", cert,
    ]);
    return [
      { from: key, to: files.key, mode: KEY_MODE },
      { from: cert, to: files.cert, mode: CERT_MODE },
    ];
  });
  return files;
}

/**
 * Refuses (PKI_FAILED) a certificate of `days` from a CA that expires before it would: clients would refuse it from
 * the CA's expiry on, however long it claims to be valid.
 */
export async function checkCaOutlives(caCertPath: string, days: number, nowMs = Date.now()): Promise<void> {
  const ca = new X509Certificate(await readFile(caCertPath));
  const caEnd = Date.parse(ca.validTo);
  const wouldEnd = nowMs + days * DAY_MS;
  if (caEnd >= wouldEnd) return;
  const fits = Math.floor((caEnd - nowMs) / DAY_MS);
  const renewCa =
    "renew the CA first (`kubecycle pki renew ca`: the same key, so every certificate it issued stays valid; then copy ca.crt to every node and client)";
  throw new KubecycleError(
    "PKI_FAILED",
    `the CA expires on ${day(caEnd)}, before a ${days}-day certificate would (${day(wouldEnd)}); nothing was changed`,
    {
      path: caCertPath,
      caNotAfter: new Date(caEnd).toISOString(),
      hint: fits >= 1 ? `${renewCa}, or pass --days ${fits} or less` : renewCa,
    },
  );
}

const DAY_MS = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function generateKey(bin: string, path: string): Promise<void> {
  await createPrivateFile(path);
  // prettier-ignore
  await openssl(bin, [
    "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
    "-pkeyopt", "ec_param_enc:named_curve", "-out", path,
  ]);
}

function opensslConfig(extensions: Record<string, string>): string {
  const lines = Object.entries(extensions).map(([k, v]) => `${k} = ${v}`);
  return ["[req]", "distinguished_name = dn", "[dn]", "[ext]", ...lines, ""].join("\n");
}

/** A random positive 127-bit serial, so no serial file has to be kept next to the CA. */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return `0x${bytes.toString("hex")}`;
}

function isDnsName(name: string): boolean {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name);
}

function checkDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw invalid("days", `days must be a whole number from 1 to ${MAX_DAYS}, not ${days}`);
  }
  return days;
}

function invalid(field: string, message: string): KubecycleError {
  return new KubecycleError("INVALID_REQUEST", message, { field });
}
