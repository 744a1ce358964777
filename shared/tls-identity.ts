import { X509Certificate, createHash, createPrivateKey } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { createSecureContext } from "node:tls";
import { KubecycleError } from "./errors.js";
import type { Logger } from "./log.js";
import { readTlsFiles, type TlsFiles, type TlsMaterial } from "./tls.js";

// Only these blocks are parsed: a CA file may be a bundle (old and new CA while a CA is rolled).
const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

/** Time between the last change seen in the certificate files and the reload: `cp cert; cp key` is one change. */
export const TLS_RELOAD_DEBOUNCE_MS = 500;

/** The TLS identity a server serves (the agent's, `kubecycle serve`'s): its material, and the certificates parsed from it. */
export interface ServedIdentity {
  readonly material: TlsMaterial;
  /** The server's own certificate (the first of its file). */
  readonly cert: X509Certificate;
  /** The CAs client certificates are checked against (every certificate of the CA file). */
  readonly cas: readonly X509Certificate[];
  /** sha256 of the three files' bytes: a reload that changes nothing is no reload. */
  readonly digest: string;
}

const refuser =
  (prefix: string) =>
  (field: keyof TlsFiles, message: string, hint?: string): KubecycleError =>
    new KubecycleError("CONFIG_INVALID", `${prefix}.${field}: ${message}`, {
      field: `${prefix}.${field}`,
      ...(hint ? { hint } : {}),
    });

function parseAll(pem: Buffer): X509Certificate[] {
  return [...pem.toString("utf8").matchAll(CERTIFICATE_PEM)].map((m) => new X509Certificate(m[0]));
}

/**
 * Checks that `material` is an identity a server can serve: the CA file holds CA certificates, the key is the
 * certificate's, the certificate was issued by one of those CAs and is valid at `nowMs`, and Node's TLS accepts the
 * three together. A failure is CONFIG_INVALID naming the file (under `opts.field`, default "tls"): the server keeps
 * what it serves.
 */
export function checkIdentity(
  material: TlsMaterial,
  files: TlsFiles,
  opts: { nowMs?: number; allowExpired?: boolean; field?: string } = {},
): ServedIdentity {
  const nowMs = opts.nowMs ?? Date.now();
  const refused = refuser(opts.field ?? "tls");
  let cas: X509Certificate[];
  try {
    cas = parseAll(material.ca);
  } catch (err) {
    throw refused("ca", `${files.ca} holds an unreadable certificate: ${(err as Error).message}`);
  }
  if (cas.length === 0) throw refused("ca", `${files.ca} holds no PEM certificate`);
  const notCa = cas.find((c) => !c.ca);
  if (notCa) throw refused("ca", `${files.ca} holds a certificate that is not a CA (${oneLine(notCa.subject)})`);
  let cert: X509Certificate | undefined;
  try {
    cert = parseAll(material.cert)[0];
  } catch (err) {
    throw refused("cert", `${files.cert} holds an unreadable certificate: ${(err as Error).message}`);
  }
  if (!cert) throw refused("cert", `${files.cert} holds no PEM certificate`);
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(material.key));
  } catch (err) {
    throw refused("key", `${files.key} is not a readable private key: ${(err as Error).message}`);
  }
  const subject = oneLine(cert.subject);
  if (!matches) {
    throw refused(
      "key",
      `${files.key} is not the key of ${files.cert} (${subject})`,
      "copy the certificate and key issued together (kubecycle pki renew writes both)",
    );
  }
  if (!cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
    throw refused(
      "cert",
      `${files.cert} (${subject}) was not issued by a CA in ${files.ca}`,
      "install the CA that issued it, or a bundle of the old and the new CA while a CA is rolled",
    );
  }
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  if (!opts.allowExpired) {
    if (nowMs >= notAfter) throw refused("cert", `${files.cert} (${subject}) expired on ${cert.validTo}`);
    if (nowMs < notBefore) throw refused("cert", `${files.cert} (${subject}) is not valid before ${cert.validFrom}`);
  }
  try {
    createSecureContext({ ca: material.ca, cert: material.cert, key: material.key });
  } catch (err) {
    throw refused("cert", `TLS refuses ${files.cert} with ${files.key}: ${(err as Error).message}`);
  }
  const digest = createHash("sha256").update(material.ca).update(material.cert).update(material.key).digest("hex");
  return { material, cert, cas, digest };
}

const oneLine = (dn: string): string => dn.split("\n").filter(Boolean).join(", ");

/** What a reload did: `reloaded` (new connections get it), `unchanged` (same bytes), `refused` (the old one stays). */
export type ReloadOutcome =
  | { result: "reloaded"; subject: string; notAfter: string; fingerprint: string }
  | { result: "unchanged" }
  | { result: "refused"; error: KubecycleError };

/** Why a reload was asked for, for the log. */
export type ReloadTrigger = "SIGHUP" | "file-change";

/**
 * Owns the identity a server serves and replaces it without a restart: on {@link reload} (the agent's SIGHUP), and
 * when one of
 * the three files changes (watched through their directories, since tools replace a file by renaming a new one over
 * it). A new identity that fails {@link checkIdentity} is refused with an error log line, and the old one keeps
 * serving. Reloads run one at a time.
 */
export class TlsIdentity {
  readonly files: TlsFiles;
  readonly #apply: (identity: ServedIdentity) => void;
  readonly #log: Logger;
  readonly #debounceMs: number;
  /** Whose identity, in log lines ("the agent's"), and the config field its files are named under ("tls"). */
  readonly #owner: string;
  readonly #field: string;
  #current: ServedIdentity;
  #queue: Promise<unknown> = Promise.resolve();
  #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;

  private constructor(opts: {
    files: TlsFiles;
    initial: ServedIdentity;
    apply: (identity: ServedIdentity) => void;
    log: Logger;
    debounceMs: number;
    owner: string;
    field: string;
  }) {
    this.files = opts.files;
    this.#current = opts.initial;
    this.#apply = opts.apply;
    this.#log = opts.log;
    this.#debounceMs = opts.debounceMs;
    this.#owner = opts.owner;
    this.#field = opts.field;
  }

  /** Reads and checks the files; the server does not start on an identity it could not serve. */
  static async load(opts: {
    files: TlsFiles;
    log: Logger;
    /** Called with each accepted new identity. */
    apply: (identity: ServedIdentity) => void;
    /** Default {@link TLS_RELOAD_DEBOUNCE_MS}. */
    debounceMs?: number;
    /** Whose identity, in log lines. Default "the agent's". */
    owner?: string;
    /** The config field the files are named under. Default "tls". */
    field?: string;
  }): Promise<TlsIdentity> {
    const field = opts.field ?? "tls";
    // At start an expired certificate is served all the same (and logged): a server that does not run cannot pick up
    // the renewed one, and systemd would restart it forever. A reload never replaces a certificate by an expired one.
    const initial = checkIdentity(await readTlsFiles(opts.files, field), opts.files, { allowExpired: true, field });
    const identity = new TlsIdentity({
      ...opts,
      initial,
      debounceMs: opts.debounceMs ?? TLS_RELOAD_DEBOUNCE_MS,
      owner: opts.owner ?? "the agent's",
      field,
    });
    identity.#logExpiry(initial);
    return identity;
  }

  /** The identity served now. */
  current(): ServedIdentity {
    return this.#current;
  }

  /** Reads the files again and serves them if they pass the checks; otherwise logs why and keeps the old ones. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const next = this.#queue.then(() => this.#reloadNow(trigger));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #reloadNow(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    let identity: ServedIdentity;
    try {
      identity = checkIdentity(await readTlsFiles(this.files, this.#field), this.files, { field: this.#field });
    } catch (err) {
      const error =
        err instanceof KubecycleError
          ? err
          : new KubecycleError(
              "CONFIG_INVALID",
              `${this.#field}: ${(err as Error).message}`,
              { field: this.#field },
              { cause: err },
            );
      this.#log.error(
        { trigger, err: error.message, hint: error.fields.hint, serving: oneLine(this.#current.cert.subject) },
        "TLS reload refused; still serving the previous certificate",
      );
      return { result: "refused", error };
    }
    if (identity.digest === this.#current.digest) {
      this.#log.debug({ trigger }, "TLS files unchanged");
      return { result: "unchanged" };
    }
    this.#apply(identity);
    this.#current = identity;
    const outcome = {
      result: "reloaded" as const,
      subject: oneLine(identity.cert.subject),
      notAfter: new Date(identity.cert.validTo).toISOString(),
      fingerprint: identity.cert.fingerprint256,
    };
    this.#log.info(
      { trigger, ...outcome, cas: identity.cas.map((c) => oneLine(c.subject)) },
      "TLS reloaded: new connections use the new certificate and CA",
    );
    this.#logExpiry(identity);
    return outcome;
  }

  /**
   * Watches the three files' directories and reloads `debounceMs` after the last change to one of them (or to
   * anything in them, when the kernel does not say what changed).
   */
  watch(): void {
    if (this.#watchers.length > 0) return;
    const names = new Set([this.files.ca, this.files.cert, this.files.key].map((f) => basename(f)));
    for (const dir of new Set([this.files.ca, this.files.cert, this.files.key].map((f) => dirname(f)))) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(name.toString())) this.#schedule();
        });
        watcher.on("error", (err) =>
          this.#log.warn({ dir, err: err.message }, "cannot watch the TLS files any more; SIGHUP still reloads"),
        );
        this.#watchers.push(watcher);
      } catch (err) {
        this.#log.warn({ dir, err: (err as Error).message }, "cannot watch the TLS files; SIGHUP still reloads");
      }
    }
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.reload("file-change");
    }, this.#debounceMs);
  }

  /** Stops watching. */
  close(): void {
    clearTimeout(this.#timer);
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
  }

  #logExpiry(identity: ServedIdentity): void {
    const now = Date.now();
    const soon = now + 30 * 86_400_000;
    for (const [what, cert] of [
      ["certificate", identity.cert],
      ...identity.cas.map((c) => ["CA", c] as const),
    ] as const) {
      const notAfter = Date.parse(cert.validTo);
      if (notAfter <= now) {
        this.#log.error(
          { subject: oneLine(cert.subject), notAfter: new Date(notAfter).toISOString() },
          `${this.#owner} ${what} has expired: clients refuse it; renew it (kubecycle pki renew) and copy it in place`,
        );
      } else if (notAfter < soon) {
        this.#log.warn(
          { subject: oneLine(cert.subject), notAfter: new Date(cert.validTo).toISOString() },
          `${this.#owner} ${what} expires within 30 days; renew it (kubecycle pki renew) and copy it in place`,
        );
      }
    }
  }
}
