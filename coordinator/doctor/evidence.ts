// What `kubecycle doctor` collects before it judges: plain data, so the rules are pure functions over it (tested in
// the fast tier with hand-made evidence) and `-o json` can show exactly what they saw.
import type { EtcdMemberRecord, EtcdMode } from "../plan/index.js";

/** A unit as the node's systemd reported it. */
export interface UnitEvidence {
  name: string;
  exists: boolean;
  activeState: string;
  subState: string;
  result: string;
  restarts: number;
  stateChangeUnixMs: number;
}

/** The local etcd member as the node's agent asked it. */
export interface EtcdEvidence {
  isMember: boolean;
  healthy: boolean;
  healthError: string;
  memberId: string;
  leaderId: string;
  revision: number;
  raftIndex: number;
  dbSizeBytes: number;
  dbSizeInUseBytes: number;
  /** etcd's own status errors, alarms included ("memberID:... alarm:NOSPACE"). */
  errors: string[];
  statusError: string;
}

/** How etcd is configured on the node (its layout). */
export interface EtcdConfigEvidence {
  mode: EtcdMode | "unknown";
  name: string;
  dataDir: string;
  peerUrls: string[];
  /** 0: etcd's default (2 GiB). */
  quotaBackendBytes: number;
  error: string;
}

export interface CertificateEvidence {
  purpose: string;
  path: string;
  subject: string;
  notAfterUnixMs: number;
  error: string;
}

export interface ComponentEvidence {
  component: string;
  present: boolean;
  healthy: boolean;
  url: string;
  detail: string;
}

export interface DiskEvidence {
  purpose: string;
  path: string;
  exists: boolean;
  measured: string;
  sizeBytes: number;
  availableBytes: number;
  inodes: number;
  inodesFree: number;
  etcdWalFiles: number;
  etcdDbBytes: number;
  error: string;
}

export interface NetworkEvidence {
  purpose: string;
  target: string;
  name: string;
  reachable: boolean;
  latencyMs: number;
  error: string;
}

/** Everything doctor learnt about one node. Absent parts could not be had (their error says why). */
export interface NodeEvidence {
  name: string;
  /** The address its agent is dialled on. */
  address: string;
  controlPlane: boolean;
  /** A voter or learner in etcd's member list (or in the recorded one). */
  etcdMember: boolean;
  etcdMode: EtcdMode | "unknown";
  kubeletUnit: string;
  /** The runtime's services and sockets, in start order. */
  runtimeUnits: string[];
  /** The addresses the cluster knows the node by (the recorded inventory's, and its InternalIP). */
  knownAddresses: string[];
  agent: { reachable: boolean; error?: string };
  units?: UnitEvidence[];
  /** The last journal lines of the units that are not running (or restarted), by unit. */
  journals: Record<string, string[]>;
  etcd?: EtcdEvidence;
  etcdError?: string;
  etcdConfig?: EtcdConfigEvidence;
  /** The node's own addresses (its agent's layout). */
  addresses?: string[];
  certificates?: CertificateEvidence[];
  components?: ComponentEvidence[];
  /** The node's clock minus the coordinator's, measured over the call (uncertainty: half the round trip). */
  clock?: { offsetMs: number; uncertaintyMs: number; synchronized?: boolean };
  disks?: DiskEvidence[];
  network?: NetworkEvidence[];
  /** Calls that failed although the agent answered Health, by RPC. */
  errors: Record<string, string>;
}

/** A node as the API reports it. */
export interface ApiNodeEvidence {
  name: string;
  /** Ready's status: True, False, Unknown. */
  ready: string;
  conditions: Array<{ type: string; status: string; reason: string; message: string; since: string }>;
  internalIp: string;
  lastHeartbeat: string;
}

/** A pod that is not running well: not ready, or restarted. */
export interface PodEvidence {
  namespace: string;
  name: string;
  node: string;
  phase: string;
  ready: boolean;
  restarts: number;
  /** A container's waiting reason (CrashLoopBackOff, ContainerCreating), if any. */
  waiting: string;
  /** The last termination of its most restarted container. */
  lastTermination?: { container: string; reason: string; exitCode: number; message: string; finishedAt: string };
}

/** A pending kubelet CSR and kubecycle's decision on it. */
export interface CsrEvidence {
  name: string;
  kind: string;
  node: string;
  requester: string;
  sans: string[];
  approve: boolean;
  reasons: string[];
  createdAt: string;
}

/** The whole picture. */
export interface Evidence {
  cluster: string;
  collectedUnixMs: number;
  /** The nodes asked about (all when none was named). */
  scope: string[];
  inventory: { source: "api" | "cache"; collectedAt: string };
  api: { reachable: boolean; server: string; error?: string };
  /** etcd's member list as it is now (a member answered), or as last known. */
  members: EtcdMemberRecord[];
  membersSource: string;
  /** The member list recorded earlier (the last cluster stop, else the previous inventory), to compare with. */
  recordedMembers?: { members: EtcdMemberRecord[]; source: string };
  /** Where verified snapshots are kept, newest first, for a restore's fix line. */
  snapshots: string[];
  apiNodes?: ApiNodeEvidence[];
  pods?: PodEvidence[];
  csrs?: CsrEvidence[];
  nodes: NodeEvidence[];
}
