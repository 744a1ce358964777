// The kubelet's pod side, one level-triggered pass per second: run the pods bound to this node (API pods and the
// static pods of --pod-manifest-path) through the runtime, restart exited containers (restartPolicy, with a
// CrashLoopBackOff that doubles from 1 s up to 30 s: the real one's 10 s..5 min scaled down), report pod status,
// finalize deletions (stop the containers, then DELETE with grace 0, which is what makes a Terminating pod go
// away), keep one mirror pod per static pod, and remove sandboxes of pods the API no longer has.
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { KubeApiError, type KubeClient } from "../lib/kubeclient.js";
import { errMsg, type Log } from "../lib/log.js";
import type { PodSandbox, RuntimeClient, RuntimeContainer } from "../lib/runtime-client.js";
import {
  findCondition,
  nowTime,
  type Condition,
  type ContainerStatus,
  type PodObj,
  type PodStatus,
} from "../lib/types.js";

const MIRROR = "kubernetes.io/config.mirror";
const UID_LABEL = "io.kubernetes.pod.uid";

export interface PodSyncConfig {
  nodeName: string;
  nodeIp: string;
  manifestDir: string | undefined;
}

interface Backoff {
  until: number;
  delayMs: number;
}

/** A static pod read from a manifest. */
interface StaticPod {
  pod: PodObj;
  hash: string;
}

/** The real kubelet's cap on a termination message taken from the logs: the last 80 lines, at most 2048 bytes. */
const FALLBACK_LINES = 80;
const FALLBACK_BYTES = 2048;

/**
 * The termination message of a container that failed, with terminationMessagePolicy FallbackToLogsOnError: the tail
 * of its log, as the real kubelet takes it. No termination-log file is read (every container shares the node's root).
 */
function messageFromLog(logPath: string | undefined): string | undefined {
  if (!logPath) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(logPath, "r");
    const size = fstatSync(fd).size;
    const len = Math.min(size, FALLBACK_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf
      .toString("utf8")
      .split("\n")
      .slice(-FALLBACK_LINES - 1)
      .join("\n");
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const nsToTime = (ns: string | undefined): string | undefined =>
  ns ? nowTime(new Date(Number(BigInt(ns) / 1_000_000n))) : undefined;

function stripTimes(v: unknown): string {
  return JSON.stringify(v ?? null, (k, x: unknown) =>
    k === "lastTransitionTime" || k === "lastProbeTime" || k === "startTime" ? undefined : x,
  );
}

export class PodSync {
  private readonly backoff = new Map<string, Backoff>();
  /** The runtime's name as its CRI Version gives it: container IDs read "<name>://<id>". */
  runtimeName = "containerd";
  private readonly firstSeen = new Map<string, string>();

  constructor(
    private readonly api: KubeClient,
    private readonly runtime: RuntimeClient,
    private readonly cfg: PodSyncConfig,
    private readonly log: Log,
    private readonly nodeUid: () => string | undefined,
  ) {}

  /** Static pods, named <name>-<node> with a UID derived from the manifest, as the kubelet's file source does. */
  readStaticPods(): StaticPod[] {
    if (!this.cfg.manifestDir) return [];
    let files: string[] = [];
    try {
      files = readdirSync(this.cfg.manifestDir)
        .filter((f) => /\.(ya?ml|json)$/.test(f))
        .sort();
    } catch {
      return [];
    }
    const out: StaticPod[] = [];
    for (const f of files) {
      try {
        const text = readFileSync(join(this.cfg.manifestDir, f), "utf8");
        const pod = parse(text) as PodObj;
        const hash = createHash("md5").update(text).update(this.cfg.nodeName).digest("hex");
        pod.metadata.name = `${pod.metadata.name}-${this.cfg.nodeName}`;
        pod.metadata.namespace = pod.metadata.namespace ?? "default";
        pod.metadata.uid = hash;
        pod.metadata.annotations = {
          ...pod.metadata.annotations,
          "kubernetes.io/config.hash": hash,
          "kubernetes.io/config.mirror": hash,
          "kubernetes.io/config.seen": nowTime(),
          "kubernetes.io/config.source": "file",
        };
        pod.spec.nodeName = this.cfg.nodeName;
        out.push({ pod, hash });
      } catch (err) {
        this.log.warn("bad static pod manifest", { file: f, err: errMsg(err) });
      }
    }
    return out;
  }

  /** One pass. Returns false when the runtime did not answer. */
  async sync(): Promise<boolean> {
    let sandboxes: PodSandbox[];
    let containers: RuntimeContainer[];
    try {
      [sandboxes, containers] = await Promise.all([this.runtime.listPodSandbox(), this.runtime.listContainers()]);
    } catch {
      return false;
    }
    const statics = this.readStaticPods();
    let apiPods: PodObj[] | undefined;
    try {
      const list = await this.api.request<{ items: PodObj[] }>(
        "GET",
        `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${this.cfg.nodeName}`)}`,
      );
      apiPods = list.items;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 0)) this.log.warn("cannot list pods", { err: errMsg(err) });
    }

    const wanted = new Map<string, PodObj>(); // uid -> pod the runtime runs
    for (const s of statics) wanted.set(s.pod.metadata.uid ?? "", s.pod);
    const terminating: PodObj[] = [];
    for (const p of apiPods ?? []) {
      if (p.metadata.annotations?.[MIRROR]) continue;
      if (p.metadata.deletionTimestamp) terminating.push(p);
      else if (p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed") wanted.set(p.metadata.uid ?? "", p);
    }

    for (const [uid, pod] of wanted) {
      try {
        const mirrorOf =
          pod.metadata.annotations?.["kubernetes.io/config.source"] === "file"
            ? pod.metadata.annotations[MIRROR]
            : undefined;
        const prev = apiPods?.find((p) =>
          mirrorOf ? p.metadata.annotations?.[MIRROR] === mirrorOf : p.metadata.uid === uid,
        );
        await this.runPod(pod, sandboxes, containers, prev?.status);
      } catch (err) {
        this.log.warn("pod sync failed", { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, err: errMsg(err) });
      }
    }
    for (const pod of terminating) {
      try {
        await this.killPod(pod, sandboxes);
        await this.api.request("DELETE", `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid },
        });
        this.log.info("pod deleted after its containers stopped", {
          pod: `${pod.metadata.namespace}/${pod.metadata.name}`,
        });
      } catch (err) {
        if (!(err instanceof KubeApiError && (err.code === 404 || err.code === 409)))
          this.log.warn("pod termination failed", { pod: pod.metadata.name, err: errMsg(err) });
      }
    }
    if (apiPods) {
      // sandboxes of pods that are neither static nor in the API any more
      const known = new Set([...wanted.keys(), ...terminating.map((p) => p.metadata.uid ?? "")]);
      for (const sb of sandboxes) {
        if (!known.has(sb.labels[UID_LABEL] ?? "")) {
          this.log.info("removing orphaned sandbox", { pod: `${sb.metadata.namespace}/${sb.metadata.name}` });
          await this.runtime.removePodSandbox(sb.id).catch(() => undefined);
        }
      }
      await this.mirrors(statics, apiPods);
    }

    // status: re-read the runtime after our changes
    if (apiPods) {
      const [sb2, c2] = await Promise.all([this.runtime.listPodSandbox(), this.runtime.listContainers()]);
      for (const p of apiPods) {
        if (p.metadata.deletionTimestamp) continue;
        const mirrorOf = p.metadata.annotations?.[MIRROR];
        const runPod = mirrorOf ? statics.find((s) => s.hash === mirrorOf)?.pod : wanted.get(p.metadata.uid ?? "");
        if (!runPod) continue;
        const status = this.podStatus(runPod, p, sb2, c2);
        if (stripTimes(status) === stripTimes(p.status)) continue;
        try {
          await this.api.request(
            "PATCH",
            `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/status`,
            { status },
            "application/merge-patch+json",
          );
        } catch (err) {
          if (!(err instanceof KubeApiError && (err.code === 404 || err.code === 409))) throw err;
        }
      }
    }
    return true;
  }

  private latestSandbox(uid: string, sandboxes: PodSandbox[]): PodSandbox | undefined {
    return sandboxes
      .filter((s) => s.labels[UID_LABEL] === uid)
      .sort((a, b) => Number(BigInt(b.createdAt) - BigInt(a.createdAt)))[0];
  }

  private async runPod(
    pod: PodObj,
    sandboxes: PodSandbox[],
    containers: RuntimeContainer[],
    apiStatus: PodStatus | undefined,
  ): Promise<void> {
    const uid = pod.metadata.uid ?? "";
    const ns = pod.metadata.namespace ?? "default";
    const name = pod.metadata.name ?? "";
    // attempts so far, over every sandbox of the pod: a restart in a new sandbox counts on from them
    const history = containers.filter((x) => x.labels[UID_LABEL] === uid);
    let sb = this.latestSandbox(uid, sandboxes);
    if (!sb || sb.state !== "SANDBOX_READY") {
      const attempt = sandboxes.filter((s) => s.labels[UID_LABEL] === uid).length;
      for (const old of sandboxes.filter((s) => s.labels[UID_LABEL] === uid))
        await this.runtime.removePodSandbox(old.id).catch(() => undefined);
      const id = await this.runtime.runPodSandbox({
        metadata: { name, namespace: ns, uid, attempt },
        labels: {
          ...pod.metadata.labels,
          "io.kubernetes.pod.name": name,
          "io.kubernetes.pod.namespace": ns,
          [UID_LABEL]: uid,
        },
        annotations: {
          ...pod.metadata.annotations,
          "kubernetes.io/config.seen": nowTime(),
          "kubernetes.io/config.source": pod.metadata.annotations?.["kubernetes.io/config.source"] ?? "api",
        },
      });
      this.log.info("started pod sandbox", { pod: `${ns}/${name}`, attempt });
      sb = { id, state: "SANDBOX_READY" } as PodSandbox;
    }
    const policy = pod.spec.restartPolicy ?? "Always";
    for (const c of pod.spec.containers) {
      const mine = containers
        .filter((x) => x.podSandboxId === sb.id && x.metadata.name === c.name)
        .sort((a, b) => b.metadata.attempt - a.metadata.attempt);
      const cur = mine[0];
      const key = `${uid}/${c.name}`;
      if (cur && cur.state === "CONTAINER_RUNNING") {
        const b = this.backoff.get(key);
        if (b && cur.startedAt && Date.now() - Number(BigInt(cur.startedAt) / 1_000_000n) > 60_000)
          this.backoff.delete(key);
        continue;
      }
      if (cur && (policy === "Never" || (policy === "OnFailure" && cur.exitCode === 0))) continue;
      let attempt = 0;
      if (cur) {
        attempt = cur.metadata.attempt + 1;
        // the first exit restarts at once; the next ones wait, the wait doubling (CrashLoopBackOff)
        const b = this.backoff.get(key);
        const now = Date.now();
        if (!b) this.backoff.set(key, { until: 0, delayMs: 1000 });
        else if (b.until === 0) {
          this.backoff.set(key, { until: now + b.delayMs, delayMs: b.delayMs });
          continue;
        } else if (now < b.until) continue;
        else this.backoff.set(key, { until: 0, delayMs: Math.min(30_000, b.delayMs * 2) });
      } else {
        // a new sandbox for a pod that ran before (a stopped sandbox; after a reboot only the API remembers)
        const before = history.filter((x) => x.metadata.name === c.name).map((x) => x.metadata.attempt);
        const prev = apiStatus?.containerStatuses?.find((s) => s.name === c.name);
        if (before.length > 0) attempt = Math.max(...before) + 1;
        else if (prev?.containerID) attempt = prev.restartCount + 1;
      }
      const id = await this.runtime.startContainer(sb.id, {
        metadata: { name: c.name, attempt },
        image: { image: c.image ?? "" },
        ...(c.command ? { command: c.command } : {}),
        ...(c.args ? { args: c.args } : {}),
        envs: (c.env ?? []).filter((e) => e.value !== undefined).map((e) => ({ key: e.name, value: e.value ?? "" })),
        labels: {
          "io.kubernetes.container.name": c.name,
          "io.kubernetes.pod.name": name,
          "io.kubernetes.pod.namespace": ns,
          [UID_LABEL]: uid,
        },
        annotations: {
          "io.kubernetes.container.restartCount": String(attempt),
          "io.kubernetes.pod.terminationGracePeriod": String(pod.spec.terminationGracePeriodSeconds ?? 30),
        },
      });
      this.log.info("started container", { pod: `${ns}/${name}`, container: c.name, attempt, id: id.slice(0, 13) });
    }
  }

  /** Stops a terminating pod's containers (SIGTERM, then SIGKILL after the grace, capped at 5 s) and its sandboxes. */
  private async killPod(pod: PodObj, sandboxes: PodSandbox[]): Promise<void> {
    const grace = Math.min(5, pod.metadata.deletionGracePeriodSeconds ?? 30);
    const mine = sandboxes.filter((s) => s.labels[UID_LABEL] === pod.metadata.uid);
    if (mine.length === 0) return;
    const containers = await this.runtime.listContainers();
    await Promise.all(
      containers
        .filter((c) => c.state === "CONTAINER_RUNNING" && mine.some((s) => s.id === c.podSandboxId))
        .map((c) => this.runtime.stopContainer(c.id, grace)),
    );
    for (const s of mine) {
      await this.runtime.stopPodSandbox(s.id);
      await this.runtime.removePodSandbox(s.id);
    }
  }

  /** One mirror pod per static pod: created when missing, replaced when the manifest changed, removed when gone. */
  private async mirrors(statics: StaticPod[], apiPods: PodObj[]): Promise<void> {
    const nodeUid = this.nodeUid();
    for (const s of statics) {
      const ns = s.pod.metadata.namespace ?? "default";
      const existing = apiPods.find((p) => p.metadata.name === s.pod.metadata.name && p.metadata.namespace === ns);
      if (existing && existing.metadata.annotations?.[MIRROR] === s.hash && !existing.metadata.deletionTimestamp)
        continue;
      if (existing) {
        await this.api
          .request("DELETE", `/api/v1/namespaces/${ns}/pods/${existing.metadata.name}`, { gracePeriodSeconds: 0 })
          .catch(() => undefined);
        continue;
      }
      if (!nodeUid) continue;
      const meta = { ...s.pod.metadata };
      delete meta.uid;
      const mirror: PodObj = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          ...meta,
          ownerReferences: [
            { apiVersion: "v1", kind: "Node", name: this.cfg.nodeName, uid: nodeUid, controller: true },
          ],
        },
        spec: s.pod.spec,
      };
      try {
        await this.api.request("POST", `/api/v1/namespaces/${ns}/pods`, mirror);
        this.log.info("created mirror pod", { pod: `${ns}/${s.pod.metadata.name}` });
      } catch (err) {
        if (!(err instanceof KubeApiError && err.code === 409))
          this.log.warn("cannot create mirror pod", { pod: s.pod.metadata.name, err: errMsg(err) });
      }
    }
    for (const p of apiPods) {
      const h = p.metadata.annotations?.[MIRROR];
      if (h && !statics.some((s) => s.hash === h)) {
        await this.api
          .request("DELETE", `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`, {
            gracePeriodSeconds: 0,
          })
          .catch(() => undefined);
      }
    }
  }

  /** The status the kubelet reports for `run` (the pod it runs) on `api` (the API's object: itself or its mirror). */
  private podStatus(run: PodObj, api: PodObj, sandboxes: PodSandbox[], containers: RuntimeContainer[]): PodStatus {
    const uid = run.metadata.uid ?? "";
    const sb = this.latestSandbox(uid, sandboxes);
    const old = api.status ?? {};
    const statuses: ContainerStatus[] = run.spec.containers.map((c) => {
      const mine = containers
        .filter((x) => x.labels[UID_LABEL] === uid && x.metadata.name === c.name)
        .sort((a, b) => Number(BigInt(b.createdAt) - BigInt(a.createdAt)));
      const cur = mine.find((x) => x.podSandboxId === sb?.id) ?? mine[0];
      const prevTerm = mine.find((x) => x !== cur && x.state === "CONTAINER_EXITED");
      const fallback = c.terminationMessagePolicy === "FallbackToLogsOnError";
      const terminated = (x: RuntimeContainer): Record<string, unknown> => {
        const message = fallback && (x.exitCode ?? 0) !== 0 ? messageFromLog(x.logPath) : undefined;
        return {
          exitCode: x.exitCode ?? 0,
          reason: x.reason ?? "Error",
          ...(message ? { message } : {}),
          startedAt: nsToTime(x.startedAt),
          finishedAt: nsToTime(x.finishedAt),
          containerID: `${this.runtimeName}://${x.id}`,
        };
      };
      const oldStatus = old.containerStatuses?.find((s) => s.name === c.name);
      const base = { name: c.name, image: c.image ?? "", imageID: cur ? cur.imageRef : "" };
      if (!cur) {
        return {
          ...base,
          ready: false,
          started: false,
          restartCount: oldStatus?.restartCount ?? 0,
          state: { waiting: { reason: "ContainerCreating" } },
          ...(oldStatus?.lastState ? { lastState: oldStatus.lastState } : {}),
        };
      }
      const lastState = prevTerm ? { terminated: terminated(prevTerm) } : (oldStatus?.lastState ?? {});
      const running = cur.state === "CONTAINER_RUNNING";
      const b = this.backoff.get(`${uid}/${c.name}`);
      let state: Record<string, Record<string, unknown>>;
      if (running) state = { running: { startedAt: nsToTime(cur.startedAt) } };
      else if (b && Date.now() < b.until) {
        state = {
          waiting: {
            reason: "CrashLoopBackOff",
            message: `back-off ${Math.round(b.delayMs / 1000)}s restarting failed container=${c.name} pod=${api.metadata.name}_${api.metadata.namespace}(${api.metadata.uid})`,
          },
        };
      } else state = { terminated: terminated(cur) };
      return {
        ...base,
        containerID: `${this.runtimeName}://${cur.id}`,
        ready: running && sb?.state === "SANDBOX_READY",
        started: running,
        restartCount: cur.metadata.attempt,
        state,
        lastState: running || !state.terminated ? lastState : prevTerm ? { terminated: terminated(prevTerm) } : {},
      };
    });
    const now = nowTime();
    const cond = (type: string, ok: boolean, reason?: string): Condition => {
      const st = ok ? "True" : "False";
      const prev = findCondition(old.conditions, type);
      return {
        type,
        status: st,
        lastProbeTime: null,
        lastTransitionTime: prev?.status === st ? (prev.lastTransitionTime ?? now) : now,
        ...(reason && !ok ? { reason } : {}),
      };
    };
    const allReady = statuses.every((s) => s.ready);
    const anyStarted = statuses.some((s) => s.started) || old.phase === "Running";
    const uidKey = api.metadata.uid ?? uid;
    if (!this.firstSeen.has(uidKey)) this.firstSeen.set(uidKey, old.startTime ?? now);
    const octet = Number(this.cfg.nodeIp.split(".")[3] ?? "0");
    const h = Number.parseInt(createHash("md5").update(uidKey).digest("hex").slice(0, 4), 16);
    const podIP = run.spec.hostNetwork ? this.cfg.nodeIp : `10.244.${octet}.${(h % 250) + 2}`;
    return {
      phase: anyStarted ? "Running" : "Pending",
      conditions: [
        cond("PodReadyToStartContainers", sb?.state === "SANDBOX_READY"),
        cond("Initialized", true),
        cond("Ready", allReady, "ContainersNotReady"),
        cond("ContainersReady", allReady, "ContainersNotReady"),
        cond("PodScheduled", true),
      ],
      hostIP: this.cfg.nodeIp,
      hostIPs: [{ ip: this.cfg.nodeIp }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: this.firstSeen.get(uidKey),
      containerStatuses: statuses,
      qosClass: old.qosClass ?? "BestEffort",
    };
  }
}
