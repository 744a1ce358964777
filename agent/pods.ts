import { KubecycleError, type PodSandbox__Output } from "../shared/index.js";
import { failureText, runCommand } from "./exec.js";

/** Options of {@link PodSandboxes}. */
export interface PodSandboxesOptions {
  crictl: string;
}

interface CrictlPod {
  id?: string;
  state?: string;
  metadata?: { name?: string; namespace?: string };
}

/**
 * The node's pod sandboxes through crictl, the CRI's own command-line client (the seam the product uses in
 * production). Stopping kubelet or the runtime does not stop containers (their units use KillMode=process), so
 * after kubelet is stopped the remaining sandboxes are stopped here.
 */
export class PodSandboxes {
  readonly #crictl: string;

  constructor(opts: PodSandboxesOptions) {
    this.#crictl = opts.crictl;
  }

  /** Sandboxes in the ready state. */
  async ready(timeoutMs: number, signal?: AbortSignal): Promise<PodSandbox__Output[]> {
    const res = await runCommand(this.#crictl, ["pods", "--state", "ready", "-o", "json"], {
      timeoutMs,
      ...(signal ? { signal } : {}),
    });
    if (res.code !== 0) throw new KubecycleError("SYSTEMD_FAILED", `crictl pods failed: ${failureText(res)}`);
    const items = (JSON.parse(res.stdout || "{}") as { items?: CrictlPod[] }).items ?? [];
    return items.map((p) => ({
      id: p.id ?? "",
      name: p.metadata?.name ?? "",
      namespace: p.metadata?.namespace ?? "",
      state: p.state ?? "",
    }));
  }

  /** Stops every ready sandbox, then lists again: what is still ready comes back as `remaining`. */
  async stopAll(
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ stopped: PodSandbox__Output[]; remaining: PodSandbox__Output[]; message: string }> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1000, deadline - Date.now());
    const before = await this.ready(left(), signal);
    const failures: string[] = [];
    for (const pod of before) {
      const res = await runCommand(this.#crictl, ["stopp", pod.id], {
        timeoutMs: left(),
        ...(signal ? { signal } : {}),
      });
      if (res.code !== 0) failures.push(`${pod.namespace}/${pod.name}: ${failureText(res)}`);
    }
    const remaining = await this.ready(left(), signal);
    const stopped = before.filter((p) => !remaining.some((r) => r.id === p.id));
    const message =
      remaining.length === 0
        ? `stopped ${stopped.length} pod sandbox(es)`
        : `${remaining.length} pod sandbox(es) still ready${failures.length ? `: ${failures.join("; ")}` : ""}`;
    return { stopped, remaining, message };
  }
}
