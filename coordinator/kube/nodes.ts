import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { setTimeout as sleep } from "node:timers/promises";
import { KubecycleError } from "../../shared/index.js";
import type { ClusterApi } from "./cluster.js";

/** The annotation that says kubecycle cordoned a node (and which operation did): only then does it uncordon. */
export const CORDONED_BY = "kubecycle.io/cordoned-by";

/** Ready condition: "True", "False" or "Unknown" (the node-lifecycle controller's verdict on a silent kubelet). */
export function readyStatus(node: V1Node): string {
  return node.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "Unknown";
}

export function isReady(node: V1Node): boolean {
  return readyStatus(node) === "True";
}

/** The node's InternalIP, if it reports one. */
export function internalIp(node: V1Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
}

/** Control-plane nodes carry node-role.kubernetes.io/control-plane (or the older /master). */
export function isControlPlane(node: V1Node): boolean {
  const labels = node.metadata?.labels ?? {};
  return "node-role.kubernetes.io/control-plane" in labels || "node-role.kubernetes.io/master" in labels;
}

/** DaemonSet pods come back on their own and mirror pods belong to the kubelet: drains leave both alone. */
export function isEvictable(pod: V1Pod): boolean {
  if (pod.metadata?.annotations?.["kubernetes.io/config.mirror"]) return false;
  if (pod.metadata?.ownerReferences?.some((o) => o.kind === "DaemonSet" || o.kind === "Node")) return false;
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed";
}

/** Cordons a node, recording whether it already was and marking it as ours only if it was not. */
export async function cordon(
  api: ClusterApi,
  name: string,
  op: string,
): Promise<{ alreadyCordoned: boolean; ours: boolean }> {
  const node = await mustGetNode(api, name);
  const annotations = node.metadata?.annotations ?? {};
  if (node.spec?.unschedulable) {
    // An administrator's cordon stays theirs; a cordon of an earlier kubecycle run stays ours.
    return { alreadyCordoned: true, ours: CORDONED_BY in annotations };
  }
  await api.patchNode(name, { unschedulable: true, annotations: { [CORDONED_BY]: op } });
  return { alreadyCordoned: false, ours: true };
}

/** Uncordons a node only if kubecycle cordoned it; an administrator's cordon is left in place. */
export async function uncordonIfOurs(api: ClusterApi, name: string): Promise<{ uncordoned: boolean; reason: string }> {
  const node = await mustGetNode(api, name);
  const ours = node.metadata?.annotations?.[CORDONED_BY];
  if (!node.spec?.unschedulable) {
    if (ours) await api.patchNode(name, { annotations: { [CORDONED_BY]: null } });
    return { uncordoned: false, reason: "the node is schedulable" };
  }
  if (!ours) return { uncordoned: false, reason: "an administrator cordoned this node; it stays cordoned" };
  await api.patchNode(name, { unschedulable: false, annotations: { [CORDONED_BY]: null } });
  return { uncordoned: true, reason: `kubecycle cordoned it (${ours})` };
}

export async function mustGetNode(api: ClusterApi, name: string): Promise<V1Node> {
  const node = await api.getNode(name);
  if (!node) {
    throw new KubecycleError("NODE_NOT_FOUND", `node ${name} does not exist in the cluster at ${api.server}`, {
      node: name,
      hint: "check the name with `kubecycle status` or `kubectl get nodes`",
    });
  }
  return node;
}

/** Polls the node until its Ready condition is (or is not) True. */
export async function waitNodeReady(
  api: ClusterApi,
  name: string,
  ready: boolean,
  signal: AbortSignal,
  progress: (message: string) => void,
  pollMs = 1000,
): Promise<{ status: string; waitedMs: number }> {
  const t0 = Date.now();
  let last = "";
  for (;;) {
    let status = "unreachable";
    try {
      status = readyStatus(await mustGetNode(api, name));
    } catch (err) {
      if ((err as KubecycleError).code === "NODE_NOT_FOUND") throw err;
      // The API may blink while control-plane units restart; keep asking until the deadline.
    }
    if ((status === "True") === ready && status !== "unreachable") return { status, waitedMs: Date.now() - t0 };
    if (status !== last) progress(`Ready=${status}, waiting for ${ready ? "True" : "not True"}`);
    last = status;
    await sleep(pollMs, undefined, { signal });
  }
}
