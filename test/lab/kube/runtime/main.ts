// containerd stand-in (lab fixture, never shipped), run as containerd.service with KillMode=process like the real
// unit, and under another name as docker.service (the lab's docker node: --lab-runtime docker, socket-activated by
// docker.socket with --address fd://, reached by the kubelet and crictl through the cri-dockerd stand-in). Serves the
// CRI RuntimeService as JSON over HTTP on its socket (real containerd speaks gRPC). Its
// "containers" are real processes, each in its own session, so they outlive this daemon exactly as real
// containers outlive containerd (the shims keep them): stopping the unit, SIGTERM or a crash leave them running,
// and the next start re-adopts them from the state files under --state (default /run/containerd-lab, a tmpfs:
// after a power-off the state and the processes are gone, as on a real reboot). Only stopping a sandbox or
// container (kubelet, crictl stopp/stop) or powering off ends them.
// A container runs its `command`+`args` when command[0] is an absolute path to an executable on the node (the
// lab's "image" is the node's own root file system: the control-plane static pods run the stand-ins this way);
// any other container runs `/bin/sleep infinity` with argv[0] "lab-container:<namespace>/<pod>/<container>".
// Differences: no images, no pause process (a sandbox is state only), no cgroups or namespaces per container,
// CreateContainer+StartContainer are one call.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { parseFlags } from "../lib/flags.js";
import { systemdSocket } from "../lib/socket-activation.js";
import { createLog, errMsg } from "../lib/log.js";
import type { ContainerConfig, PodSandbox, RuntimeContainer } from "../lib/runtime-client.js";

const flags = parseFlags(process.argv.slice(2), ["address", "state", "root", "lab-runtime"] as const, {
  address: "/run/containerd/containerd.sock",
  state: "/run/containerd-lab",
  root: "/var/lib/containerd-lab",
  "lab-runtime": "containerd",
});
/** A socket path, or "fd://": the listening socket systemd passes (socket activation, as `dockerd -H fd://`). */
const SOCKET = flags.address ?? "";
const log = createLog(flags["lab-runtime"] === "docker" ? "dockerd" : "containerd");
const STATE = flags.state ?? "";
const ROOT = flags.root ?? "";
/** What CRI's Version answers: containerd's own, or what cri-dockerd answers for docker. */
const VERSION =
  flags["lab-runtime"] === "docker"
    ? { version: "0.1.0", runtimeName: "docker", runtimeVersion: "24.0.9-lab", runtimeApiVersion: "v1" }
    : { version: "0.1.0", runtimeName: "containerd", runtimeVersion: "v1.7.24-lab", runtimeApiVersion: "v1" };

/** A container's record: the CRI fields plus what identifies its process. */
interface ContainerRec extends RuntimeContainer {
  /** /proc/<pid>/stat start time, to tell our process from a recycled pid. */
  procStart?: string;
  /** Set when we asked it to stop: the exit code is then 128+signal. */
  stopSignal?: number;
}

const sandboxes = new Map<string, PodSandbox>();
const containers = new Map<string, ContainerRec>();
const children = new Set<number>();

const nowNs = (): string => `${BigInt(Date.now()) * 1_000_000n}`;

function save(kind: "sandboxes" | "containers", rec: { id: string }): void {
  const dir = join(STATE, kind);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${rec.id}.tmp`);
  writeFileSync(tmp, JSON.stringify(rec));
  renameSync(tmp, join(dir, `${rec.id}.json`));
}

function forget(kind: "sandboxes" | "containers", id: string): void {
  rmSync(join(STATE, kind, `${id}.json`), { force: true });
}

function load(): void {
  for (const kind of ["sandboxes", "containers"] as const) {
    let names: string[] = [];
    try {
      names = readdirSync(join(STATE, kind)).filter((n) => n.endsWith(".json"));
    } catch {
      continue;
    }
    for (const n of names) {
      const text = readFileSync(join(STATE, kind, n), "utf8");
      if (kind === "sandboxes") {
        const rec = JSON.parse(text) as PodSandbox;
        sandboxes.set(rec.id, rec);
      } else {
        const rec = JSON.parse(text) as ContainerRec;
        containers.set(rec.id, rec);
      }
    }
  }
  let adopted = 0;
  for (const c of containers.values()) {
    if (c.state !== "CONTAINER_RUNNING") continue;
    if (alive(c)) adopted++;
    else exited(c, undefined);
  }
  log.info("loaded state", { sandboxes: sandboxes.size, containers: containers.size, adoptedRunning: adopted });
}

/** Field 22 of /proc/<pid>/stat (start time) and the state letter, or undefined when there is no such process. */
function procStat(pid: number): { start: string; state: string } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { state: f[0] ?? "", start: f[19] ?? "" };
  } catch {
    return undefined;
  }
}

function alive(c: ContainerRec): boolean {
  if (!c.pid) return false;
  const st = procStat(c.pid);
  return !!st && st.state !== "Z" && st.start === c.procStart;
}

function exited(c: ContainerRec, code: number | undefined): void {
  if (c.state === "CONTAINER_EXITED") return;
  c.state = "CONTAINER_EXITED";
  c.finishedAt = nowNs();
  c.exitCode = code ?? (c.stopSignal ? 128 + c.stopSignal : 255);
  c.reason =
    c.exitCode === 0 ? "Completed" : c.exitCode === 255 && code === undefined && !c.stopSignal ? "Unknown" : "Error";
  save("containers", c);
  log.info("container exited", { id: c.id.slice(0, 13), name: c.metadata.name, exitCode: c.exitCode });
}

function argvOf(cfg: ContainerConfig, sandbox: PodSandbox): { file: string; args: string[]; argv0?: string } {
  const cmd = [...(cfg.command ?? []), ...(cfg.args ?? [])];
  const first = cfg.command?.[0];
  if (first?.startsWith("/")) {
    try {
      accessSync(first, constants.X_OK);
      return { file: first, args: cmd.slice(1) };
    } catch {
      /* not on this node: run the stand-in process */
    }
  }
  return {
    file: "/bin/sleep",
    args: ["infinity"],
    argv0: `lab-container:${sandbox.metadata.namespace}/${sandbox.metadata.name}/${cfg.metadata.name}`,
  };
}

function startProcess(c: ContainerRec, cfg: ContainerConfig, sandbox: PodSandbox): void {
  const { file, args, argv0 } = argvOf(cfg, sandbox);
  const logPath = join(
    ROOT,
    "pods",
    `${sandbox.metadata.namespace}_${sandbox.metadata.name}_${sandbox.metadata.uid}`,
    cfg.metadata.name,
    `${cfg.metadata.attempt}.log`,
  );
  mkdirSync(dirname(logPath), { recursive: true });
  const fd = openSync(logPath, "a");
  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOSTNAME: sandbox.metadata.name,
  };
  for (const e of cfg.envs ?? []) env[e.key] = e.value;
  env.LAB_CONTAINER_ID = c.id;
  try {
    // detached: a session of its own, so it outlives this daemon (KillMode=process) and stops as a group.
    const child = spawn(file, args, {
      detached: true,
      stdio: ["ignore", fd, fd],
      env,
      cwd: "/",
      ...(argv0 ? { argv0 } : {}),
    });
    child.on("error", (err) => {
      log.warn("container failed to start", { id: c.id.slice(0, 13), err: err.message });
      c.stopSignal = undefined;
      exited(c, 128);
    });
    if (child.pid) {
      const pid = child.pid;
      children.add(pid);
      child.on("exit", (code, signal) => {
        children.delete(pid);
        const sig = signal
          ? (({ SIGTERM: 15, SIGKILL: 9, SIGINT: 2, SIGHUP: 1 } as Record<string, number>)[signal] ?? 9)
          : undefined;
        exited(c, sig ? 128 + sig : (code ?? 255));
      });
      child.unref();
      c.pid = pid;
      c.procStart = procStat(pid)?.start;
      c.state = "CONTAINER_RUNNING";
      c.startedAt = nowNs();
      c.logPath = logPath;
    }
  } finally {
    closeSync(fd);
  }
}

/** Stops a container: SIGTERM to its process group, SIGKILL after `timeout` s (at once when 0, as containerd does). */
async function stopContainer(c: ContainerRec, timeout: number): Promise<void> {
  if (c.state !== "CONTAINER_RUNNING" || !c.pid) return;
  if (!alive(c)) return exited(c, undefined);
  const sig = timeout > 0 ? "SIGTERM" : "SIGKILL";
  c.stopSignal = timeout > 0 ? 15 : 9;
  const kill = (s: NodeJS.Signals): void => {
    try {
      process.kill(-(c.pid ?? 0), s);
    } catch {
      try {
        process.kill(c.pid ?? 0, s);
      } catch {
        /* already gone */
      }
    }
  };
  kill(sig);
  const deadline = Date.now() + timeout * 1000;
  while (alive(c)) {
    if (Date.now() > deadline && c.stopSignal !== 9) {
      c.stopSignal = 9;
      kill("SIGKILL");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!children.has(c.pid)) exited(c, undefined);
  else {
    // our own child: wait for its exit event to record the real status
    for (let i = 0; i < 50 && c.state === "CONTAINER_RUNNING"; i++) await new Promise((r) => setTimeout(r, 10));
    exited(c, undefined);
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function resolve<T extends { id: string }>(map: Map<string, T>, id: string, what: string): T {
  const exact = map.get(id);
  if (exact) return exact;
  const found = [...map.values()].filter((x) => x.id.startsWith(id));
  if (found.length === 1 && found[0] && id.length > 0) return found[0];
  if (found.length > 1) throw new HttpError(400, "InvalidArgument", `${what} ID "${id}" is ambiguous`);
  throw new HttpError(404, "NotFound", `an error occurred when try to find ${what} "${id}": not found`);
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  const t = Buffer.concat(chunks).toString("utf8");
  return t ? (JSON.parse(t) as Record<string, unknown>) : {};
}

async function handle(req: IncomingMessage): Promise<unknown> {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const m = req.method ?? "GET";
  let g: RegExpExecArray | null;
  if (m === "GET" && path === "/v1/version") return VERSION;
  if (m === "GET" && path === "/v1/status") return { ready: true };
  if (m === "GET" && path === "/v1/sandboxes") return { items: [...sandboxes.values()] };
  if (m === "GET" && path === "/v1/containers") {
    for (const c of containers.values())
      if (c.state === "CONTAINER_RUNNING" && !children.has(c.pid ?? 0) && !alive(c)) exited(c, undefined);
    return { containers: [...containers.values()].map(({ procStart: _p, stopSignal: _s, ...c }) => c) };
  }
  if (m === "POST" && path === "/v1/sandboxes") {
    const { config } = (await body(req)) as { config: Pick<PodSandbox, "metadata" | "labels" | "annotations"> };
    if (!config?.metadata?.name || !config.metadata.namespace || !config.metadata.uid)
      throw new HttpError(400, "InvalidArgument", "sandbox config must include metadata");
    const sb: PodSandbox = {
      id: randomBytes(32).toString("hex"),
      metadata: { ...config.metadata, attempt: config.metadata.attempt ?? 0 },
      state: "SANDBOX_READY",
      createdAt: nowNs(),
      labels: config.labels ?? {},
      annotations: config.annotations ?? {},
      runtimeHandler: "",
    };
    sandboxes.set(sb.id, sb);
    save("sandboxes", sb);
    log.info("sandbox started", { id: sb.id.slice(0, 13), pod: `${sb.metadata.namespace}/${sb.metadata.name}` });
    return { podSandboxId: sb.id };
  }
  if ((g = /^\/v1\/sandboxes\/([^/]+)\/stop$/.exec(path)) && m === "POST") {
    const sb = resolve(sandboxes, decodeURIComponent(g[1] ?? ""), "sandbox");
    await Promise.all([...containers.values()].filter((c) => c.podSandboxId === sb.id).map((c) => stopContainer(c, 0)));
    if (sb.state !== "SANDBOX_NOTREADY") {
      sb.state = "SANDBOX_NOTREADY";
      save("sandboxes", sb);
      log.info("sandbox stopped", { id: sb.id.slice(0, 13), pod: `${sb.metadata.namespace}/${sb.metadata.name}` });
    }
    return {};
  }
  if ((g = /^\/v1\/sandboxes\/([^/]+)$/.exec(path)) && m === "DELETE") {
    const sb = resolve(sandboxes, decodeURIComponent(g[1] ?? ""), "sandbox");
    for (const c of [...containers.values()].filter((x) => x.podSandboxId === sb.id)) {
      await stopContainer(c, 0);
      containers.delete(c.id);
      forget("containers", c.id);
    }
    sb.state = "SANDBOX_NOTREADY";
    sandboxes.delete(sb.id);
    forget("sandboxes", sb.id);
    return {};
  }
  if (m === "POST" && path === "/v1/containers") {
    const { podSandboxId, config } = (await body(req)) as { podSandboxId: string; config: ContainerConfig };
    const sb = resolve(sandboxes, podSandboxId, "sandbox");
    if (sb.state !== "SANDBOX_READY")
      throw new HttpError(400, "FailedPrecondition", `sandbox container "${sb.id}" is not running`);
    const c: ContainerRec = {
      id: randomBytes(32).toString("hex"),
      podSandboxId: sb.id,
      metadata: { name: config.metadata.name, attempt: config.metadata.attempt ?? 0 },
      image: { image: config.image?.image ?? "" },
      imageRef: `sha256:${randomBytes(32).toString("hex")}`,
      state: "CONTAINER_CREATED",
      createdAt: nowNs(),
      labels: config.labels ?? {},
      annotations: config.annotations ?? {},
    };
    containers.set(c.id, c);
    startProcess(c, config, sb);
    save("containers", c);
    return { containerId: c.id };
  }
  if ((g = /^\/v1\/containers\/([^/]+)\/stop$/.exec(path)) && m === "POST") {
    const c = resolve(containers, decodeURIComponent(g[1] ?? ""), "container");
    const { timeout } = (await body(req)) as { timeout?: number };
    await stopContainer(c, timeout ?? 0);
    return {};
  }
  if ((g = /^\/v1\/containers\/([^/]+)$/.exec(path)) && m === "DELETE") {
    const c = resolve(containers, decodeURIComponent(g[1] ?? ""), "container");
    await stopContainer(c, 0);
    containers.delete(c.id);
    forget("containers", c.id);
    return {};
  }
  throw new HttpError(404, "NotFound", `unknown method ${m} ${path}`);
}

mkdirSync(STATE, { recursive: true });
load();
const listenOn = listenTarget(SOCKET);
const server = createServer((req, res) => {
  handle(req).then(
    (out) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(out ?? {}));
    },
    (err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, "Unknown", errMsg(err));
      res.writeHead(e.status, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: e.code, error: e.message }));
    },
  );
});
server.listen(listenOn, () => {
  log.info("serving", { address: SOCKET, state: STATE, runtime: VERSION.runtimeName });
  // Type=notify, like the real unit: tell systemd we are ready (systemd-notify on our behalf: --pid).
  if (process.env.NOTIFY_SOCKET)
    execFile(
      "systemd-notify",
      ["--ready", `--pid=${process.pid}`],
      (err) => err && log.warn("sd_notify failed", { err: err.message }),
    );
});
// Adopted containers are not our children: notice their exit by polling.
setInterval(() => {
  for (const c of containers.values())
    if (c.state === "CONTAINER_RUNNING" && !children.has(c.pid ?? 0) && !alive(c)) exited(c, undefined);
}, 1000).unref();

const stop = (): void => {
  log.info("shutting down; containers keep running");
  server.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

/** Where to listen: systemd's socket (fd 3) for "fd://", else a fresh socket at the path. */
function listenTarget(address: string): string | { fd: number } {
  if (address === "fd://") return { fd: systemdSocket() };
  mkdirSync(dirname(address), { recursive: true });
  try {
    unlinkSync(address);
  } catch {
    /* no stale socket */
  }
  return address;
}
