// Where the kube stand-ins (API simulator, kubelet, containerd, crictl, the seeded workload; test/lab/kube/) plug into
// the lab. They are optional until they land: the lab runs without them when test/lab/kube/index.ts is missing, or
// when switched off.
import { fileURLToPath } from "node:url";
import { exists } from "./host.js";
import type { KubeNodeSpec } from "./kube/index.js";

/** What the kube stand-ins need to know about one node (their own type). */
export type { KubeNodeSpec } from "./kube/index.js";

/** The API of test/lab/kube/index.ts. */
export interface KubeModule {
  /** kubelet.service, containerd.service, kube-apiserver.service (masters)...; those with [Install] are enabled. */
  kubeUnitFiles(spec: KubeNodeSpec): Record<string, string>;
  /** In-node paths to create before boot; they must lie under one of the node's writable binds. */
  kubeNodeFiles(spec: KubeNodeSpec): Array<{ path: string; content: string; mode: number }>;
  createKubePki(
    hostDir: string,
    masters: Array<{ name: string; ip: string }>,
  ): Promise<{ kubeconfig(server: string): string }>;
  bundleKube(outDir: string): Promise<void>;
  seedWorkload(kubeconfigText: string): Promise<void>;
}

const KUBE_INDEX = fileURLToPath(new URL("./kube/index.ts", import.meta.url));

/** Whether the kube stand-ins are there. */
export function kubeAvailable(): Promise<boolean> {
  return exists(KUBE_INDEX);
}

/** Loads the kube stand-ins; fails naming the file when they are not there. */
export async function loadKube(): Promise<KubeModule> {
  if (!(await kubeAvailable())) {
    throw new Error(`the kube stand-ins are not there yet (${KUBE_INDEX}); run the lab without them (--no-kube)`);
  }
  // Typed against the interface above, so a drift between the two fails the type check. The check above keeps this
  // import from running when the stand-ins are not there.
  const kube: KubeModule = await import("./kube/index.js");
  return kube;
}
