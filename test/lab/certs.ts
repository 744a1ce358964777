// Certificates for the lab's own services (etcd in the KubeKey layout, the API simulator, the kubeconfig), made with
// the openssl binary. kubecycle's own certificates come from the product's `kubecycle pki`; this is only for the
// stand-ins the product talks to.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A CA on disk. */
export interface CaFiles {
  cert: string;
  key: string;
}

/** What a leaf certificate says and may be used for. */
export interface LeafOptions {
  commonName: string;
  organization?: string;
  dnsNames?: string[];
  ips?: string[];
  usage: "server" | "client" | "both";
  /** Validity. Default 365 days. */
  days?: number;
}

async function genKey(path: string): Promise<void> {
  // prettier-ignore
  await run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:named_curve", "-out", path]);
}

/** Creates `<certPath>` and `<keyPath>` for a self-signed CA. */
export async function makeCa(certPath: string, keyPath: string, commonName: string, days = 3650): Promise<CaFiles> {
  const tmp = await mkdtemp(`${keyPath}.tmp-`);
  try {
    const cnf = join(tmp, "openssl.cnf");
    await writeFile(
      cnf,
      "[req]\ndistinguished_name=dn\n[dn]\n[ext]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\n",
    );
    await genKey(keyPath);
    // prettier-ignore
    await run("openssl", ["req", "-new", "-x509", "-config", cnf, "-extensions", "ext", "-key", keyPath, "-subj", `/CN=${commonName}`, "-days", String(days), "-sha256", "-out", certPath]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { cert: certPath, key: keyPath };
}

/** Issues a leaf certificate signed by `ca` into `<certPath>` / `<keyPath>`. */
export async function issueLeaf(ca: CaFiles, certPath: string, keyPath: string, opts: LeafOptions): Promise<void> {
  const tmp = await mkdtemp(`${keyPath}.tmp-`);
  try {
    const sans = [...(opts.dnsNames ?? []).map((d) => `DNS:${d}`), ...(opts.ips ?? []).map((i) => `IP:${i}`)];
    const eku = { server: "serverAuth", client: "clientAuth", both: "serverAuth,clientAuth" }[opts.usage];
    const cnf = join(tmp, "openssl.cnf");
    await writeFile(
      cnf,
      [
        "[req]",
        "distinguished_name=dn",
        "[dn]",
        "[ext]",
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        `extendedKeyUsage=${eku}`,
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
        "",
      ].join("\n"),
    );
    await genKey(keyPath);
    const subj = `/CN=${opts.commonName}${opts.organization ? `/O=${opts.organization}` : ""}`;
    const csr = join(tmp, "leaf.csr");
    await run("openssl", ["req", "-new", "-config", cnf, "-key", keyPath, "-subj", subj, "-out", csr]);
    // prettier-ignore
    await run("openssl", ["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-set_serial", `0x${randomBytes(16).toString("hex")}`, "-days", String(opts.days ?? 365), "-sha256", "-extfile", cnf, "-extensions", "ext", "-out", certPath]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** mkdir -p that returns the path. */
export async function ensureDir(path: string, mode = 0o755): Promise<string> {
  await mkdir(path, { recursive: true, mode });
  return path;
}

/** What {@link issueDated} makes: a certificate valid from `notBefore` to `notAfter` (either may be in the past). */
export interface DatedOptions {
  commonName: string;
  organization?: string;
  dnsNames?: string[];
  ips?: string[];
  usage: "server" | "client";
  notBefore: Date;
  notAfter: Date;
}

/**
 * A certificate and its new key (PEM, in that order, one string, as the kubelet's certificate store keeps them) with
 * explicit dates, e.g. one that expired during an outage. `openssl x509 -days` cannot go back in time; `openssl ca`
 * takes explicit dates.
 */
export async function issueDated(ca: CaFiles, opts: DatedOptions): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "lab-dated-"));
  try {
    const sans = [...(opts.dnsNames ?? []).map((d) => `DNS:${d}`), ...(opts.ips ?? []).map((i) => `IP:${i}`)];
    const f = (n: string): string => join(dir, n);
    await writeFile(f("index.txt"), "");
    await writeFile(
      f("ca.cnf"),
      [
        "[ca]",
        "default_ca = lab",
        "[lab]",
        `database = ${f("index.txt")}`,
        `new_certs_dir = ${dir}`,
        "rand_serial = yes",
        "default_md = sha256",
        "policy = any",
        "unique_subject = no",
        "[any]",
        "commonName = supplied",
        "organizationName = optional",
        "[ext]",
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        `extendedKeyUsage=${opts.usage === "server" ? "serverAuth" : "clientAuth"}`,
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
        "",
      ].join("\n"),
    );
    await genKey(f("key.pem"));
    const subj = `${opts.organization ? `/O=${opts.organization}` : ""}/CN=${opts.commonName}`;
    await run("openssl", ["req", "-new", "-key", f("key.pem"), "-subj", subj, "-out", f("req.pem")]);
    const asn1 = (d: Date): string => `${d.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
    // prettier-ignore
    await run("openssl", ["ca", "-batch", "-notext", "-config", f("ca.cnf"), "-extensions", "ext", "-cert", ca.cert, "-keyfile", ca.key, "-in", f("req.pem"), "-out", f("cert.pem"), "-startdate", asn1(opts.notBefore), "-enddate", asn1(opts.notAfter)]);
    return `${(await readFile(f("cert.pem"), "utf8")).trimEnd()}\n${(await readFile(f("key.pem"), "utf8")).trimEnd()}\n`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
