import { KubecycleError, type PodSandbox__Output, type PodScope__Output } from "../shared/index.js";
import { failureText, runCommand, type RunResult } from "./exec.js";

/** Options of {@link PodSandboxes}. */
export interface PodSandboxesOptions {
  crictl: string;
  /** Containers (then sandboxes) stopped at the same time. */
  concurrency: number;
}

/** A sandbox as `crictl pods -o json` prints it (the CRI's PodSandbox, as protojson). */
export interface CrictlPod {
  id?: string;
  state?: string;
  metadata?: { name?: string; namespace?: string };
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A container as `crictl ps -o json` prints it. */
export interface CrictlContainer {
  id?: string;
  podSandboxId?: string;
  state?: string;
  metadata?: { name?: string };
  annotations?: Record<string, string>;
}

/** Every scope a request may name. */
export const POD_SCOPES: readonly PodScope__Output[] = [
  "POD_SCOPE_ALL",
  "POD_SCOPE_WORKLOAD",
  "POD_SCOPE_CONTROL_PLANE",
  "POD_SCOPE_ETCD",
  "POD_SCOPE_ALL_BUT_ETCD",
];

/** The scope a request asked for; an unknown value (a number from a newer client) is refused. */
export function podScope(raw: unknown): PodScope__Output {
  if (raw === undefined || raw === null || raw === "" || raw === 0) return "POD_SCOPE_ALL";
  if (typeof raw === "string" && (POD_SCOPES as readonly string[]).includes(raw)) return raw as PodScope__Output;
  throw new KubecycleError("INVALID_REQUEST", `scope: unknown pod scope ${JSON.stringify(raw)}`, { field: "scope" });
}

/** What a sandbox is, for the scopes: etcd's static pod, a control-plane static pod, or anything else. */
export type PodKind = "etcd" | "control-plane" | "workload";

/**
 * Classifies a sandbox from the labels and annotations the kubelet gives it (the pod's own labels, and for a static
 * pod the annotation kubernetes.io/config.source=file). etcd is kube-system's component=etcd, static or not, so that
 * no stop of the "workload" can ever take it.
 */
export function podKind(pod: CrictlPod): PodKind {
  const labels = pod.labels ?? {};
  const ns = pod.metadata?.namespace ?? labels["io.kubernetes.pod.namespace"] ?? "";
  if (ns !== "kube-system") return "workload";
  if (labels.component === "etcd") return "etcd";
  const isStatic = pod.annotations?.["kubernetes.io/config.source"] === "file";
  return isStatic && labels.tier === "control-plane" ? "control-plane" : "workload";
}

/** Whether a scope takes sandboxes of this kind. */
export function inScope(scope: PodScope__Output, kind: PodKind): boolean {
  switch (scope) {
    case "POD_SCOPE_ALL":
      return true;
    case "POD_SCOPE_WORKLOAD":
      return kind === "workload";
    case "POD_SCOPE_CONTROL_PLANE":
      return kind === "control-plane";
    case "POD_SCOPE_ETCD":
      return kind === "etcd";
    case "POD_SCOPE_ALL_BUT_ETCD":
      return kind !== "etcd";
  }
}

/** The kubelet's default terminationGracePeriodSeconds, when a container does not carry its pod's. */
export const DEFAULT_GRACE_SECONDS = 30;

/** A container's grace period from the annotation the kubelet puts on it (its pod's terminationGracePeriodSeconds). */
export function graceSeconds(c: CrictlContainer): number {
  const raw = c.annotations?.["io.kubernetes.pod.terminationGracePeriod"];
  const n = raw === undefined ? Number.NaN : Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : DEFAULT_GRACE_SECONDS;
}

/** What a stop did. */
export interface StopResult {
  stopped: PodSandbox__Output[];
  remaining: PodSandbox__Output[];
  /** Containers stopped with their grace period before their sandbox. */
  containersStopped: number;
  message: string;
}

// What a crictl call may take beyond the stop timeout it carries: connecting, and the SIGKILL after the grace.
const CRICTL_MARGIN_S = 10;

/**
 * The node's pod sandboxes through crictl, the CRI's own command-line client. Stopping kubelet or the runtime does
 * not stop containers (their units use KillMode=process), so after kubelet is stopped the remaining sandboxes are
 * stopped here, gracefully: a CRI StopPodSandbox kills at once (containerd stops the containers with timeout 0), so
 * the containers are first stopped with their pod's grace period, as the kubelet would, and only then the sandboxes.
 */
export class PodSandboxes {
  readonly #crictl: string;
  readonly #concurrency: number;

  constructor(opts: PodSandboxesOptions) {
    this.#crictl = opts.crictl;
    this.#concurrency = opts.concurrency;
  }

  /** crictl with its own RPC deadline: the global --timeout, which otherwise cuts any call at 2 s. */
  #run(args: string[], timeoutMs: number, signal?: AbortSignal) {
    const rpcSeconds = Math.max(2, Math.ceil(timeoutMs / 1000));
    return runCommand(this.#crictl, [`--timeout=${rpcSeconds}s`, ...args], {
      timeoutMs: timeoutMs + 2000,
      ...(signal ? { signal } : {}),
    });
  }

  async #json<T>(args: string[], what: string, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    const res = await this.#run([...args, "-o", "json"], timeoutMs, signal);
    if (res.code !== 0) throw new KubecycleError("SYSTEMD_FAILED", `crictl ${what} failed: ${failureText(res)}`);
    try {
      return JSON.parse(res.stdout || "{}") as T;
    } catch (err) {
      throw new KubecycleError("SYSTEMD_FAILED", `crictl ${what} printed no JSON`, {}, { cause: err });
    }
  }

  /** Sandboxes in the ready state, with their labels and annotations. */
  async ready(timeoutMs: number, signal?: AbortSignal): Promise<CrictlPod[]> {
    return (
      (await this.#json<{ items?: CrictlPod[] }>(["pods", "--state", "ready"], "pods", timeoutMs, signal)).items ?? []
    );
  }

  /** Running containers. */
  async running(timeoutMs: number, signal?: AbortSignal): Promise<CrictlContainer[]> {
    return (await this.#json<{ containers?: CrictlContainer[] }>(["ps"], "ps", timeoutMs, signal)).containers ?? [];
  }

  /**
   * Stops the ready sandboxes of a scope: first their running containers, each with its pod's grace period (bounded
   * by the time left, all at once up to the concurrency bound), then the sandboxes; then lists again, and what of
   * the scope is still ready comes back as `remaining`.
   */
  async stop(scope: PodScope__Output, timeoutMs: number, signal?: AbortSignal): Promise<StopResult> {
    const deadline = Date.now() + timeoutMs;
    // Kept back from the containers' graces for the sandboxes and the final listing.
    const reserveMs = Math.min(15_000, Math.floor(timeoutMs / 4));
    const left = () => Math.max(1000, deadline - Date.now());
    const chosen = (await this.ready(left(), signal)).filter((p) => inScope(scope, podKind(p)));
    const ids = new Set(chosen.map((p) => p.id ?? ""));
    const failures: string[] = [];
    const attempt = async (what: string, run: () => Promise<RunResult>) => {
      try {
        const res = await run();
        if (res.code !== 0) failures.push(`${what}: ${failureText(res)}`);
        return res.code === 0;
      } catch (err) {
        if (signal?.aborted) throw err;
        failures.push(`${what}: ${(err as Error).message}`);
        return false;
      }
    };

    const containers =
      ids.size === 0 ? [] : (await this.running(left(), signal)).filter((c) => ids.has(c.podSandboxId ?? ""));
    let graceful = 0;
    await bounded(containers, this.#concurrency, async (c) => {
      const secondsLeft = Math.floor((deadline - reserveMs - Date.now()) / 1000);
      const grace = Math.max(0, Math.min(graceSeconds(c), secondsLeft));
      const ok = await attempt(`container ${c.metadata?.name ?? ""} (${(c.id ?? "").slice(0, 13)})`, () =>
        this.#run(["stop", `--timeout=${grace}`, c.id ?? ""], (grace + CRICTL_MARGIN_S) * 1000, signal),
      );
      if (ok) graceful++;
    });

    await bounded(chosen, this.#concurrency, async (p) => {
      await attempt(`${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`, () =>
        this.#run(["stopp", p.id ?? ""], left(), signal),
      );
    });

    const stillReady = new Set((await this.ready(left(), signal)).map((p) => p.id ?? ""));
    const stopped = chosen.filter((p) => !stillReady.has(p.id ?? "")).map(toWire);
    const remaining = chosen.filter((p) => stillReady.has(p.id ?? "")).map(toWire);
    const name = scope.replace("POD_SCOPE_", "").toLowerCase().replaceAll("_", "-");
    const message =
      remaining.length === 0
        ? `stopped ${stopped.length} pod sandbox(es) of scope ${name}, ${graceful} of ${containers.length} container(s) gracefully first`
        : `${remaining.length} pod sandbox(es) of scope ${name} still ready${failures.length ? `: ${failures.slice(0, 10).join("; ")}` : ""}`;
    return { stopped, remaining, containersStopped: graceful, message };
  }
}

function toWire(p: CrictlPod): PodSandbox__Output {
  return { id: p.id ?? "", name: p.metadata?.name ?? "", namespace: p.metadata?.namespace ?? "", state: p.state ?? "" };
}

/** Runs `work` on every item, at most `limit` at a time. */
async function bounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
