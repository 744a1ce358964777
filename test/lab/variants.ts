// The lab's variants, the ways one lab differs from another besides its size: how etcd is laid out, which container
// runtime the nodes run, how the nodes are named in Kubernetes, and whether they run sshd. Each is a value here and
// a small file of its own (etcd-kubekey.ts / etcd-kubeadm.ts, kube/runtimes.ts, layout.ts's names, sshd.ts).
import type { EtcdLayout } from "./etcd.js";
import { kubeadmLayout } from "./etcd-kubeadm.js";
import { kubekeyLayout } from "./etcd-kubekey.js";
import { RUNTIMES, kubeStateDirs, type RuntimeKind, type RuntimeSpec } from "./kube-plug.js";
import type { NodeNames } from "./layout.js";
import { COMMON_STATE, type StateDir } from "./nodes.js";
import { SSHD_STATE } from "./sshd.js";

export type LayoutName = EtcdLayout["name"];

/** What a lab is, besides its size. */
export interface LabVariants {
  /** The kube stand-ins run (API simulator, kubelet, runtime, crictl). */
  kube: boolean;
  /** How etcd is laid out on the masters; default "kubekey". */
  layout: LayoutName;
  /** The container runtime of every node; default "containerd". */
  runtime: RuntimeKind;
  /** How nodes are named in Kubernetes; default "short". */
  nodeNames: NodeNames;
  /** openssh-server in every node; default false. */
  sshd: boolean;
}

export const LAYOUTS: Readonly<Record<LayoutName, EtcdLayout>> = { kubekey: kubekeyLayout, kubeadm: kubeadmLayout };

/** The defaults of a lab.json written before the variants existed. */
export function variantsOf(state: Partial<LabVariants> & { kube: boolean }): LabVariants {
  return {
    kube: state.kube,
    layout: state.layout ?? "kubekey",
    runtime: state.runtime ?? "containerd",
    nodeNames: state.nodeNames ?? "short",
    sshd: state.sshd ?? false,
  };
}

/** What the variants make of a lab: its etcd layout, its runtime and every node's writable directories. */
export function resolveVariants(v: LabVariants): { etcd: EtcdLayout; runtime: RuntimeSpec; stateDirs: StateDir[] } {
  const etcd = LAYOUTS[v.layout];
  const runtime = RUNTIMES[v.runtime];
  return {
    etcd,
    runtime,
    stateDirs: [
      ...COMMON_STATE,
      ...etcd.stateDirs,
      ...(v.kube ? kubeStateDirs(runtime) : []),
      ...(v.sshd ? SSHD_STATE : []),
    ],
  };
}

/** Every per-node directory and host link any variant may create: what `down` must leave as it was. */
export function allVariantsHostNeeds(): { stateDirs: StateDir[]; hostLinks: Array<{ path: string; target: string }> } {
  const stateDirs = [
    ...COMMON_STATE,
    ...Object.values(LAYOUTS).flatMap((l) => l.stateDirs),
    ...Object.values(RUNTIMES).flatMap(kubeStateDirs),
    ...SSHD_STATE,
  ];
  return {
    stateDirs: stateDirs.filter((s, i) => stateDirs.findIndex((o) => o.target === s.target) === i),
    hostLinks: Object.values(LAYOUTS).flatMap((l) => l.hostLinks),
  };
}
