// `kubecycle-agent install`: puts the running program, its config, its certificates and its unit where the unit
// expects them, then enables and starts it. Idempotent: what is already in place is left alone, and running it again
// changes nothing. The program and the unit are kubecycle's and are replaced on upgrade; the config and the
// certificates are the site's and are replaced only with --force.
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { existsSync, realpathSync } from "node:fs";
import { chmod, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isSea } from "node:sea";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { protoSource, KubecycleError, readYamlFile } from "../shared/index.js";
import { compileAgentConfig } from "./config.js";
import { failureText, runCommand } from "./exec.js";

/** Where the shipped unit (systemd/kubecycle-agent.service) expects each part; a test keeps them equal. */
export const INSTALL_PATHS = {
  program: "/usr/local/bin/kubecycle-agent",
  config: "/etc/kubecycle/agent.yaml",
  unit: "/etc/systemd/system/kubecycle-agent.service",
} as const;

export const AGENT_UNIT_NAME = "kubecycle-agent.service";

// systemd's PATH for services (systemd.exec(5)): where `#!/usr/bin/env node` must find node.
const SYSTEMD_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

// Replaced by scripts/bundle.mjs (esbuild's define) with systemd/kubecycle-agent.service; absent in source and dist/.
declare const KUBECYCLE_AGENT_UNIT: string | undefined;

/** What to install. */
export interface InstallOptions {
  /** Where the node's file system starts. Default "/"; another root writes the files only (no systemctl). */
  root: string;
  /** The agent config to install (a file); else one is written from nodeName and listen. */
  configFile?: string;
  /** nodeName of a written config. Default: the host name, as the agent's own default. */
  nodeName?: string;
  /** listen of a written config, "ADDRESS" or "ADDRESS:PORT" ("[v6]:PORT"). Default 0.0.0.0:9443. */
  listen?: string;
  /** The cluster's kubecycle CA certificate, this node's agent certificate and key (PEM files). */
  ca?: string;
  cert?: string;
  key?: string;
  /** Replace a config or certificate that differs from what is in place. Default false. */
  force: boolean;
  /** Start (or restart, when something changed) the agent. Default true; it is enabled either way. */
  start: boolean;
  /** The program to install. Default: the one running (the bundle, or the single executable). */
  program?: string;
  /** systemctl binary. Default "systemctl". */
  systemctl?: string;
}

/** What happened to one file. */
export interface InstalledFile {
  path: string;
  action: "created" | "updated" | "unchanged" | "kept";
}

export interface InstallResult {
  files: InstalledFile[];
  /** What was done to the service: "not asked" under another root or with start off. */
  service: "started" | "restarted" | "running" | "enabled" | "not asked";
}

const fail = (message: string, hint?: string) =>
  new KubecycleError("INSTALL_FAILED", message, hint === undefined ? {} : { hint });

/** Installs the agent; throws INSTALL_FAILED with what to do when something is missing or does not fit. */
export async function installAgent(opts: InstallOptions): Promise<InstallResult> {
  const root = opts.root;
  const at = (p: string) => join(root, p);
  const systemd = root === "/";
  if (systemd && process.getuid?.() !== 0) {
    throw fail("install must run as root (it writes /usr/local/bin, /etc/kubecycle and /etc/systemd/system)");
  }
  const program = opts.program ?? runningProgram();
  const unitText = await shippedUnit();
  // Under another root (an image being prepared) node may come later; on this node it must be there now.
  if (systemd && !isSea() && opts.program === undefined) requireNode();

  // Everything is read and checked before anything is written.
  const config = await configText(opts, at(INSTALL_PATHS.config));
  const compiled = compileAgentConfig(config.parsed, config.source);
  const tlsFiles = await certificateFiles(opts, compiled.tls, at);

  const files: InstalledFile[] = [];
  files.push(await place(at(INSTALL_PATHS.program), await readFile(program), 0o755, "replace"));
  if (config.text === undefined) files.push({ path: at(INSTALL_PATHS.config), action: "kept" });
  else files.push(await place(at(INSTALL_PATHS.config), config.text, 0o644, opts.force ? "replace" : "refuse"));
  for (const f of tlsFiles) {
    if (f.content === undefined) files.push({ path: f.path, action: "kept" });
    else files.push(await place(f.path, f.content, f.mode, opts.force ? "replace" : "refuse"));
  }
  files.push(await place(at(INSTALL_PATHS.unit), Buffer.from(unitText), 0o644, "replace"));

  if (!systemd) return { files, service: "not asked" };
  return { files, service: await enableAndStart(files, opts) };
}

/** The running program: the single executable, or the bundle (which carries the contract and the unit in itself). */
function runningProgram(): string {
  if (isSea()) return process.execPath;
  if (protoSource() !== "embedded" || typeof KUBECYCLE_AGENT_UNIT !== "string") {
    throw fail(
      "install runs from a release build: this one reads proto/ and systemd/ from the checkout",
      "run `npm run build` and use dist/bin/kubecycle-agent.mjs, or the release (npm run release)",
    );
  }
  return realpathSync(process.argv[1] ?? fileURLToPath(import.meta.url));
}

async function shippedUnit(): Promise<string> {
  if (typeof KUBECYCLE_AGENT_UNIT === "string") return KUBECYCLE_AGENT_UNIT;
  // From source or dist/ (tests): the repo's own unit file.
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, "systemd", AGENT_UNIT_NAME);
    if (existsSync(file)) return readFile(file, "utf8");
  }
  throw fail(`systemd/${AGENT_UNIT_NAME} not found above ${fileURLToPath(import.meta.url)}`);
}

/** The bundle's #! line runs `env node`: under systemd, node must be on systemd's own PATH, not the login shell's. */
function requireNode(): void {
  if (SYSTEMD_PATH.some((d) => existsSync(join(d, "node")))) return;
  throw fail(
    `node is not in ${SYSTEMD_PATH.join(":")}, where systemd will look for it`,
    "install Node.js 20.19 or newer from your distribution (/usr/bin/node), link it into /usr/local/bin, or use the single executable",
  );
}

async function configText(
  opts: InstallOptions,
  target: string,
): Promise<{ parsed: unknown; source: string; text: Buffer | undefined }> {
  if (opts.configFile !== undefined) {
    const text = await readFile(opts.configFile).catch((err: NodeJS.ErrnoException) => {
      throw fail(`--config ${opts.configFile}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
    });
    return { parsed: await readYamlFile(opts.configFile), source: opts.configFile, text };
  }
  if (opts.nodeName === undefined && opts.listen === undefined && existsSync(target)) {
    // Re-running install (an upgrade) keeps the config in place, checked.
    return { parsed: await readYamlFile(target), source: target, text: undefined };
  }
  const raw: Record<string, unknown> = {};
  if (opts.nodeName !== undefined) raw.nodeName = opts.nodeName;
  if (opts.listen !== undefined) raw.listen = parseListen(opts.listen);
  return { parsed: raw, source: "the install flags", text: Buffer.from(stringify(raw)) };
}

/** "10.0.0.1", "10.0.0.1:9443", "[fd00::1]:9443" or "fd00::1". */
export function parseListen(listen: string): { address: string; port?: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(listen) ?? /^([^:]+)(?::(\d+))?$/.exec(listen);
  const address = m?.[1] ?? listen;
  const port = m?.[2];
  return port === undefined ? { address } : { address, port: Number(port) };
}

interface TlsFile {
  path: string;
  mode: number;
  /** undefined: keep the one in place. */
  content: Buffer | undefined;
}

async function certificateFiles(
  opts: InstallOptions,
  tls: { ca: string; cert: string; key: string },
  at: (p: string) => string,
): Promise<TlsFile[]> {
  const given = { ca: opts.ca, cert: opts.cert, key: opts.key };
  const flags = Object.entries(given).filter(([, v]) => v !== undefined);
  if (flags.length !== 0 && flags.length !== 3) {
    throw fail("--ca, --cert and --key go together: give all three, or none to keep those installed");
  }
  const source = flags.length === 3 ? given : { ca: at(tls.ca), cert: at(tls.cert), key: at(tls.key) };
  const read = async (flag: string, path: string | undefined) => {
    if (path === undefined) throw fail(`--${flag} is missing`);
    return readFile(path).catch((err: NodeJS.ErrnoException) => {
      const what = flags.length === 3 ? `--${flag} ${path}` : `${path} (installed ${flag})`;
      throw fail(
        `${what}: ${err.code === "ENOENT" ? "no such file" : err.message}`,
        flags.length === 3 ? undefined : "give --ca, --cert and --key (made by `kubecycle pki agent NODE`)",
      );
    });
  };
  const ca = await read("ca", source.ca);
  const cert = await read("cert", source.cert);
  const key = await read("key", source.key);
  checkCertificates(ca, cert, key, source);
  if (flags.length !== 3) {
    return [tls.ca, tls.cert, tls.key].map((p, i) => ({
      path: at(p),
      mode: i === 2 ? 0o600 : 0o644,
      content: undefined,
    }));
  }
  return [
    { path: at(tls.ca), mode: 0o644, content: ca },
    { path: at(tls.cert), mode: 0o644, content: cert },
    { path: at(tls.key), mode: 0o600, content: key },
  ];
}

/** The agent would refuse to start with these; say so now, naming the file. */
function checkCertificates(
  ca: Buffer,
  cert: Buffer,
  key: Buffer,
  names: { ca?: string; cert?: string; key?: string },
): void {
  const parse = <T>(file: string | undefined, kind: "certificate" | "private key", f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw fail(`${file} is not a PEM ${kind}: ${(err as Error).message}`);
    }
  };
  const caCert = parse(names.ca, "certificate", () => new X509Certificate(ca));
  const agentCert = parse(names.cert, "certificate", () => new X509Certificate(cert));
  const agentKey: KeyObject = parse(names.key, "private key", () => createPrivateKey(key));
  if (!agentCert.checkPrivateKey(agentKey)) throw fail(`${names.key} is not the key of ${names.cert}`);
  if (!agentCert.verify(caCert.publicKey)) {
    throw fail(`${names.cert} is not signed by ${names.ca}`, "use the CA the coordinator's certificates come from");
  }
  if (Date.parse(agentCert.validTo) < Date.now()) {
    throw fail(`${names.cert} expired on ${agentCert.validTo}`, "issue a new one: kubecycle pki agent NODE --force");
  }
}

/** Writes a file whose content differs (temp, fsync, rename), creating its directory. */
async function place(
  path: string,
  content: Buffer,
  mode: number,
  ifDifferent: "replace" | "refuse",
): Promise<InstalledFile> {
  const current = await readFile(path).catch(() => undefined);
  if (current?.equals(content)) {
    // Same content: only a wrong mode (a key left world-readable) is fixed.
    if (((await stat(path)).mode & 0o777) !== mode) await chmod(path, mode);
    return { path, action: "unchanged" };
  }
  if (current !== undefined && ifDifferent === "refuse") {
    throw fail(`${path} is already installed and differs`, "re-run with --force to replace it");
  }
  // /etc/kubecycle/pki holds the key: private from the start.
  await mkdir(dirname(path), { recursive: true, mode: path.includes("/pki/") ? 0o700 : 0o755 });
  const tmp = `${path}.kubecycle-install.tmp`;
  const fh = await open(tmp, "w", mode);
  try {
    await fh.writeFile(content);
    await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { path, action: current === undefined ? "created" : "updated" };
}

async function enableAndStart(
  files: readonly InstalledFile[],
  opts: InstallOptions,
): Promise<InstallResult["service"]> {
  const systemctl = async (...args: string[]) => {
    const r = await runCommand(opts.systemctl ?? "systemctl", args, { timeoutMs: 60_000 });
    return r;
  };
  const must = async (...args: string[]) => {
    const r = await systemctl(...args);
    if (r.code !== 0) {
      const status = await systemctl("status", "--no-pager", "--lines=20", AGENT_UNIT_NAME).catch(() => undefined);
      throw fail(
        `systemctl ${args.join(" ")} failed: ${failureText(r)}${status ? `\n${status.stdout.trim()}` : ""}`,
        `see journalctl -u ${AGENT_UNIT_NAME}`,
      );
    }
  };
  const changed = files.some((f) => f.action === "created" || f.action === "updated");
  if (files.some((f) => f.path.endsWith(INSTALL_PATHS.unit) && f.action !== "unchanged")) await must("daemon-reload");
  await must("enable", "--quiet", AGENT_UNIT_NAME);
  if (!opts.start) return "enabled";
  const active = (await systemctl("is-active", "--quiet", AGENT_UNIT_NAME)).code === 0;
  if (active && !changed) return "running";
  await must(active ? "restart" : "start", AGENT_UNIT_NAME);
  return active ? "restarted" : "started";
}
