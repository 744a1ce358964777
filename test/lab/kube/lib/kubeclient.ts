// A minimal Kubernetes API client for the kubelet stand-in: JSON over HTTPS with the kubeconfig's client
// certificate, failing over between apiserver URLs on connection errors (a real worker reaches the control plane
// through a load balancer; the lab lists every master instead). @kubernetes/client-node is what kubecycle uses and
// what the tests drive; the daemons keep this small client so their bundles stay small.
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { parse } from "yaml";

/** TLS material and servers from a kubeconfig. */
export interface KubeAccess {
  servers: string[];
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

type Named<T> = { name: string } & T;
interface KubeconfigDoc {
  "current-context"?: string;
  clusters?: Array<
    Named<{ cluster: { server: string; "certificate-authority-data"?: string; "certificate-authority"?: string } }>
  >;
  users?: Array<
    Named<{
      user: {
        "client-certificate-data"?: string;
        "client-certificate"?: string;
        "client-key-data"?: string;
        "client-key"?: string;
      };
    }>
  >;
  contexts?: Array<Named<{ context: { cluster: string; user: string } }>>;
}

const data = (inline: string | undefined, file: string | undefined, what: string): Buffer => {
  if (inline) return Buffer.from(inline, "base64");
  if (file) return readFileSync(file);
  throw new Error(`kubeconfig: no ${what}`);
};

/** Reads the current context of a kubeconfig file. */
export function loadKubeconfig(path: string): KubeAccess {
  const doc = parse(readFileSync(path, "utf8")) as KubeconfigDoc;
  const ctx = doc.contexts?.find((c) => c.name === doc["current-context"]) ?? doc.contexts?.[0];
  const cluster = doc.clusters?.find((c) => c.name === ctx?.context.cluster)?.cluster;
  const user = doc.users?.find((u) => u.name === ctx?.context.user)?.user;
  if (!cluster || !user) throw new Error(`kubeconfig ${path}: no usable context`);
  return {
    servers: [cluster.server],
    ca: data(cluster["certificate-authority-data"], cluster["certificate-authority"], "certificate authority"),
    cert: data(user["client-certificate-data"], user["client-certificate"], "client certificate"),
    key: data(user["client-key-data"], user["client-key"], "client key"),
  };
}

/** A non-2xx answer, with the Status the server sent. */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The client. */
export class KubeClient {
  private agent: Agent;
  private preferred = 0;

  constructor(
    private readonly access: KubeAccess,
    private readonly timeoutMs = 5000,
  ) {
    this.agent = new Agent({ keepAlive: true, ca: access.ca, cert: access.cert, key: access.key });
  }

  /** Uses another client certificate from now on (the kubelet's rotated one); requests in flight finish on the old. */
  setClientCertificate(cert: Buffer, key: Buffer): void {
    const old = this.agent;
    this.access.cert = cert;
    this.access.key = key;
    this.agent = new Agent({ keepAlive: true, ca: this.access.ca, cert, key });
    setTimeout(() => old.destroy(), this.timeoutMs).unref();
  }

  /** Sends a request; JSON body; fails over between servers on connection errors. */
  async request<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    let last: unknown;
    for (let i = 0; i < this.access.servers.length; i++) {
      const idx = (this.preferred + i) % this.access.servers.length;
      const server = this.access.servers[idx] ?? "";
      try {
        const r = await this.once(server, method, path, body, contentType);
        this.preferred = idx;
        if (r.status >= 200 && r.status < 300) return JSON.parse(r.text || "{}") as T;
        let st: { reason?: string; message?: string } = {};
        try {
          st = JSON.parse(r.text) as typeof st;
        } catch {
          st = { message: r.text };
        }
        throw new KubeApiError(r.status, st.reason ?? "", st.message ?? `HTTP ${r.status}`);
      } catch (err) {
        if (err instanceof KubeApiError) throw err;
        last = err;
      }
    }
    throw new KubeApiError(
      0,
      "Unreachable",
      `no apiserver reachable: ${(last as Error | undefined)?.message ?? String(last)}`,
    );
  }

  private once(
    server: string,
    method: string,
    path: string,
    body: unknown,
    contentType: string,
  ): Promise<{ status: number; text: string }> {
    const url = new URL(path, server);
    // An explicit content-length: Node does not chunk DELETE bodies, and an unframed body corrupts the connection.
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { accept: "application/json" };
    if (payload !== undefined)
      Object.assign(headers, { "content-type": contentType, "content-length": Buffer.byteLength(payload) });
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: this.agent, headers });
      const timer = setTimeout(() => req.destroy(new Error("request timed out")), this.timeoutMs);
      req.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
        });
      });
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
