// The slice of the Kubernetes object model the lab's stand-ins read and write, typed loosely: the wire format is
// JSON, and unknown fields are carried through untouched, as the real apiserver does with fields it knows.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [k: string]: unknown;
}

/** Any API object. */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [k: string]: unknown;
}

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
}

export interface Taint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: "Exists" | "Equal";
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }>;
}

export interface NodeObj extends KObject {
  spec?: { unschedulable?: boolean; taints?: Taint[]; podCIDR?: string; [k: string]: unknown };
  status?: {
    conditions?: Condition[];
    capacity?: Record<string, string>;
    allocatable?: Record<string, string>;
    addresses?: Array<{ type: string; address: string }>;
    [k: string]: unknown;
  };
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  /** "File" (the default; no file is read here: containers share the node's root) or "FallbackToLogsOnError". */
  terminationMessagePolicy?: string;
  [k: string]: unknown;
}

export interface PodSpec {
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  containers: Container[];
  restartPolicy?: string;
  terminationGracePeriodSeconds?: number;
  schedulerName?: string;
  priorityClassName?: string;
  hostNetwork?: boolean;
  [k: string]: unknown;
}

export interface ContainerStatus {
  name: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  image?: string;
  imageID?: string;
  containerID?: string;
  state?: Record<string, Record<string, unknown>>;
  lastState?: Record<string, Record<string, unknown>>;
}

export interface PodStatus {
  phase?: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  conditions?: Condition[];
  containerStatuses?: ContainerStatus[];
  hostIP?: string;
  podIP?: string;
  startTime?: string;
  qosClass?: string;
  reason?: string;
  message?: string;
  [k: string]: unknown;
}

export interface PodObj extends KObject {
  spec: PodSpec;
  status?: PodStatus;
}

export interface PodTemplate {
  metadata?: ObjectMeta;
  spec: PodSpec;
}

export interface ReplicaSetObj extends KObject {
  spec: { replicas?: number; selector: LabelSelector; template: PodTemplate };
  status?: Record<string, unknown>;
}

export interface DaemonSetObj extends KObject {
  spec: { selector: LabelSelector; template: PodTemplate };
  status?: Record<string, unknown>;
}

export interface DeploymentObj extends KObject {
  spec: { replicas?: number; selector: LabelSelector; template: PodTemplate };
  status?: Record<string, unknown>;
}

export interface PdbObj extends KObject {
  spec: { minAvailable?: number | string; maxUnavailable?: number | string; selector?: LabelSelector };
  status?: {
    observedGeneration?: number;
    disruptionsAllowed?: number;
    currentHealthy?: number;
    desiredHealthy?: number;
    expectedPods?: number;
    disruptedPods?: Record<string, string>;
    conditions?: Condition[];
  };
}

export interface LeaseObj extends KObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** metav1.Time: RFC 3339 with second precision, as the apiserver writes it. */
export function nowTime(at = new Date()): string {
  return at.toISOString().replace(/\.\d+Z$/, "Z");
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits (the apiserver rejects any other width). */
export function nowMicroTime(at = new Date()): string {
  return at.toISOString().replace(/Z$/, "000Z");
}

/** The condition of `type`, if any. */
export function findCondition(conds: Condition[] | undefined, type: string): Condition | undefined {
  return conds?.find((c) => c.type === type);
}

/** True when the pod's Ready condition is True. */
export function isPodReady(pod: PodObj): boolean {
  return findCondition(pod.status?.conditions, "Ready")?.status === "True";
}

/** Active = not being deleted and not in a terminal phase (the controllers' FilterActivePods). */
export function isPodActive(pod: PodObj): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata.deletionTimestamp && phase !== "Succeeded" && phase !== "Failed";
}

/** The controlling owner reference, if any. */
export function controllerOf(obj: KObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((o) => o.controller === true);
}

/** Deep copy of a JSON value. */
export function clone<T>(v: T): T {
  return structuredClone(v);
}
