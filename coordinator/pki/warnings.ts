import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { CertificateInfo__Output } from "../../shared/index.js";

/** How long ahead `status` warns of a kubecycle certificate's expiry. */
export const CERT_WARN_WINDOW_MS = 30 * 86_400_000;

/** A kubecycle certificate that expires within the window, with who holds it and how to renew it. */
export interface CertWarning {
  /** "agent certificate", "CA", "client certificate". */
  what: "agent certificate" | "CA" | "client certificate";
  /** Who holds or serves it: node names, or "this coordinator". */
  holders: string[];
  subject: string;
  path: string;
  notAfter: string;
  daysLeft: number;
  expired: boolean;
  /** The command that renews it. */
  renew: string;
}

const cnOf = (subject: string): string =>
  subject
    .split(/,\s*|\n/)
    .find((p) => p.startsWith("CN="))
    ?.slice(3) ?? "";

function warning(
  what: CertWarning["what"],
  holder: string,
  subject: string,
  path: string,
  notAfterUnixMs: number,
  nowMs: number,
): CertWarning {
  const cn = cnOf(subject);
  return {
    what,
    holders: [holder],
    subject,
    path,
    notAfter: new Date(notAfterUnixMs).toISOString(),
    daysLeft: Math.floor((notAfterUnixMs - nowMs) / 86_400_000),
    expired: notAfterUnixMs <= nowMs,
    renew:
      what === "CA"
        ? "kubecycle pki renew ca"
        : what === "agent certificate"
          ? `kubecycle pki renew agents/${cn}`
          : `kubecycle pki renew clients/${cn}`,
  };
}

/** The kubecycle certificates an agent serves (its own and its CA, as GetCertificates reports them) that expire soon. */
export function servedCertWarnings(
  node: string,
  certs: readonly CertificateInfo__Output[],
  nowMs: number,
  windowMs: number,
): CertWarning[] {
  return certs
    .filter((c) => (c.purpose === "kubecycle-agent" || c.purpose === "kubecycle-ca") && !c.error)
    .filter((c) => Number(c.notAfterUnixMs) <= nowMs + windowMs)
    .map((c) =>
      warning(
        c.purpose === "kubecycle-ca" ? "CA" : "agent certificate",
        node,
        c.subject,
        c.path,
        Number(c.notAfterUnixMs),
        nowMs,
      ),
    );
}

/** This coordinator's own client certificate and the CA it trusts, when they expire soon (or cannot be read). */
export async function localCertWarnings(
  tls: { ca: string; cert: string },
  nowMs: number,
  windowMs: number,
): Promise<CertWarning[]> {
  const out: CertWarning[] = [];
  for (const [what, path] of [
    ["client certificate", tls.cert],
    ["CA", tls.ca],
  ] as const) {
    // The files were read when the session opened; a failure here is a race with a rewrite, not worth a warning.
    const cert = await readFile(path).then(
      (pem) => new X509Certificate(pem),
      () => undefined,
    );
    if (!cert) continue;
    const notAfter = Date.parse(cert.validTo);
    if (notAfter <= nowMs + windowMs) {
      const subject = cert.subject.split("\n").filter(Boolean).join(", ");
      out.push(warning(what, "this coordinator", subject, path, notAfter, nowMs));
    }
  }
  return out;
}

/** One warning per certificate: the same CA (subject and expiry) served by many agents is one line naming them. */
export function mergeCertWarnings(warnings: readonly CertWarning[]): CertWarning[] {
  const merged = new Map<string, CertWarning>();
  for (const w of warnings) {
    const key = `${w.what}|${w.subject}|${w.notAfter}`;
    const seen = merged.get(key);
    if (seen) seen.holders = [...new Set([...seen.holders, ...w.holders])].sort();
    else merged.set(key, { ...w, holders: [...w.holders] });
  }
  return [...merged.values()];
}

/** One line for people: what, whose, when, and the way out. */
export function formatCertWarning(w: CertWarning): string {
  const when = w.expired
    ? `EXPIRED on ${w.notAfter.slice(0, 10)}`
    : `expires ${w.notAfter.slice(0, 10)} (in ${w.daysLeft} days)`;
  return `WARNING: kubecycle ${w.what} ${w.subject} (${w.holders.join(", ")}) ${when}: renew with \`${w.renew}\``;
}
