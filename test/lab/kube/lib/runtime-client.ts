// Client of the containerd stand-in's socket, used by the kubelet and crictl stand-ins. The protocol is the CRI's
// RuntimeService (RunPodSandbox, StopPodSandbox, RemovePodSandbox, ListPodSandbox, CreateContainer+StartContainer,
// StopContainer, RemoveContainer, ListContainers, Version, Status) as JSON over HTTP on a unix socket, not gRPC.
import { request } from "node:http";

export const DEFAULT_RUNTIME_ENDPOINT = "unix:///run/containerd/containerd.sock";

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

/** A pod sandbox as CRI's ListPodSandbox returns it. */
export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: "SANDBOX_READY" | "SANDBOX_NOTREADY";
  /** Unix nanoseconds, as a decimal string (protojson int64). */
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

export type ContainerState = "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" | "CONTAINER_UNKNOWN";

/** A container as CRI's ListContainers returns it, plus the ContainerStatus fields the kubelet needs. */
export interface RuntimeContainer {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number };
  image: { image: string };
  imageRef: string;
  state: ContainerState;
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  reason?: string;
  pid?: number;
  logPath?: string;
}

/** What CreateContainer gets. */
export interface ContainerConfig {
  metadata: { name: string; attempt: number };
  image: { image: string };
  command?: string[];
  args?: string[];
  envs?: Array<{ key: string; value: string }>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A failure the runtime reported (grpc-like code and message) or a connection failure (code "Unavailable"). */
export class RuntimeError extends Error {
  constructor(
    readonly code: "NotFound" | "InvalidArgument" | "FailedPrecondition" | "Unavailable" | "Unknown",
    message: string,
  ) {
    super(message);
  }
}

/** The runtime's socket path from an endpoint like unix:///run/containerd/containerd.sock. */
export function socketPath(endpoint: string): string {
  return endpoint.replace(/^unix:\/\//, "");
}

/** The client. */
export class RuntimeClient {
  constructor(
    readonly endpoint: string = DEFAULT_RUNTIME_ENDPOINT,
    private readonly timeoutMs = 10_000,
  ) {}

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers =
        payload === undefined
          ? {}
          : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) };
      const req = request({ socketPath: socketPath(this.endpoint), method, path, headers });
      const timer = setTimeout(() => {
        req.destroy();
        reject(new RuntimeError("Unavailable", "context deadline exceeded"));
      }, this.timeoutMs);
      req.on("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new RuntimeError(
            "Unavailable",
            `connection error: desc = "transport: Error while dialing: dial unix ${socketPath(this.endpoint)}: connect: ${err.code === "ENOENT" ? "no such file or directory" : err.code === "ECONNREFUSED" ? "connection refused" : err.message}"`,
          ),
        );
      });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString("utf8");
          const parsed = (text ? JSON.parse(text) : {}) as T & { error?: string; code?: RuntimeError["code"] };
          if ((res.statusCode ?? 500) >= 400)
            reject(new RuntimeError(parsed.code ?? "Unknown", parsed.error ?? `HTTP ${res.statusCode}`));
          else resolve(parsed);
        });
      });
      req.end(payload);
    });
  }

  version(): Promise<{ version: string; runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }> {
    return this.call("GET", "/v1/version");
  }
  status(): Promise<{ ready: boolean }> {
    return this.call("GET", "/v1/status");
  }
  async listPodSandbox(): Promise<PodSandbox[]> {
    return (await this.call<{ items: PodSandbox[] }>("GET", "/v1/sandboxes")).items;
  }
  async runPodSandbox(config: {
    metadata: PodSandboxMetadata;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  }): Promise<string> {
    return (await this.call<{ podSandboxId: string }>("POST", "/v1/sandboxes", { config })).podSandboxId;
  }
  async stopPodSandbox(id: string): Promise<void> {
    await this.call("POST", `/v1/sandboxes/${encodeURIComponent(id)}/stop`, {});
  }
  async removePodSandbox(id: string): Promise<void> {
    await this.call("DELETE", `/v1/sandboxes/${encodeURIComponent(id)}`);
  }
  async listContainers(): Promise<RuntimeContainer[]> {
    return (await this.call<{ containers: RuntimeContainer[] }>("GET", "/v1/containers")).containers;
  }
  /** CreateContainer followed by StartContainer. */
  async startContainer(podSandboxId: string, config: ContainerConfig): Promise<string> {
    return (await this.call<{ containerId: string }>("POST", "/v1/containers", { podSandboxId, config })).containerId;
  }
  async stopContainer(id: string, timeoutSeconds = 0): Promise<void> {
    await this.call("POST", `/v1/containers/${encodeURIComponent(id)}/stop`, { timeout: timeoutSeconds });
  }
  async removeContainer(id: string): Promise<void> {
    await this.call("DELETE", `/v1/containers/${encodeURIComponent(id)}`);
  }
}
