// Judging the evidence: pure rules over what gather.ts collected, one finding per thing that is wrong, each with the
// lines that show it, the likely cause and the command that fixes it. Ordered as the runbook troubleshoots (its
// section 3.6): etcd first (nothing else works without it), then the control plane, the nodes and their network,
// kubelet, and the pods last (they restart until what they wait on is back).
import type { CsrEvidence, Evidence, NetworkEvidence, NodeEvidence, PodEvidence, UnitEvidence } from "./evidence.js";

/** What a finding is about, in the order to fix things. */
export const LAYERS = ["etcd", "control-plane", "node", "kubelet", "pods"] as const;
export type Layer = (typeof LAYERS)[number];

/** One thing that is wrong. */
export interface Finding {
  /** Stable, for scripts: "etcd-data-corrupt", "runtime-stopped-under-etcd", "node-cut-off"... */
  code: string;
  layer: Layer;
  /** "error": something does not work; "warning": something will stop working or works badly. */
  severity: "error" | "warning";
  /** The node it is about; absent for the cluster as a whole. */
  node?: string;
  /** What is wrong, in one sentence. */
  what: string;
  /** The lines that show it (journal lines, probe results, states), as they were read. */
  evidence: string[];
  /** The likely cause. */
  cause: string;
  /** The command(s) that fix it, in order; a kubecycle command where there is one. */
  fix: string[];
}

/** Thresholds the rules judge by. */
export interface DoctorThresholds {
  /** Certificates expiring within this are warned about. Default 30 days. */
  certWarnMs: number;
  /** A node's clock further than this from the coordinator's. Default 500 ms (etcd's default election timeout is 1 s). */
  clockOffsetMs: number;
  /** A data directory's file system with less free than this fraction. Default 0.1. */
  diskFreeRatio: number;
  /** An etcd db this close to its quota. Default 0.8. */
  quotaRatio: number;
  /** Restarts from which a pod counts as crash-looping. Default 3. */
  podRestarts: number;
}

export const DEFAULT_THRESHOLDS: Readonly<DoctorThresholds> = Object.freeze({
  certWarnMs: 30 * 86_400_000,
  clockOffsetMs: 500,
  diskFreeRatio: 0.1,
  quotaRatio: 0.8,
  podRestarts: 3,
});

/** etcd's default --quota-backend-bytes (2 GiB), when the configuration sets none. */
export const ETCD_DEFAULT_QUOTA = 2 * 2 ** 30;

/**
 * What etcd writes when its data directory is damaged or gone: bbolt's and the WAL's checks, a missing snapshot
 * file, a member that finds no data but was already part of a cluster. Matched on the journal.
 */
const DATA_DAMAGED =
  /(corrupt|crc mismatch|checksum mismatch|invalid database|unexpected EOF|snap: snapshot file doesn't exist|failed to find database snapshot|failed to recover v3 backend|freepages|page \d+ already freed|wal: file not found|has already been bootstrapped|cluster ID mismatch|data-dir .* (is|was) (missing|empty))/i;

const GIB = 2 ** 30;

/** Everything the evidence shows to be wrong, ordered by what to fix first. */
export function diagnose(ev: Evidence, now = ev.collectedUnixMs, t: DoctorThresholds = DEFAULT_THRESHOLDS): Finding[] {
  const out: Finding[] = [];
  const etcdNodes = ev.nodes.filter((n) => n.etcdMember);
  out.push(...etcdFindings(ev, etcdNodes, t));
  out.push(...controlPlaneFindings(ev));
  for (const n of ev.nodes) out.push(...nodeFindings(ev, n, now, t));
  out.push(...kubeletFindings(ev));
  out.push(...podFindings(ev.pods ?? [], t));
  out.push(...(ev.csrs ?? []).map(csrFinding));
  return order(out);
}

/** Stable order: layer, then errors before warnings, then node name (the cluster-wide ones first). */
function order(findings: Finding[]): Finding[] {
  const rank = (f: Finding) => LAYERS.indexOf(f.layer) * 2 + (f.severity === "error" ? 0 : 1);
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => rank(a.f) - rank(b.f) || (a.f.node ?? "").localeCompare(b.f.node ?? "") || a.i - b.i)
    .map(({ f }) => f);
}

// ---- helpers -----------------------------------------------------------------------------------------------------

function unit(n: NodeEvidence, name: string | undefined) {
  return name ? n.units?.find((u) => u.name === name) : undefined;
}

function unitLine(u: { name: string; activeState: string; subState: string; result: string; restarts: number }) {
  return `${u.name}: ${u.activeState} (${u.subState}), result ${u.result}${u.restarts ? `, ${u.restarts} restarts` : ""}`;
}

const lastLines = (lines: readonly string[] | undefined, n = 5) => (lines ?? []).slice(-n);

/** The runtime's services on the node that are not active. */
function runtimeDown(n: NodeEvidence): UnitEvidence[] {
  return n.runtimeUnits
    .filter((name) => name.endsWith(".service"))
    .map((name) => unit(n, name))
    .filter((u): u is UnitEvidence => u !== undefined && u.activeState !== "active");
}

/** A probe that timed out lost its packets (a firewall's DROP, a link down); one refused reached a host. */
const timedOut = (p: NetworkEvidence) => !p.reachable && /timed? ?out|deadline/i.test(p.error);

/** The node's etcd unit, when etcd runs as one. */
function etcdUnit(n: NodeEvidence) {
  return n.etcdMode === "systemd" ? (n.units?.find((u) => u.name.startsWith("etcd")) ?? undefined) : undefined;
}

/** Other reachable nodes' probes that targeted `n` (by its known addresses), and what they saw. */
function probesTowards(ev: Evidence, n: NodeEvidence): Array<{ from: string; probe: NetworkEvidence }> {
  const addrs = new Set([n.address, ...n.knownAddresses]);
  return ev.nodes.flatMap((o) =>
    o === n
      ? []
      : (o.network ?? [])
          .filter((p) => addrs.has(p.target.replace(/:\d+$/, "").replace(/^\[|\]$/g, "")))
          .map((probe) => ({ from: o.name, probe })),
  );
}

// ---- etcd --------------------------------------------------------------------------------------------------------

function etcdFindings(ev: Evidence, etcdNodes: NodeEvidence[], t: DoctorThresholds): Finding[] {
  const out: Finding[] = [];
  const total = Math.max(etcdNodes.length, ev.members.length);
  const healthy = etcdNodes.filter((n) => n.etcd?.healthy);
  const quorum = healthy.length > total / 2;
  const snapshot = ev.snapshots[0];

  for (const n of etcdNodes) {
    if (!n.agent.reachable) continue; // nodeFindings names the unreachable node, with the etcd consequence
    if (n.etcd?.healthy) continue;
    const u = etcdUnit(n);
    const journal = u ? n.journals[u.name] : undefined;
    const runtime = runtimeDown(n);
    const evidence = [
      ...(u ? [unitLine(u)] : []),
      ...(n.etcd ? [`etcd health: ${n.etcd.healthError || n.etcd.statusError || "unhealthy"}`] : []),
      ...(n.etcdError ? [`EtcdStatus: ${n.etcdError}`] : []),
    ];
    const damaged = (journal ?? []).filter((l) => DATA_DAMAGED.test(l));
    const disk = n.disks?.find((d) => d.purpose === "etcd-data");
    const dataGone = disk !== undefined && (!disk.exists || (disk.etcdDbBytes === 0 && disk.etcdWalFiles === 0));
    if (runtime.length > 0 && (!u || u.activeState !== "active")) {
      // The runbook's first check: etcd (a static pod, or KubeKey's etcd in docker) cannot run without the runtime.
      out.push({
        code: "runtime-stopped-under-etcd",
        layer: "etcd",
        severity: "error",
        node: n.name,
        what: `etcd is not running on ${n.name}, and neither is its container runtime`,
        evidence: [...runtime.map((r) => unitLine(r)), ...evidence, ...lastLines(journal, 3)],
        cause: `the container runtime (${runtime.map((r) => r.name).join(", ")}) is stopped: start it before etcd, as the runbook says`,
        fix: [`kubecycle node start ${n.name}`],
      });
    } else if (damaged.length > 0 || dataGone) {
      out.push({
        code: "etcd-data-damaged",
        layer: "etcd",
        severity: "error",
        node: n.name,
        what: `etcd on ${n.name} cannot start: its data directory is damaged or missing`,
        evidence: [
          ...evidence,
          ...(dataGone && disk
            ? [
                `${disk.path}: ${disk.exists ? `${disk.etcdWalFiles} WAL files, db ${disk.etcdDbBytes} bytes` : "does not exist"}`,
              ]
            : []),
          ...lastLines(damaged.length > 0 ? damaged : journal, 5),
        ],
        cause: "corrupted or lost etcd data (a full disk, a crash during a write, or a deleted directory)",
        fix: quorum
          ? [
              `the other members keep quorum (${healthy.length} of ${total} healthy): let it rejoin empty (removed and re-added, its data kept aside):`,
              `kubecycle etcd rejoin ${n.name}`,
            ]
          : [
              `no quorum without it: restore every member from the newest snapshot, as the runbook's "restore etcd from a backup":`,
              `kubecycle etcd restore ${snapshot ?? "SNAPSHOT"}`,
            ],
      });
    } else if (u && u.activeState !== "active" && u.activeState !== "activating") {
      out.push({
        code: "etcd-stopped",
        layer: "etcd",
        severity: "error",
        node: n.name,
        what: `etcd is ${u.activeState} on ${n.name}`,
        evidence: [...evidence, ...lastLines(journal, 5)],
        cause:
          u.activeState === "failed"
            ? "etcd exited with an error (its journal above says why)"
            : "etcd was stopped and not started again",
        fix: quorum ? [`kubecycle node start ${n.name}`] : ["kubecycle cluster start"],
      });
    } else {
      // Its process runs (or is starting) but it does not serve: no leader, or it cannot reach its peers.
      const peers = (n.network ?? []).filter((p) => p.purpose === "etcd-peer" && !p.reachable);
      // Refused peers are members whose etcd does not run (named on their own); dropped ones point at the network.
      const dropped = peers.filter(timedOut);
      out.push({
        code: dropped.length > 0 ? "etcd-peers-unreachable" : "etcd-unhealthy",
        layer: "etcd",
        severity: "error",
        node: n.name,
        what: `etcd on ${n.name} runs but is not healthy`,
        evidence: [...evidence, ...peers.map((p) => `${p.name} ${p.target}: ${p.error}`), ...lastLines(journal, 3)],
        cause:
          dropped.length > 0
            ? `it cannot reach ${dropped.length} of its peers: their packets are dropped (a firewall rule or a link down)`
            : quorum
              ? "it has not caught up with the leader"
              : `no quorum: ${healthy.length} of ${total} members healthy, etcd waits for a majority`,
        fix:
          dropped.length > 0
            ? [`on ${n.name} and its peers: nft list ruleset; iptables -S  # port 2380`, "kubecycle cluster start"]
            : quorum
              ? [`kubecycle node start ${n.name}`]
              : ["kubecycle cluster start"],
      });
    }
  }

  // Alarms, quota and the member list: asked of any member that answers.
  for (const n of etcdNodes) {
    const e = n.etcd;
    if (!e) continue;
    const alarms = e.errors.filter((x) => /alarm/i.test(x));
    const quota = n.etcdConfig?.quotaBackendBytes || ETCD_DEFAULT_QUOTA;
    const sizes = `db ${(e.dbSizeBytes / GIB).toFixed(2)} GiB (in use ${(e.dbSizeInUseBytes / GIB).toFixed(2)} GiB) of a ${(quota / GIB).toFixed(2)} GiB quota`;
    if (alarms.some((a) => /NOSPACE/i.test(a))) {
      const defragHelps = e.dbSizeInUseBytes > 0 && e.dbSizeInUseBytes < e.dbSizeBytes * 0.8;
      out.push({
        code: "etcd-quota-full",
        layer: "etcd",
        severity: "error",
        node: n.name,
        what: "etcd's space quota is exhausted: it refuses every write (NOSPACE alarm)",
        evidence: [...alarms, sizes],
        cause: defragHelps
          ? "the db file reached its quota; most of it is freed pages, which a defragmentation returns"
          : "the keyspace itself reached the quota (too many objects or revisions)",
        fix: [
          "etcdctl compact $(etcdctl endpoint status -w json | jq '.[0].Status.header.revision')",
          "etcdctl defrag --cluster",
          "etcdctl alarm disarm",
          ...(defragHelps ? [] : ["raise --quota-backend-bytes (at most 8 GiB) on every member, then restart them"]),
        ],
      });
    } else if (e.dbSizeBytes >= quota * t.quotaRatio) {
      out.push({
        code: "etcd-quota-near",
        layer: "etcd",
        severity: "warning",
        node: n.name,
        what: `etcd's db on ${n.name} is near its quota`,
        evidence: [sizes],
        cause: "writes will fail with NOSPACE when it reaches the quota",
        fix: ["etcdctl compact <revision> && etcdctl defrag --cluster"],
      });
    }
    if (alarms.some((a) => /CORRUPT/i.test(a))) {
      out.push({
        code: "etcd-corrupt-alarm",
        layer: "etcd",
        severity: "error",
        node: n.name,
        what: "etcd raised a CORRUPT alarm: the members' data disagree",
        evidence: alarms,
        cause: "a member's data diverged from the others' (a damaged disk, or data restored on one member only)",
        fix: [
          `restore every member from the newest snapshot, as the runbook's "restore etcd from a backup":`,
          `kubecycle etcd restore ${snapshot ?? "SNAPSHOT"}`,
        ],
      });
    }
  }

  if (ev.recordedMembers && ev.membersSource !== "none" && ev.members.length > 0) {
    const now = new Map(ev.members.map((m) => [m.name, m]));
    const before = new Map(ev.recordedMembers.members.map((m) => [m.name, m]));
    const missing = [...before.keys()].filter((k) => !now.has(k));
    const extra = [...now.keys()].filter((k) => !before.has(k));
    const moved = [...before.values()].filter((m) => {
      const x = now.get(m.name);
      return x && [...x.peerUrls].sort().join(",") !== [...m.peerUrls].sort().join(",");
    });
    if (missing.length + extra.length + moved.length > 0) {
      out.push({
        code: "etcd-members-changed",
        layer: "etcd",
        severity: "warning",
        what: "etcd's member list differs from the recorded one",
        evidence: [
          ...missing.map((m) => `missing: ${m} (recorded in ${ev.recordedMembers?.source})`),
          ...extra.map((m) => `not recorded: ${m}`),
          ...moved.map(
            (m) => `${m.name}: peer URLs ${m.peerUrls.join(",")} recorded, ${now.get(m.name)?.peerUrls.join(",")} now`,
          ),
        ],
        cause: "a member was removed, added or re-addressed since the record was made",
        fix: [
          "etcdctl member list -w table  # check it is intended; kubecycle refuses to start a cluster that differs",
        ],
      });
    }
  }
  return out;
}

// ---- control plane -----------------------------------------------------------------------------------------------

function controlPlaneFindings(ev: Evidence): Finding[] {
  const out: Finding[] = [];
  for (const n of ev.nodes) {
    for (const c of n.components ?? []) {
      if (!c.present || c.healthy || c.component === "kubelet") continue;
      const etcdDown = /etcd/i.test(c.detail);
      out.push({
        code: "component-unhealthy",
        layer: "control-plane",
        severity: "error",
        node: n.name,
        what: `${c.component} on ${n.name} is not healthy`,
        evidence: [`${c.url}: ${c.detail.split("\n").slice(-3).join(" ")}`],
        cause: etcdDown
          ? "it cannot read etcd (see the etcd findings above)"
          : "its static pod does not run: kubelet or the runtime on the node is down, or the pod fails",
        fix: etcdDown ? ["fix etcd first (above)"] : [`kubecycle node start ${n.name}`],
      });
    }
  }
  if (!ev.api.reachable) {
    out.push({
      code: "api-unreachable",
      layer: "control-plane",
      severity: "error",
      what: `the Kubernetes API at ${ev.api.server} does not answer`,
      evidence: [ev.api.error ?? "no answer"],
      cause:
        "etcd or the API servers are down (the findings above say which); kubecycle worked from its cached inventory",
      fix: ["kubecycle cluster start"],
    });
  }
  return out;
}

// ---- nodes: reachability, network, clock, disks, certificates, addresses -----------------------------------------

function nodeFindings(ev: Evidence, n: NodeEvidence, now: number, t: DoctorThresholds): Finding[] {
  const out: Finding[] = [];
  const layer: Layer = n.etcdMember ? "etcd" : "node";
  if (!n.agent.reachable) {
    const towards = probesTowards(ev, n);
    const dropped = towards.filter((x) => timedOut(x.probe));
    const apiNode = ev.apiNodes?.find((a) => a.name === n.name);
    const agentTimedOut = /deadline|timed? ?out|unreachable|UNAVAILABLE/i.test(n.agent.error ?? "");
    const refused = /ECONNREFUSED|connection refused/i.test(n.agent.error ?? "");
    out.push({
      code: refused ? "agent-down" : "node-cut-off",
      layer,
      severity: "error",
      node: n.name,
      what: refused
        ? `the agent on ${n.name} does not run (the node answers, nothing listens)`
        : `${n.name} does not answer: the agent${n.etcdMember ? ", its etcd member" : ""} and its kubelet are cut off`,
      evidence: [
        `agent ${n.address}: ${n.agent.error ?? "no answer"}`,
        ...towards.map(
          (x) =>
            `from ${x.from}: ${x.probe.name} ${x.probe.target}: ${x.probe.reachable ? "reachable" : x.probe.error}`,
        ),
        ...(apiNode ? [`API: Ready=${apiNode.ready}, last heartbeat ${apiNode.lastHeartbeat || "unknown"}`] : []),
      ],
      cause: refused
        ? "kubecycle-agent.service is stopped or failed on the node"
        : dropped.length > 0 || agentTimedOut
          ? "the node's packets are dropped: a firewall rule (nftables/iptables), a link down, or the node is powered off"
          : "the node is off the network or powered off",
      fix: refused
        ? [`on ${n.name}: systemctl start kubecycle-agent`]
        : [
            `on ${n.name} (console): ip link; nft list ruleset; iptables -S  # a DROP for the agent's, etcd's or the API's ports`,
            `then: kubecycle node start ${n.name}`,
          ],
    });
    return out;
  }

  // The node reaches out: the API servers (kubelet needs one), etcd's peers are judged with etcd above.
  const apiProbes = (n.network ?? []).filter((p) => p.purpose === "kube-apiserver");
  if (apiProbes.length > 0 && apiProbes.every((p) => !p.reachable) && ev.api.reachable) {
    out.push({
      code: "api-unreachable-from-node",
      layer: "node",
      severity: "error",
      node: n.name,
      what: `${n.name} cannot reach any API server, though the API answers kubecycle`,
      evidence: apiProbes.map((p) => `${p.target}: ${p.error}`),
      cause: apiProbes.some(timedOut)
        ? "a firewall rule or a route on the node drops its traffic to the API (timeouts)"
        : "the connection is refused on the way (a firewall's REJECT, or a proxy)",
      fix: [`on ${n.name}: nft list ruleset; iptables -S; ip route`],
    });
  }
  if (n.etcdMember && n.etcd?.healthy) {
    const peers = (n.network ?? []).filter((p) => p.purpose === "etcd-peer" && timedOut(p));
    if (peers.length > 0) {
      out.push({
        code: "etcd-peer-dropped",
        layer: "etcd",
        severity: "warning",
        node: n.name,
        what: `etcd on ${n.name} cannot reach ${peers.length} peer(s); it serves through the others`,
        evidence: peers.map((p) => `${p.name} ${p.target}: ${p.error}`),
        cause: "a firewall rule or a link drops the peers' traffic (port 2380); one more failure loses quorum",
        fix: [`on the nodes named: nft list ruleset; iptables -S  # port 2380`],
      });
    }
  }

  if (n.clock) {
    const off = Math.abs(n.clock.offsetMs) - n.clock.uncertaintyMs;
    if (off > t.clockOffsetMs || n.clock.synchronized === false) {
      out.push({
        code: "clock-offset",
        layer: n.etcdMember ? "etcd" : "node",
        severity: off > t.clockOffsetMs ? "error" : "warning",
        node: n.name,
        what: `${n.name}'s clock is ${n.clock.offsetMs} ms off the coordinator's${n.clock.synchronized === false ? " and not synchronized" : ""}`,
        evidence: [
          `offset ${n.clock.offsetMs} ms (±${n.clock.uncertaintyMs} ms)`,
          ...(n.clock.synchronized === false ? ["systemd-timesyncd: not synchronized"] : []),
        ],
        cause: "no time synchronization (NTP) on the node; etcd's leases and TLS validity depend on clocks agreeing",
        fix: [`on ${n.name}: timedatectl set-ntp true; timedatectl timesync-status`],
      });
    }
  }

  for (const d of n.disks ?? []) {
    if (d.error || d.sizeBytes === 0) continue;
    const lowSpace = d.availableBytes < d.sizeBytes * t.diskFreeRatio;
    const lowInodes = d.inodes > 0 && d.inodesFree < d.inodes * t.diskFreeRatio;
    if (!lowSpace && !lowInodes) continue;
    out.push({
      code: lowSpace ? "disk-full" : "inodes-full",
      layer: d.purpose === "etcd-data" ? "etcd" : "node",
      severity: d.availableBytes < d.sizeBytes * 0.02 || d.inodesFree < d.inodes * 0.02 ? "error" : "warning",
      node: n.name,
      what: `the file system of ${d.path} (${d.purpose}) on ${n.name} is nearly full`,
      evidence: [
        `${d.measured}: ${(d.availableBytes / GIB).toFixed(2)} GiB free of ${(d.sizeBytes / GIB).toFixed(2)} GiB, ${d.inodesFree} of ${d.inodes} inodes free`,
      ],
      cause:
        d.purpose === "etcd-data"
          ? "etcd fails its writes (and may corrupt its WAL) when the disk fills"
          : "images, logs or containers fill the disk; kubelet evicts pods under disk pressure",
      fix:
        d.purpose === "etcd-data"
          ? [`on ${n.name}: free space on ${d.measured}; etcdctl defrag`]
          : [`on ${n.name}: crictl rmi --prune; journalctl --vacuum-size=500M`],
    });
  }

  for (const c of n.certificates ?? []) {
    if (c.error || c.notAfterUnixMs === 0) continue;
    const left = c.notAfterUnixMs - now;
    if (left > t.certWarnMs) continue;
    const expired = left <= 0;
    const day = new Date(c.notAfterUnixMs).toISOString().slice(0, 10);
    out.push({
      code: expired ? "certificate-expired" : "certificate-expiring",
      layer: c.purpose.startsWith("etcd") ? "etcd" : c.purpose.startsWith("kubelet") ? "kubelet" : "node",
      severity: expired ? "error" : "warning",
      node: n.name,
      what: `${c.purpose} certificate on ${n.name} ${expired ? "expired" : "expires"} ${day}`,
      evidence: [`${c.path}: ${c.subject}, notAfter ${new Date(c.notAfterUnixMs).toISOString()}`],
      cause: expired
        ? "not renewed in time (a long outage skips the automatic renewals)"
        : "it will expire soon; the TLS connections that use it will then be refused",
      fix: certificateFix(n, c.purpose, expired),
    });
  }

  if (n.addresses && n.knownAddresses.length > 0) {
    const recorded = n.knownAddresses[0];
    if (recorded && !n.addresses.includes(recorded)) {
      out.push({
        code: "address-drift",
        layer: n.etcdMember ? "etcd" : "node",
        severity: "error",
        node: n.name,
        what: `${n.name} no longer has the address the cluster knows it by (${recorded})`,
        evidence: [`recorded ${n.knownAddresses.join(", ")}; the node has ${n.addresses.join(", ") || "none"}`],
        cause: `its address changed (DHCP, a moved VM)${n.etcdMember ? "; etcd's peer URLs and certificates name the old one" : ""}`,
        fix: [
          `give ${n.name} back ${recorded} (a static address or a DHCP reservation), then: kubecycle node start ${n.name}`,
        ],
      });
    }
  }
  return out;
}

function certificateFix(n: NodeEvidence, purpose: string, expired: boolean): string[] {
  if (purpose === "kubecycle-agent")
    return [
      `kubecycle pki agent ${n.name} --ip ${n.address} --force`,
      "install it on the node, restart kubecycle-agent",
    ];
  // An expired client certificate cannot authenticate the kubelet's CSR; kubeadm deletes the bootstrap kubeconfig
  // the kubelet would fall back to once the node joined (pkg/kubelet/certificate/bootstrap), so no CSR comes.
  if (purpose === "kubelet-client" && expired)
    return [
      `on a control-plane node: kubeadm kubeconfig user --org system:nodes --client-name system:node:${n.name} > kubelet.conf`,
      `install it on ${n.name} as /etc/kubernetes/kubelet.conf, then kubecycle node start ${n.name} (an expired kubelet client certificate cannot ask for a new one)`,
    ];
  if (purpose.startsWith("kubelet"))
    return [
      `kubelet asks for a new certificate on restart: kubecycle node start ${n.name}, then approve its CSR (kubecycle cluster start --approve-kubelet-csrs)`,
    ];
  if (purpose.startsWith("etcd"))
    return [
      `renew etcd's certificates with the tool that made them (KubeKey: kk certs renew; kubeadm: kubeadm certs renew etcd-server etcd-peer)`,
    ];
  return [`on ${n.name}: kubeadm certs renew all, then restart the control-plane static pods`];
}

// ---- kubelet -----------------------------------------------------------------------------------------------------

function kubeletFindings(ev: Evidence): Finding[] {
  const out: Finding[] = [];
  for (const n of ev.nodes) {
    if (!n.agent.reachable) continue;
    const apiNode = ev.apiNodes?.find((a) => a.name === n.name);
    const conds = (apiNode?.conditions ?? [])
      .filter((c) => (c.type === "Ready" ? c.status !== "True" : c.status === "True"))
      .map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`.trim());
    const k = unit(n, n.kubeletUnit);
    const runtime = runtimeDown(n);
    if (runtime.length > 0 && !(n.etcdMember && !n.etcd?.healthy)) {
      out.push({
        code: "runtime-stopped",
        layer: "kubelet",
        severity: "error",
        node: n.name,
        what: `the container runtime is not running on ${n.name}`,
        evidence: [...runtime.map((r) => unitLine(r)), ...runtime.flatMap((r) => lastLines(n.journals[r.name], 3))],
        cause: "it was stopped (or failed); kubelet cannot start or watch pods without it",
        fix: [`kubecycle node start ${n.name}`],
      });
    }
    if (k && k.activeState !== "active") {
      out.push({
        code: "kubelet-stopped",
        layer: "kubelet",
        severity: "error",
        node: n.name,
        what: `kubelet is ${k.activeState} on ${n.name}`,
        evidence: [unitLine(k), ...conds, ...lastLines(n.journals[k.name], 5)],
        cause:
          k.activeState === "failed"
            ? "kubelet exited with an error (its journal above says why)"
            : "kubelet was stopped and not started again",
        fix: [`kubecycle node start ${n.name}`],
      });
    } else if (apiNode && apiNode.ready !== "True") {
      const pendingCsr = (ev.csrs ?? []).some((c) => c.node === n.name);
      const apiProbes = (n.network ?? []).filter((p) => p.purpose === "kube-apiserver" && !p.reachable);
      out.push({
        code: "node-not-ready",
        layer: "kubelet",
        severity: "error",
        node: n.name,
        what: `${n.name} is NotReady although kubelet runs`,
        evidence: [
          ...(k ? [unitLine(k)] : []),
          ...conds,
          `last heartbeat ${apiNode.lastHeartbeat || "unknown"}`,
          ...apiProbes.map((p) => `${p.target}: ${p.error}`),
          ...lastLines(n.journals[n.kubeletUnit], 3),
        ],
        cause: pendingCsr
          ? "kubelet waits for its certificate: its CSR is pending (below)"
          : apiProbes.length > 0
            ? "kubelet cannot reach the API server (above)"
            : "kubelet has just started, or it fails to report (its journal says why)",
        fix: pendingCsr ? ["kubecycle cluster start --approve-kubelet-csrs"] : [`kubecycle node start ${n.name}`],
      });
    }
  }
  return out;
}

function csrFinding(c: CsrEvidence): Finding {
  return {
    code: c.approve ? "kubelet-csr-pending" : "kubelet-csr-refused",
    layer: "kubelet",
    severity: c.approve ? "error" : "warning",
    ...(c.node ? { node: c.node } : {}),
    what: `kubelet CSR ${c.name} (${c.kind}) is pending${c.node ? ` for ${c.node}` : ""}`,
    evidence: [
      `requested by ${c.requester} at ${c.createdAt}${c.sans.length ? `, names ${c.sans.join(", ")}` : ""}`,
      ...c.reasons,
    ],
    cause: c.approve
      ? "after a long outage kubelets ask for new certificates; nothing approves serving certificates automatically"
      : "it does not match a node of the recorded inventory, so kubecycle will not approve it",
    fix: c.approve
      ? ["kubecycle cluster start --approve-kubelet-csrs", `or: kubectl certificate approve ${c.name}`]
      : [`check who asked; kubectl certificate deny ${c.name} if it is not yours`],
  };
}

// ---- pods --------------------------------------------------------------------------------------------------------

/** Termination messages of a pod that waits on another: its dependency refused it or was not there. */
const WAITS_ON_OTHER =
  /(connection refused|no such host|i\/o timeout|dial tcp|could not connect|unavailable|ECONNREFUSED|ENOTFOUND)/i;

function podFindings(pods: readonly PodEvidence[], t: DoctorThresholds): Finding[] {
  return pods
    .filter((p) => p.waiting === "CrashLoopBackOff" || p.restarts >= t.podRestarts)
    .sort((a, b) => b.restarts - a.restarts)
    .map((p): Finding => {
      const term = p.lastTermination;
      const waits = term !== undefined && WAITS_ON_OTHER.test(term.message);
      const oom = term?.reason === "OOMKilled";
      return {
        code: "pod-crash-looping",
        layer: "pods",
        severity: "error",
        ...(p.node ? { node: p.node } : {}),
        what: `pod ${p.namespace}/${p.name} restarts again and again (${p.restarts} restarts${p.waiting ? `, ${p.waiting}` : ""})`,
        evidence: term
          ? [
              `last termination of ${term.container}: ${term.reason || "?"}, exit code ${term.exitCode}${term.finishedAt ? ` at ${term.finishedAt}` : ""}`,
              ...term.message.split("\n").filter(Boolean).slice(-3),
            ]
          : [`phase ${p.phase}, ready ${p.ready}`],
        cause: oom
          ? "it runs out of memory (its limit is too low for its load after the restart)"
          : waits
            ? "it waits on another service that is not up yet (its last words above); it settles once that one runs"
            : "the application fails at start (its logs say why)",
        fix: [
          `kubectl logs -n ${p.namespace} ${p.name} --previous`,
          ...(waits ? ["fix what it waits on first; then: kubectl delete pod -n " + p.namespace + " " + p.name] : []),
        ],
      };
    });
}
