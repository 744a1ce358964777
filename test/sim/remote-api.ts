// The simulated API served to another process over a unix socket, and the ClusterApi that asks it there. The scale
// benchmark keeps the simulated world (agents and API) in one process and the coordinator in another, so that the
// coordinator's time and memory are its own; like the real API, every request is a round trip with JSON both ways.
import { createConnection, createServer, type Server, type Socket } from "node:net";
import type {
  V1CertificateSigningRequest,
  V1Lease,
  V1Node,
  V1Pod,
  V1PodDisruptionBudget,
} from "@kubernetes/client-node";
import type { ClusterApi, EvictionResult, PodEvent, PodList, PodScope } from "../../coordinator/index.js";
import { KubecycleError, isErrorCode } from "../../shared/index.js";

type Method =
  | Exclude<keyof ClusterApi, "server" | "addFallbackHosts" | "watchPods">
  | "server"
  | "addFallbackHosts"
  | "watchPods"
  | "cancelWatch";

interface Request {
  id: number;
  method: Method;
  args: unknown[];
}

/** An answer; a watch sends its events as `event` lines before its answer. */
type Response =
  | { id: number; value?: unknown }
  | { id: number; event: PodEvent }
  | { id: number; error: { code: string; message: string; fields: unknown } };

/** Serves `api` on a unix socket at `path`: one JSON request per line, one JSON answer per line. */
export function serveClusterApi(api: ClusterApi, path: string): Promise<Server> {
  const server = createServer((socket) => {
    let buffered = "";
    // This connection's open watches, by request id.
    const watches = new Map<number, AbortController>();
    socket.on("close", () => {
      for (const w of watches.values()) w.abort();
    });
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const req = JSON.parse(line) as Request;
        if (req.method === "watchPods") {
          const stop = new AbortController();
          watches.set(req.id, stop);
          const send = (r: Response) => {
            if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
          };
          void answer(api, req, (event) => send({ id: req.id, event }), stop.signal).then((r) => {
            watches.delete(req.id);
            send(r);
          });
          continue;
        }
        if (req.method === "cancelWatch") {
          watches.get(req.args[0] as number)?.abort();
          socket.write(`${JSON.stringify({ id: req.id })}\n`);
          continue;
        }
        void answer(api, req).then((r) => socket.write(`${JSON.stringify(r)}\n`));
      }
    });
    socket.on("error", () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve(server));
  });
}

async function answer(
  api: ClusterApi,
  req: Request,
  onEvent: (e: PodEvent) => void = () => undefined,
  signal: AbortSignal = new AbortController().signal,
): Promise<Response> {
  try {
    if (req.method === "server") return { id: req.id, value: api.server };
    if (req.method === "addFallbackHosts") {
      api.addFallbackHosts(req.args[0] as string[]);
      return { id: req.id };
    }
    // The arguments as the caller typed them; JSON turns an absent optional argument into null.
    const [x, y, z] = req.args as [never, never, string | null];
    const optional = (v: unknown) => (typeof v === "string" ? v : undefined);
    const calls: Record<Exclude<Method, "server" | "addFallbackHosts" | "cancelWatch">, () => Promise<unknown>> = {
      getNode: () => api.getNode(x),
      listNodes: () => api.listNodes(),
      patchNode: () => api.patchNode(x, y),
      listPods: () => api.listPods(x),
      listPodList: () => api.listPodList(x),
      watchPods: () => api.watchPods(x, y, onEvent, signal),
      evictPod: () => api.evictPod(x, y),
      listPdbs: () => api.listPdbs(),
      getLease: () => api.getLease(x, y),
      createLease: () => api.createLease(x),
      replaceLease: () => api.replaceLease(x),
      deleteLease: () => api.deleteLease(x, y, optional(z)),
      listCsrs: () => api.listCsrs(),
      approveCsr: () => api.approveCsr(x, y),
      readyz: () => api.readyz(optional(req.args[0])),
    };
    if (req.method === "cancelWatch") return { id: req.id };
    return { id: req.id, value: await calls[req.method]() };
  } catch (err) {
    const e = err instanceof KubecycleError ? err : undefined;
    return {
      id: req.id,
      error: { code: e?.code ?? "INTERNAL", message: (err as Error).message, fields: e?.fields ?? {} },
    };
  }
}

/** A {@link ClusterApi} whose every call goes to {@link serveClusterApi} in another process. */
export class RemoteClusterApi implements ClusterApi {
  server = "";
  readonly #socket: Socket;
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; onEvent?: (e: PodEvent) => void }
  >();
  #next = 0;

  private constructor(socket: Socket) {
    this.#socket = socket;
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const res = JSON.parse(buffered.slice(0, nl)) as Response;
        buffered = buffered.slice(nl + 1);
        const p = this.#pending.get(res.id);
        if ("event" in res) {
          p?.onEvent?.(res.event);
          continue;
        }
        this.#pending.delete(res.id);
        if (!p) continue;
        if ("error" in res) {
          const { code, message, fields } = res.error;
          p.reject(
            new KubecycleError(isErrorCode(code) ? code : "INTERNAL", message, fields as Record<string, unknown>),
          );
        } else {
          p.resolve(res.value);
        }
      }
    });
    socket.on("close", () => {
      for (const p of this.#pending.values())
        p.reject(new KubecycleError("KUBE_API_UNREACHABLE", "the simulated API went away"));
      this.#pending.clear();
    });
  }

  static async connect(path: string): Promise<RemoteClusterApi> {
    const socket = createConnection(path);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    // The socket must not keep a finished coordinator alive.
    socket.unref();
    const api = new RemoteClusterApi(socket);
    api.server = (await api.#call("server", [])) as string;
    return api;
  }

  close(): void {
    this.#socket.destroy();
  }

  #call(method: Method, args: unknown[], onEvent?: (e: PodEvent) => void, id = ++this.#next): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, ...(onEvent ? { onEvent } : {}) });
      this.#socket.ref();
      this.#socket.write(`${JSON.stringify({ id, method, args })}\n`);
    }).finally(() => {
      if (this.#pending.size === 0) this.#socket.unref();
    });
  }

  getNode(name: string): Promise<V1Node | undefined> {
    return this.#call("getNode", [name]) as Promise<V1Node | undefined>;
  }
  listNodes(): Promise<V1Node[]> {
    return this.#call("listNodes", []) as Promise<V1Node[]>;
  }
  patchNode(
    name: string,
    patch: { unschedulable?: boolean; annotations?: Record<string, string | null> },
  ): Promise<V1Node> {
    return this.#call("patchNode", [name, patch]) as Promise<V1Node>;
  }
  listPods(scope?: PodScope): Promise<V1Pod[]> {
    return this.#call("listPods", [scope ?? {}]) as Promise<V1Pod[]>;
  }
  listPodList(scope: PodScope): Promise<PodList> {
    return this.#call("listPodList", [scope]) as Promise<PodList>;
  }
  async watchPods(
    scope: PodScope,
    resourceVersion: string,
    onEvent: (e: PodEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    if (signal.aborted) return;
    const id = ++this.#next;
    const onAbort = () => void this.#call("cancelWatch", [id]).catch(() => undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await this.#call("watchPods", [scope, resourceVersion], onEvent, id);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
  evictPod(namespace: string, name: string): Promise<EvictionResult> {
    return this.#call("evictPod", [namespace, name]) as Promise<EvictionResult>;
  }
  listPdbs(): Promise<V1PodDisruptionBudget[]> {
    return this.#call("listPdbs", []) as Promise<V1PodDisruptionBudget[]>;
  }
  getLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    return this.#call("getLease", [namespace, name]) as Promise<V1Lease | undefined>;
  }
  createLease(lease: V1Lease): Promise<V1Lease> {
    return this.#call("createLease", [lease]) as Promise<V1Lease>;
  }
  replaceLease(lease: V1Lease): Promise<V1Lease> {
    return this.#call("replaceLease", [lease]) as Promise<V1Lease>;
  }
  async deleteLease(namespace: string, name: string, resourceVersion?: string): Promise<void> {
    await this.#call("deleteLease", [namespace, name, resourceVersion]);
  }
  listCsrs(): Promise<V1CertificateSigningRequest[]> {
    return this.#call("listCsrs", []) as Promise<V1CertificateSigningRequest[]>;
  }
  approveCsr(csr: V1CertificateSigningRequest, message: string): Promise<V1CertificateSigningRequest> {
    return this.#call("approveCsr", [csr, message]) as Promise<V1CertificateSigningRequest>;
  }
  readyz(host?: string): Promise<{ ok: boolean; body: string }> {
    return this.#call("readyz", [host]) as Promise<{ ok: boolean; body: string }>;
  }
  addFallbackHosts(hosts: string[]): void {
    void this.#call("addFallbackHosts", [hosts]).catch(() => undefined);
  }
}
