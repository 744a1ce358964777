import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import type {
  Address__Output,
  EtcdLayout__Output,
  NodeLayout__Output,
  RuntimeLayout__Output,
  RuntimeUnit__Output,
} from "../shared/index.js";
import { componentArgv, flagValue, type StaticPod, type StaticPodReader } from "./manifests.js";
import type { UnitState } from "./systemd/unit-manager.js";

/** How etcd is configured on this node. */
export type EtcdMode = "none" | "systemd" | "static-pod";

/**
 * How etcd is configured on this node: what the agent needs to ask it and to read its certificates. It says nothing
 * about membership, which is etcd's member list's to say.
 */
export interface EtcdConfig {
  mode: EtcdMode;
  /** The systemd unit (systemd mode). */
  unit: string;
  /** The environment file or the static pod manifest the configuration was read from. */
  configFile: string;
  name: string;
  clientUrls: string[];
  peerUrls: string[];
  dataDir: string;
  /** The client credentials the agent uses to ask etcd (empty when etcd is plain http). */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The member's own serving and peer certificates. */
  serverCertFile: string;
  peerCertFile: string;
  /** Where etcdctl on the node would go: ETCDCTL_ENDPOINTS, used when no client URL is advertised. */
  fallbackEndpoints: string[];
  /** Why the configuration could not be read completely. */
  error: string;
  /** --quota-backend-bytes / ETCD_QUOTA_BACKEND_BYTES; 0 when unset (etcd's default, 2 GiB). */
  quotaBackendBytes: number;
  /** --initial-cluster / ETCD_INITIAL_CLUSTER, "name=url,..." (empty when unset). */
  initialCluster: string;
}

/** The etcd unit the agent looks for among its allow-listed units (KubeKey's name). */
export const ETCD_UNIT = "etcd.service";
export const KUBELET_UNIT = "kubelet.service";
/**
 * The container runtime's services, in start order: containerd, then docker (which uses it), then cri-dockerd
 * (which talks to docker), under both its packaged name and its upstream one (cri-docker.service).
 */
export const RUNTIME_SERVICES: readonly string[] = ["containerd", "docker", "cri-dockerd", "cri-docker"];

const NONE: Readonly<EtcdConfig> = Object.freeze({
  mode: "none",
  unit: "",
  configFile: "",
  name: "",
  clientUrls: [],
  peerUrls: [],
  dataDir: "",
  caFile: "",
  certFile: "",
  keyFile: "",
  serverCertFile: "",
  peerCertFile: "",
  fallbackEndpoints: [],
  error: "",
  quotaBackendBytes: 0,
  initialCluster: "",
});

/** Parses an EnvironmentFile: KEY=VALUE lines, optional quotes, # comments. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0])
      value = value.slice(1, -1);
    env[key] = value;
  }
  return env;
}

/** A byte count as etcd takes it (a plain integer); 0 when absent or not one. */
const bytes = (v: string | undefined): number => (v !== undefined && /^\d+$/.test(v.trim()) ? Number(v.trim()) : 0);

const urls = (v: string | undefined): string[] =>
  (v ?? "")
    .split(",")
    .map((u) => u.trim())
    .filter((u) => u !== "");

/**
 * etcd as a systemd unit, from its environment file (KubeKey's /etc/etcd.env). The client credentials are etcdctl's
 * own (ETCDCTL_CACERT/CERT/KEY, what an admin on the node uses); without them, the member's server certificate,
 * which KubeKey and kubeadm issue for client authentication too.
 */
export function etcdFromEnvFile(env: Readonly<Record<string, string>>, file: string, unit: string): EtcdConfig {
  const ctl = env.ETCDCTL_CERT && env.ETCDCTL_KEY;
  const clientUrls = urls(env.ETCD_ADVERTISE_CLIENT_URLS);
  const fallbackEndpoints = urls(env.ETCDCTL_ENDPOINTS);
  return {
    mode: "systemd",
    unit,
    configFile: file,
    name: env.ETCD_NAME ?? "",
    clientUrls,
    peerUrls: urls(env.ETCD_INITIAL_ADVERTISE_PEER_URLS),
    dataDir: env.ETCD_DATA_DIR ?? "",
    caFile: env.ETCDCTL_CACERT || env.ETCD_TRUSTED_CA_FILE || "",
    certFile: (ctl ? env.ETCDCTL_CERT : env.ETCD_CERT_FILE) ?? "",
    keyFile: (ctl ? env.ETCDCTL_KEY : env.ETCD_KEY_FILE) ?? "",
    serverCertFile: env.ETCD_CERT_FILE ?? "",
    peerCertFile: env.ETCD_PEER_CERT_FILE ?? "",
    fallbackEndpoints,
    error:
      clientUrls.length === 0 && fallbackEndpoints.length === 0
        ? `${file} names no client URL (ETCD_ADVERTISE_CLIENT_URLS)`
        : "",
    quotaBackendBytes: bytes(env.ETCD_QUOTA_BACKEND_BYTES),
    initialCluster: env.ETCD_INITIAL_CLUSTER ?? "",
  };
}

/** Whether a file can be read by the agent. */
async function readable(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * etcd as kubeadm runs it: a static pod whose container flags say everything. The client credentials are kubeadm's
 * health-check client (what kubeadm itself asks etcd with), else the apiserver's etcd client, else the member's
 * server certificate (kubeadm issues it for client authentication too). The paths in the manifest are the node's:
 * kubeadm mounts them into the pod at the same place.
 */
export async function etcdFromManifest(
  pod: StaticPod,
  pkiDir: string,
  canRead: (path: string) => Promise<boolean> = readable,
): Promise<EtcdConfig> {
  const argv = componentArgv(pod);
  const flag = (f: string) => flagValue(argv, f) ?? "";
  const serverCert = flag("cert-file");
  const serverKey = flag("key-file");
  const candidates: Array<[string, string]> = [
    [join(pkiDir, "etcd", "healthcheck-client.crt"), join(pkiDir, "etcd", "healthcheck-client.key")],
    [join(pkiDir, "apiserver-etcd-client.crt"), join(pkiDir, "apiserver-etcd-client.key")],
  ];
  let client: [string, string] = [serverCert, serverKey];
  for (const [cert, key] of candidates) {
    if ((await canRead(cert)) && (await canRead(key))) {
      client = [cert, key];
      break;
    }
  }
  const clientUrls = urls(flag("advertise-client-urls"));
  return {
    mode: "static-pod",
    unit: "",
    configFile: pod.file,
    name: flag("name"),
    clientUrls,
    peerUrls: urls(flag("initial-advertise-peer-urls")),
    dataDir: flag("data-dir"),
    caFile: flag("trusted-ca-file"),
    certFile: client[0],
    keyFile: client[1],
    serverCertFile: serverCert,
    peerCertFile: flag("peer-cert-file"),
    fallbackEndpoints: [],
    error: clientUrls.length === 0 ? `${pod.file} names no client URL (--advertise-client-urls)` : "",
    quotaBackendBytes: bytes(flag("quota-backend-bytes")),
    initialCluster: flag("initial-cluster"),
  };
}

/** The manifest of a component among the static pods (kubeadm names the file after it, but the label is what counts). */
export function findComponent(pods: readonly StaticPod[], component: string): StaticPod | undefined {
  return pods.find((p) => p.component === component);
}

/**
 * The runtime's units that exist here, in start order, each service with its socket unit when that exists too (a
 * socket-activated service comes back at the next client unless its socket is stopped with it). Only allow-listed
 * units count: the agent could not stop the others.
 */
export function runtimeLayout(states: ReadonlyMap<string, UnitState>): RuntimeLayout__Output {
  const exists = (u: string) => {
    const s = states.get(u);
    return s !== undefined && s.loadState !== "not-found";
  };
  const units: RuntimeUnit__Output[] = RUNTIME_SERVICES.filter((b) => exists(`${b}.service`)).map((b) => ({
    service: `${b}.service`,
    socket: exists(`${b}.socket`) ? `${b}.socket` : "",
  }));
  const kind = exists("docker.service") ? "docker" : exists("containerd.service") ? "containerd" : "";
  return { kind, units };
}

/** The units whose existence the layout depends on, in allow-list order. */
export function layoutUnits(allow: readonly string[]): string[] {
  const wanted = new Set([
    ETCD_UNIT,
    KUBELET_UNIT,
    ...RUNTIME_SERVICES.flatMap((b) => [`${b}.service`, `${b}.socket`]),
  ]);
  return allow.filter((u) => wanted.has(u));
}

/** What the layout reads from the rest of the agent. */
export interface LayoutDeps {
  nodeName: string;
  /** The agent's allow-list. */
  allow: readonly string[];
  etcdEnvFile: string;
  pkiDir: string;
  staticPods: StaticPodReader;
  /** Unit states, in the order asked (units that do not exist come back "not-found"). */
  unitStates: (units: readonly string[], signal?: AbortSignal) => Promise<UnitState[]>;
  bootId: () => Promise<string>;
  addresses: () => Address__Output[];
}

/**
 * How this node runs what kubecycle controls, found on the node: etcd (a unit with an environment file, a static pod,
 * or none), the runtime's units, the kubelet's unit, the static pods.
 */
export class NodeLayoutReader {
  readonly #deps: LayoutDeps;

  constructor(deps: LayoutDeps) {
    this.#deps = deps;
  }

  /**
   * How etcd is configured here. A unit with a readable environment file is systemd mode; else an etcd static pod
   * is static-pod mode; an etcd unit whose environment file cannot be read is systemd mode with the reason.
   */
  async etcd(signal?: AbortSignal, pods?: readonly StaticPod[]): Promise<EtcdConfig> {
    const d = this.#deps;
    const allowed = d.allow.includes(ETCD_UNIT);
    let env: { text: string } | { error: string } | undefined;
    if (allowed) {
      try {
        env = { text: await readFile(d.etcdEnvFile, "utf8") };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        env = { error: code === "ENOENT" ? `${d.etcdEnvFile} does not exist` : (err as Error).message };
      }
    }
    const unitExists = async () => {
      if (!allowed) return false;
      const [s] = await d.unitStates([ETCD_UNIT], signal);
      return s !== undefined && s.loadState !== "not-found";
    };
    if (env && "text" in env && (await unitExists())) {
      return etcdFromEnvFile(parseEnvFile(env.text), d.etcdEnvFile, ETCD_UNIT);
    }
    const manifest = findComponent(pods ?? (await d.staticPods.read()).pods, "etcd");
    if (manifest) return etcdFromManifest(manifest, d.pkiDir);
    if (env && "error" in env && (await unitExists())) {
      return { ...NONE, mode: "systemd", unit: ETCD_UNIT, configFile: d.etcdEnvFile, error: env.error };
    }
    return { ...NONE };
  }

  /** The whole layout. */
  async layout(signal?: AbortSignal): Promise<NodeLayout__Output> {
    const d = this.#deps;
    const units = layoutUnits(d.allow);
    const [states, found, bootId] = await Promise.all([d.unitStates(units, signal), d.staticPods.read(), d.bootId()]);
    const byName = new Map(states.map((s) => [s.name, s]));
    const etcd = await this.etcd(signal, found.pods);
    const kubelet = byName.get(KUBELET_UNIT);
    return {
      nodeName: d.nodeName,
      etcd: toWire(etcd),
      runtime: runtimeLayout(byName),
      kubeletUnit: kubelet && kubelet.loadState !== "not-found" ? KUBELET_UNIT : "",
      staticPods: [...new Set(found.pods.map((p) => p.component))].sort(),
      addresses: d.addresses(),
      bootId,
    };
  }
}

/** The wire form of an etcd configuration. */
export function toWire(e: EtcdConfig): EtcdLayout__Output {
  return {
    mode:
      e.mode === "systemd" ? "ETCD_MODE_SYSTEMD" : e.mode === "static-pod" ? "ETCD_MODE_STATIC_POD" : "ETCD_MODE_NONE",
    unit: e.unit,
    configFile: e.configFile,
    name: e.name,
    advertiseClientUrls: e.clientUrls,
    advertisePeerUrls: e.peerUrls,
    dataDir: e.dataDir,
    caFile: e.caFile,
    certFile: e.certFile,
    keyFile: e.keyFile,
    error: e.error,
    quotaBackendBytes: e.quotaBackendBytes,
    initialCluster: e.initialCluster,
  };
}
