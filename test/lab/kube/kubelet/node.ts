// The kubelet's node side: registration (POST the Node, or adopt the existing one: cordon and taints an admin set
// are kept), the Lease in kube-node-lease renewed every second, and the Node's status (Ready and the pressure
// conditions, addresses, capacity) posted every two seconds. Ready is False with "container runtime is down" while
// the runtime does not answer, as the real kubelet reports it.
import { release } from "node:os";
import { readFileSync } from "node:fs";
import { KubeApiError, type KubeClient } from "../lib/kubeclient.js";
import type { Log } from "../lib/log.js";
import { errMsg } from "../lib/log.js";
import {
  findCondition,
  nowMicroTime,
  nowTime,
  type Condition,
  type LeaseObj,
  type NodeObj,
  type Taint,
} from "../lib/types.js";

export interface NodeConfig {
  name: string;
  ip: string;
  labels: Record<string, string>;
  taints: Taint[];
  cpu: string;
  memory: string;
  runtimeEndpoint: string;
}

/** The longest the kubelet goes without writing its node's status (the real one's nodeStatusReportFrequency: 5 min). */
const STATUS_REPORT_MS = 10_000;

/** A status as canonical JSON (keys sorted) without heartbeat and transition times: a change, not a heartbeat. */
function withoutTimes(status: unknown): string {
  return JSON.stringify(status ?? null, (k, v: unknown) => {
    if (k === "lastHeartbeatTime" || k === "lastTransitionTime") return undefined;
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((key) => [key, o[key]]),
    );
  });
}

function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}

/** Node heartbeats. */
export class NodeAgent {
  private registered = false;
  private lease: LeaseObj | undefined;
  uid: string | undefined;
  /** When the status was last written; it is written when it changes, else at most every STATUS_REPORT_MS. */
  private lastPosted = 0;
  /** What the runtime's CRI Version answered, e.g. "docker://24.0.9-lab" (the real kubelet reports the same). */
  runtimeVersion = "";

  constructor(
    private readonly api: KubeClient,
    private readonly cfg: NodeConfig,
    private readonly log: Log,
  ) {}

  private statusBody(runtimeUp: boolean, prev: Condition[] | undefined): NodeObj["status"] {
    const now = nowTime();
    const cond = (type: string, status: Condition["status"], reason: string, message: string): Condition => {
      const old = findCondition(prev, type);
      return {
        type,
        status,
        lastHeartbeatTime: now,
        lastTransitionTime: old?.status === status ? (old.lastTransitionTime ?? now) : now,
        reason,
        message,
      };
    };
    const resources = {
      cpu: this.cfg.cpu,
      memory: this.cfg.memory,
      pods: "110",
      "ephemeral-storage": "20Gi",
      "hugepages-2Mi": "0",
    };
    return {
      conditions: [
        cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        runtimeUp
          ? cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")
          : cond("Ready", "False", "KubeletNotReady", "container runtime is down"),
      ],
      addresses: [
        { type: "InternalIP", address: this.cfg.ip },
        { type: "Hostname", address: this.cfg.name },
      ],
      capacity: resources,
      allocatable: resources,
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: "",
        systemUUID: "",
        bootID: bootId(),
        kernelVersion: release(),
        osImage: "Debian GNU/Linux 12 (bookworm)",
        containerRuntimeVersion: this.runtimeVersion,
        kubeletVersion: "v1.28.15",
        kubeProxyVersion: "v1.28.15",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    };
  }

  /** Registers the node if needed, then posts its status. */
  async postStatus(runtimeUp: boolean): Promise<void> {
    const path = `/api/v1/nodes/${this.cfg.name}`;
    if (!this.registered) {
      const node: NodeObj = {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: this.cfg.name,
          labels: this.cfg.labels,
          annotations: {
            "kubeadm.alpha.kubernetes.io/cri-socket": this.cfg.runtimeEndpoint,
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
          },
        },
        spec: this.cfg.taints.length > 0 ? { taints: this.cfg.taints } : {},
        status: this.statusBody(runtimeUp, undefined),
      };
      try {
        const created = await this.api.request<NodeObj>("POST", "/api/v1/nodes", node);
        this.uid = created.metadata.uid;
        this.log.info("registered node", { node: this.cfg.name });
      } catch (err) {
        if (!(err instanceof KubeApiError && err.code === 409)) throw err;
        // Already registered (a restart): keep what admins set (cordon, taints), make sure our labels are there.
        const cur = await this.api.request<NodeObj>("GET", path);
        this.uid = cur.metadata.uid;
        const missing = Object.entries(this.cfg.labels).filter(([k, v]) => cur.metadata.labels?.[k] !== v);
        if (missing.length > 0) {
          await this.api.request(
            "PATCH",
            path,
            { metadata: { labels: Object.fromEntries(missing) } },
            "application/strategic-merge-patch+json",
          );
        }
      }
      this.registered = true;
    }
    const cur = await this.api.request<NodeObj>("GET", path).catch((err: unknown) => {
      if (err instanceof KubeApiError && err.code === 404) this.registered = false;
      throw err;
    });
    this.uid = cur.metadata.uid;
    const status = this.statusBody(runtimeUp, cur.status?.conditions);
    // As the real kubelet does since the Lease is the heartbeat (nodeStatusReportFrequency): write the status when
    // it changed (the controller-manager's Unknown included), else only now and then. Each write is an etcd write.
    if (withoutTimes(status) === withoutTimes(cur.status) && Date.now() - this.lastPosted < STATUS_REPORT_MS) return;
    await this.api.request("PATCH", `${path}/status`, { status }, "application/strategic-merge-patch+json");
    this.lastPosted = Date.now();
  }

  /** Renews (or creates) the node's Lease. */
  async renewLease(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.cfg.name}`;
    const spec = { holderIdentity: this.cfg.name, leaseDurationSeconds: 40, renewTime: nowMicroTime() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        if (!this.lease) this.lease = await this.api.request<LeaseObj>("GET", path);
        this.lease = await this.api.request<LeaseObj>("PUT", path, {
          ...this.lease,
          spec: { ...this.lease.spec, ...spec },
        });
        return;
      } catch (err) {
        if (!(err instanceof KubeApiError)) throw err;
        if (err.code === 409) {
          this.lease = undefined;
          continue;
        }
        if (err.code !== 404) throw err;
        this.lease = undefined;
        const lease: LeaseObj = {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            name: this.cfg.name,
            namespace: "kube-node-lease",
            ...(this.uid
              ? { ownerReferences: [{ apiVersion: "v1", kind: "Node", name: this.cfg.name, uid: this.uid }] }
              : {}),
          },
          spec,
        };
        try {
          this.lease = await this.api.request<LeaseObj>(
            "POST",
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
            lease,
          );
          return;
        } catch (e) {
          if (!(e instanceof KubeApiError && e.code === 409)) throw e;
        }
      }
    }
    this.log.warn("lease renew kept conflicting", { err: errMsg(undefined) });
  }
}
