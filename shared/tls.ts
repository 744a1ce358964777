import { readFile } from "node:fs/promises";
import { KubecycleError } from "./errors.js";

/** What a caller may do: operators change things, viewers only read. */
export type Role = "operator" | "viewer";

/** The certificate Organization (O) that grants each role; a certificate with neither gets nothing. */
export const ROLE_ORGANIZATIONS: Readonly<Record<string, Role>> = Object.freeze({
  "kubecycle:operator": "operator",
  "kubecycle:viewer": "viewer",
});

/** The Organization of agent certificates: it grants no client role, and lets an agent report about its own node. */
export const AGENT_ORGANIZATION = "kubecycle:agent";

/** The Organization of `kubecycle serve`'s serving certificate: agents send their reports only to a server holding it. */
export const SERVE_ORGANIZATION = "kubecycle:serve";

/** The subject fields we read, as Node's TLS layer reports them (a field repeated in the DN arrives as an array). */
export interface CertSubject {
  CN?: string | string[];
  O?: string | string[];
}

function values(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * The role a certificate subject grants, or undefined when it grants none. Like Kubernetes groups, several
 * Organizations add up: a certificate that names the operator organization is an operator.
 */
export function roleFromSubject(subject: CertSubject | undefined): Role | undefined {
  const roles = values(subject?.O).map((o) => ROLE_ORGANIZATIONS[o]);
  if (roles.includes("operator")) return "operator";
  if (roles.includes("viewer")) return "viewer";
  return undefined;
}

/** Whether a certificate subject names `organization` among its Organizations. */
export function hasOrganization(subject: CertSubject | undefined, organization: string): boolean {
  return values(subject?.O).includes(organization);
}

/** The caller's name for logs and audit lines: the certificate's first common name. */
export function identityFromSubject(subject: CertSubject | undefined): string {
  return values(subject?.CN)[0] ?? "";
}

/** Paths of a TLS identity: the CA that signs peers, and our own certificate and key (all PEM). */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** The same identity loaded into memory. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Reads the three PEM files; a missing or unreadable one is a CONFIG_INVALID error naming it. */
export async function readTlsFiles(files: TlsFiles, fieldPrefix = "tls"): Promise<TlsMaterial> {
  const read = async (field: keyof TlsFiles): Promise<Buffer> => {
    const path = files[field];
    try {
      const data = await readFile(path);
      if (!data.toString("utf8").includes("-----BEGIN")) {
        throw new KubecycleError("CONFIG_INVALID", `${fieldPrefix}.${field}: ${path} is not a PEM file`, {
          field: `${fieldPrefix}.${field}`,
        });
      }
      return data;
    } catch (err) {
      if (err instanceof KubecycleError) throw err;
      throw new KubecycleError(
        "CONFIG_INVALID",
        `${fieldPrefix}.${field}: cannot read ${path}: ${(err as Error).message}`,
        { field: `${fieldPrefix}.${field}`, hint: "issue certificates with `kubecycle pki`" },
        { cause: err },
      );
    }
  };
  const [ca, cert, key] = await Promise.all([read("ca"), read("cert"), read("key")]);
  return { ca, cert, key };
}
