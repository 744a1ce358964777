import { link, mkdir, unlink } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { KubecycleError } from "../../shared/index.js";
import { CERT_MODE, DIR_MODE, exists, withStagingDir } from "./files.js";
import { openssl } from "./openssl.js";
import { ASIDE_DIR, readCa, readPkiCertificate, type PkiCertificate } from "./inspect.js";
import { checkCaOutlives, issueAgentCert, issueClientCert, type WrittenFiles } from "./pki.js";

const DAY_MS = 86_400_000;

/** Options of {@link renewCertificate}. */
export interface RenewOptions {
  /** Validity of the new certificate in days. Default: the old certificate's validity period. */
  days?: number;
  /** The openssl binary. Default `openssl` from PATH. */
  openssl?: string;
  /** Now, for tests. Default Date.now(). */
  nowMs?: number;
}

/** What {@link renewCertificate} did. */
export interface Renewed {
  name: string;
  kind: "agent" | "client";
  commonName: string;
  /** The new files, under their usual names. */
  files: WrittenFiles;
  /** The old files, kept aside under `<kind dir>/old/`. */
  aside: WrittenFiles;
  oldNotAfter: string;
  notAfter: string;
}

/**
 * The certificate `name` names: "agents/N" or "clients/N", or a bare N found in exactly one of the two. An unknown
 * or ambiguous name is INVALID_REQUEST saying which names exist.
 */
export async function resolveLeaf(dir: string, name: string): Promise<{ name: string; kind: "agent" | "client" }> {
  const explicit = /^(agents|clients)\/(.+)$/.exec(name);
  const candidates = explicit
    ? [{ sub: explicit[1] ?? "", base: explicit[2] ?? "" }]
    : [
        { sub: "agents", base: name },
        { sub: "clients", base: name },
      ];
  const found = [];
  for (const c of candidates) {
    // The name becomes a path: nothing that climbs out of the folder.
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]*$/.test(c.base)) continue;
    if (await exists(join(dir, c.sub, `${c.base}.crt`))) found.push(c);
  }
  if (found.length === 1 && found[0]) {
    return { name: `${found[0].sub}/${found[0].base}`, kind: found[0].sub === "agents" ? "agent" : "client" };
  }
  if (found.length > 1) {
    throw new KubecycleError("INVALID_REQUEST", `"${name}" is both an agent and a client certificate`, {
      field: "name",
      hint: `say which: agents/${name} or clients/${name}`,
    });
  }
  throw new KubecycleError("INVALID_REQUEST", `no agent or client certificate "${name}" in ${dir}`, {
    field: "name",
    hint: "`kubecycle pki check` lists them; the CA is renewed differently (see `kubecycle pki renew --help`)",
  });
}

/**
 * Re-issues an agent's or a client's certificate from the same CA: the same subject, SANs and role, a new key, a new
 * validity. The old certificate and key are kept aside (hard links under `old/`, taken before the new files are
 * renamed into place); the new files replace them atomically. Refuses, changing nothing, when the certificate was not
 * issued by this CA or when the CA expires before the new certificate would.
 */
export async function renewCertificate(dir: string, name: string, opts: RenewOptions = {}): Promise<Renewed> {
  const nowMs = opts.nowMs ?? Date.now();
  const leaf = await resolveLeaf(dir, name);
  const ca = await readCa(dir);
  const path = join(dir, `${leaf.name}.crt`);
  const old = await readPkiCertificate(path, leaf.name, leaf.kind, ca);
  if (old.error !== undefined) {
    throw new KubecycleError("PKI_FAILED", `cannot read ${path}: ${old.error}`, {
      path,
      hint: `issue it again with \`kubecycle pki ${leaf.kind} ... --force\``,
    });
  }
  if (!old.issuedByCa) {
    throw new KubecycleError("PKI_FAILED", `${path} (${old.subject}) was not issued by the CA in ${dir}`, {
      path,
      hint: `renew it from the PKI that issued it, or issue a new one here with \`kubecycle pki ${leaf.kind} ... --force\``,
    });
  }
  const base = leaf.name.slice(leaf.name.indexOf("/") + 1);
  if (old.commonName !== base) {
    throw new KubecycleError("PKI_FAILED", `${path} is named for "${old.commonName}", not "${base}"`, {
      path,
      hint: `rename it to ${old.commonName}.crt/.key, or issue a new one with \`kubecycle pki ${leaf.kind}\``,
    });
  }
  const days = opts.days ?? Math.max(1, Math.round((old.notAfterUnixMs - Date.parse(old.notBefore)) / DAY_MS));
  await checkCaOutlives(join(dir, "ca.crt"), days, nowMs);

  // Keep the old pair aside: hard links, so the files under their real names are never missing or half-written.
  const asideDir = join(dir, leaf.kind === "agent" ? "agents" : "clients", ASIDE_DIR);
  await mkdir(asideDir, { recursive: true, mode: DIR_MODE });
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, "");
  const aside = { cert: join(asideDir, `${base}.${stamp}.crt`), key: join(asideDir, `${base}.${stamp}.key`) };
  const current = { cert: path, key: join(dir, `${leaf.name}.key`) };
  await link(current.cert, aside.cert);
  await link(current.key, aside.key).catch(async (err: unknown) => {
    await unlink(aside.cert);
    throw err;
  });
  let files: WrittenFiles;
  try {
    files =
      leaf.kind === "agent"
        ? await issueAgentCert(dir, {
            node: old.commonName,
            ips: old.ips,
            dnsNames: old.dnsNames.filter((n) => n !== old.commonName),
            days,
            force: true,
            openssl: opts.openssl,
          })
        : await issueClientCert(dir, {
            name: old.commonName,
            role: clientRole(old),
            days,
            force: true,
            openssl: opts.openssl,
          });
  } catch (err) {
    // Nothing was replaced: the aside links would only be confusing duplicates.
    await Promise.all([unlink(aside.cert), unlink(aside.key)]).catch(() => undefined);
    throw err;
  }
  const renewed = await readPkiCertificate(files.cert, leaf.name, leaf.kind, ca);
  return {
    name: leaf.name,
    kind: leaf.kind,
    commonName: old.commonName,
    files,
    aside,
    oldNotAfter: old.notAfter,
    notAfter: renewed.notAfter,
  };
}

function clientRole(cert: PkiCertificate): "operator" | "viewer" {
  if (cert.role === "operator" || cert.role === "viewer") return cert.role;
  throw new KubecycleError("PKI_FAILED", `${cert.path} (${cert.subject}) grants no kubecycle role`, {
    path: cert.path,
    hint: "issue a new one with `kubecycle pki client NAME --role operator|viewer --force`",
  });
}

/** What {@link renewCa} did. */
export interface RenewedCa {
  name: "ca";
  kind: "ca";
  commonName: string;
  files: { cert: string };
  aside: { cert: string };
  oldNotAfter: string;
  notAfter: string;
}

/**
 * Renews the CA certificate with the same key and subject: every certificate it issued stays valid under the new
 * one (same issuer name, same key identifier), so the new `ca.crt` can be rolled out in any order. The old `ca.crt`
 * is kept aside in `old/`; the key is not touched.
 */
export async function renewCa(dir: string, opts: RenewOptions = {}): Promise<RenewedCa> {
  const nowMs = opts.nowMs ?? Date.now();
  const old = await readCa(dir);
  const files = { cert: join(dir, "ca.crt"), key: join(dir, "ca.key") };
  if (!(await exists(files.key))) {
    throw new KubecycleError("PKI_FAILED", `no CA key in ${dir} (need ca.key to renew ca.crt)`, { path: files.key });
  }
  const oldStart = Date.parse(old.validFrom);
  const oldEnd = Date.parse(old.validTo);
  const days = opts.days ?? Math.max(1, Math.round((oldEnd - oldStart) / DAY_MS));
  const bin = opts.openssl ?? "openssl";
  const asideDir = join(dir, ASIDE_DIR);
  await mkdir(asideDir, { recursive: true, mode: DIR_MODE });
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, "");
  const aside = { cert: join(asideDir, `ca.${stamp}.crt`) };
  await link(files.cert, aside.cert);
  try {
    await withStagingDir(dir, async (tmp) => {
      const cert = join(tmp, "ca.crt");
      // x509 -signkey re-signs the certificate itself: subject and extensions (key identifiers) are kept.
      // prettier-ignore
      await openssl(bin, [
        "x509", "-in", files.cert, "-signkey", files.key, "-days", String(days), "-sha256",
        "-set_serial", `0x${serialHex()}`, "-out", cert,
      ]);
      return [{ from: cert, to: files.cert, mode: CERT_MODE }];
    });
  } catch (err) {
    await unlink(aside.cert).catch(() => undefined);
    throw err;
  }
  const renewed = await readCa(dir);
  if (!old.publicKey.equals(renewed.publicKey) || renewed.subject !== old.subject) {
    throw new KubecycleError("PKI_FAILED", `the renewed ${files.cert} does not carry the old key and subject`, {
      path: files.cert,
      hint: `the old one is in ${aside.cert}: move it back`,
    });
  }
  return {
    name: "ca",
    kind: "ca",
    commonName:
      renewed.subject
        .split("\n")
        .find((l) => l.startsWith("CN="))
        ?.slice(3) ?? "",
    files: { cert: files.cert },
    aside,
    oldNotAfter: new Date(oldEnd).toISOString(),
    notAfter: new Date(renewed.validTo).toISOString(),
  };
}

function serialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString("hex");
}

/** How to put a renewed certificate to use, one line per step. */
export function rolloutSteps(r: Renewed | RenewedCa): string[] {
  if (r.kind === "ca") {
    return [
      `copy ${r.files.cert} to every node as /etc/kubecycle/pki/ca.crt (0644): each agent reloads it by itself`,
      "  (it watches the file; or at once: systemctl kill -s HUP kubecycle-agent), and to every client's agents.tls.ca",
      "  the key is unchanged, so certificates issued before stay valid; roll it out in any order",
    ];
  }
  if (r.kind === "agent") {
    return [
      `copy to node ${r.commonName}, e.g.:`,
      `  install -m 0644 ${r.files.cert} /etc/kubecycle/pki/agent.crt`,
      `  install -m 0600 ${r.files.key} /etc/kubecycle/pki/agent.key`,
      "  the agent reloads them by itself within a second (it watches the files), or at once on SIGHUP",
      "  (systemctl kill -s HUP kubecycle-agent); no restart, and calls in progress are not cut",
      "  then `kubecycle pki check --agents` shows which agents serve the new certificate",
    ];
  }
  return [
    `the next kubecycle command whose config names ${r.files.cert} (agents.tls.cert/key) presents the new one;`,
    "  copy it and its key to any other host this client runs from; the agents need nothing (same CA)",
  ];
}
