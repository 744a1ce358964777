// Test certificates, issued with the openssl binary as the product's PKI does: a CA, certificates signed by it with
// any subject, SANs, key type and validity (including already expired ones). Test support only; never shipped.
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

async function openssl(args: string[], cwd: string): Promise<void> {
  await run("openssl", args, { cwd });
}

/** A CA that issues test certificates into `dir`. */
export interface TestCa {
  dir: string;
  caCert: string;
  caKey: string;
  /** Issues `name`.crt/.key; returns their paths. */
  issue(name: string, opts?: IssueOptions): Promise<{ cert: string; key: string }>;
}

/** Options of {@link TestCa.issue}. */
export interface IssueOptions {
  /** e.g. "/O=kubecycle:operator/CN=alice". Default "/CN=<name>". */
  subject?: string;
  /** e.g. ["DNS:localhost", "IP:127.0.0.1"]. */
  san?: string[];
  /** "ec" (P-256, default) or "rsa" (2048, as kubeadm issues). */
  keyType?: "ec" | "rsa";
  /** Validity dates as openssl ca takes them (YYYYMMDDHHMMSSZ). Default: from an hour ago for a year. */
  startDate?: string;
  endDate?: string;
}

const stamp = (d: Date): string => `${d.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;

/** Creates a CA in `dir` (EC P-256, or RSA). */
export async function createTestCa(dir: string, commonName = "kubecycle-test-ca"): Promise<TestCa> {
  await mkdir(join(dir, "db"), { recursive: true, mode: 0o700 });
  await writeFile(join(dir, "db", "index.txt"), "");
  await writeFile(join(dir, "db", "serial"), "1000\n");
  // openssl ca is the one openssl 3.0 command that sets arbitrary validity dates (for expired certificates).
  await writeFile(
    join(dir, "ca.cnf"),
    `[ca]
default_ca = test
[test]
dir = ${dir}
database = ${join(dir, "db", "index.txt")}
serial = ${join(dir, "db", "serial")}
new_certs_dir = ${join(dir, "db")}
default_md = sha256
policy = any
unique_subject = no
copy_extensions = copy
[any]
commonName = optional
organizationName = optional
`,
  );
  const caCert = join(dir, "ca.crt");
  const caKey = join(dir, "ca.key");
  await openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      caKey,
      "-out",
      caCert,
      "-subj",
      `/CN=${commonName}`,
      "-days",
      "3650",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  // openssl ca keeps a database (serial, index): one issue at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const issue = async (name: string, opts: IssueOptions = {}): Promise<{ cert: string; key: string }> => {
    const key = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const cert = join(dir, `${name}.crt`);
    const keyArgs =
      opts.keyType === "rsa" ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    const ext = [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      ...(opts.san?.length ? [`subjectAltName=${opts.san.join(",")}`] : []),
    ];
    await openssl(
      [
        "req",
        ...keyArgs,
        "-nodes",
        "-keyout",
        key,
        "-out",
        csr,
        "-subj",
        opts.subject ?? `/CN=${name}`,
        ...ext.flatMap((e) => ["-addext", e]),
      ],
      dir,
    );
    const now = Date.now();
    await openssl(
      [
        "ca",
        "-batch",
        "-config",
        join(dir, "ca.cnf"),
        "-cert",
        caCert,
        "-keyfile",
        caKey,
        "-in",
        csr,
        "-out",
        cert,
        "-notext",
        "-preserveDN",
        "-startdate",
        opts.startDate ?? stamp(new Date(now - 3_600_000)),
        "-enddate",
        opts.endDate ?? stamp(new Date(now + 365 * 86_400_000)),
      ],
      dir,
    );
    return { cert, key };
  };
  return {
    dir,
    caCert,
    caKey,
    issue(name, opts) {
      const next = queue.then(() => issue(name, opts));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}

/** The PEM text of a file. */
export function pem(path: string): Promise<Buffer> {
  return readFile(path);
}

/** openssl's date format for `IssueOptions.startDate/endDate`. */
export const opensslDate = stamp;
