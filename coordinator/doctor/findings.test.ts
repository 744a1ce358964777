// The rules over hand-made evidence: the cases the simulated cluster cannot show (a data directory gone, address
// drift, a changed member list, a CSR that keeps a node NotReady, an OOM-killed pod), and the thresholds at their edges.
import { describe, expect, it } from "vitest";
import type { Evidence, NodeEvidence } from "./evidence.js";
import { DEFAULT_THRESHOLDS, diagnose } from "./findings.js";

const NOW = Date.parse("2026-11-30T12:00:00Z");

function node(name: string, over: Partial<NodeEvidence> = {}): NodeEvidence {
  const etcdMember = over.etcdMember ?? name.startsWith("m");
  return {
    name,
    address: over.address ?? `10.0.0.${name.slice(1)}`,
    controlPlane: etcdMember,
    etcdMember,
    etcdMode: etcdMember ? "systemd" : "none",
    kubeletUnit: "kubelet.service",
    runtimeUnits: ["containerd.service"],
    knownAddresses: [over.address ?? `10.0.0.${name.slice(1)}`],
    agent: { reachable: true },
    units: [
      {
        name: "kubelet.service",
        exists: true,
        activeState: "active",
        subState: "running",
        result: "success",
        restarts: 0,
        stateChangeUnixMs: 0,
      },
      {
        name: "containerd.service",
        exists: true,
        activeState: "active",
        subState: "running",
        result: "success",
        restarts: 0,
        stateChangeUnixMs: 0,
      },
      ...(etcdMember
        ? [
            {
              name: "etcd.service",
              exists: true,
              activeState: "active",
              subState: "running",
              result: "success",
              restarts: 0,
              stateChangeUnixMs: 0,
            },
          ]
        : []),
    ],
    journals: {},
    ...(etcdMember
      ? {
          etcd: {
            isMember: true,
            healthy: true,
            healthError: "",
            memberId: `${name.slice(1)}00`,
            leaderId: "100",
            revision: 5,
            raftIndex: 9,
            dbSizeBytes: 2 ** 20,
            dbSizeInUseBytes: 2 ** 20,
            errors: [],
            statusError: "",
          },
        }
      : {}),
    addresses: [over.address ?? `10.0.0.${name.slice(1)}`],
    clock: { offsetMs: 0, uncertaintyMs: 1, synchronized: true },
    errors: {},
    ...over,
  };
}

function evidence(nodes: NodeEvidence[], over: Partial<Evidence> = {}): Evidence {
  const members = nodes
    .filter((n) => n.etcdMember)
    .map((n) => ({
      id: `${n.name.slice(1)}00`,
      name: `etcd-${n.name}`,
      peerUrls: [`https://${n.address}:2380`],
      clientUrls: [`https://${n.address}:2379`],
      learner: false,
      node: n.name,
    }));
  return {
    cluster: "prod",
    collectedUnixMs: NOW,
    scope: nodes.map((n) => n.name),
    inventory: { source: "api", collectedAt: new Date(NOW).toISOString() },
    api: { reachable: true, server: "https://10.0.0.1:6443" },
    members,
    membersSource: "member list of m1",
    snapshots: ["/backups/prod-etcd-2026-11-29.db"],
    apiNodes: nodes.map((n) => ({
      name: n.name,
      ready: "True",
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "", since: "" }],
      internalIp: n.address,
      lastHeartbeat: "",
    })),
    pods: [],
    csrs: [],
    nodes,
    ...over,
  };
}

const healthy = () => [node("m1"), node("m2"), node("m3"), node("w4")];
const codes = (ev: Evidence) => diagnose(ev).map((f) => `${f.code} ${f.node ?? "-"}`);

describe("diagnose", () => {
  it("finds nothing in a healthy cluster", () => {
    expect(diagnose(evidence(healthy()))).toEqual([]);
  });

  it("a member whose data directory is empty is damaged data even without a telling journal line; without quorum the fix is the snapshot", () => {
    const nodes = healthy();
    const gone = (n: NodeEvidence): NodeEvidence => ({
      ...n,
      units: n.units?.map((u) =>
        u.name === "etcd.service" ? { ...u, activeState: "failed", subState: "failed", result: "exit-code" } : u,
      ),
      etcd: { ...n.etcd!, healthy: false, healthError: "connection refused" },
      disks: [
        {
          purpose: "etcd-data",
          path: "/var/lib/etcd",
          exists: true,
          measured: "/var/lib/etcd",
          sizeBytes: 100 * 2 ** 30,
          availableBytes: 50 * 2 ** 30,
          inodes: 1e6,
          inodesFree: 9e5,
          etcdWalFiles: 0,
          etcdDbBytes: 0,
          error: "",
        },
      ],
    });
    const one = diagnose(evidence([gone(nodes[0]!), nodes[1]!, nodes[2]!, nodes[3]!]));
    expect(one.map((f) => f.code)).toEqual(["etcd-data-damaged"]);
    expect(one[0]?.evidence).toContain("/var/lib/etcd: 0 WAL files, db 0 bytes");
    expect(one[0]?.fix[1]).toBe("kubecycle etcd rejoin m1");

    const two = diagnose(evidence([gone(nodes[0]!), gone(nodes[1]!), nodes[2]!, nodes[3]!]));
    const damaged = two.filter((f) => f.code === "etcd-data-damaged");
    expect(damaged).toHaveLength(2);
    expect(damaged[0]?.fix[0]).toMatch(/^no quorum without it: restore every member from the newest snapshot/);
    expect(damaged[0]?.fix[1]).toBe("kubecycle etcd restore /backups/prod-etcd-2026-11-29.db");
  });

  it("address drift: the recorded address is not among the node's own", () => {
    const nodes = healthy();
    nodes[3] = { ...nodes[3]!, addresses: ["10.0.0.99"] };
    const [f] = diagnose(evidence(nodes));
    expect(f).toMatchObject({ code: "address-drift", node: "w4", layer: "node" });
    expect(f?.evidence[0]).toBe("recorded 10.0.0.4; the node has 10.0.0.99");
  });

  it("a member list that differs from the recorded one: missing, extra and re-addressed members", () => {
    const ev = evidence(healthy());
    const recorded = ev.members.map((m) => (m.name === "etcd-m2" ? { ...m, peerUrls: ["https://10.0.0.22:2380"] } : m));
    const f = diagnose({
      ...ev,
      members: [...ev.members.filter((m) => m.name !== "etcd-m3"), { ...ev.members[0]!, id: "999", name: "etcd-x" }],
      recordedMembers: { members: recorded, source: "the cluster stop op-1" },
    });
    expect(f.map((x) => x.code)).toEqual(["etcd-members-changed"]);
    expect(f[0]?.evidence).toEqual([
      "missing: etcd-m3 (recorded in the cluster stop op-1)",
      "not recorded: etcd-x",
      "etcd-m2: peer URLs https://10.0.0.22:2380 recorded, https://10.0.0.2:2380 now",
    ]);
  });

  it("a NotReady node whose kubelet runs but waits on its CSR: the CSR is the cause", () => {
    const ev = evidence(healthy(), {
      csrs: [
        {
          name: "csr-1",
          kind: "client",
          node: "w4",
          requester: "system:node:w4",
          sans: [],
          approve: true,
          reasons: [],
          createdAt: "",
        },
      ],
    });
    ev.apiNodes = ev.apiNodes!.map((a) => (a.name === "w4" ? { ...a, ready: "False" } : a));
    const f = diagnose(ev);
    expect(f.map((x) => `${x.code} ${x.node}`)).toEqual(["node-not-ready w4", "kubelet-csr-pending w4"]);
    expect(f[0]?.cause).toMatch(/its CSR is pending/);
  });

  it("pods: OOM-killed is named as memory, a plain failure as the application's; restarts below the threshold are not a loop", () => {
    const pod = (name: string, restarts: number, reason: string, message = "") => ({
      namespace: "shop",
      name,
      node: "w4",
      phase: "Running",
      ready: false,
      restarts,
      waiting: restarts >= 3 ? "CrashLoopBackOff" : "",
      lastTermination: { container: "main", reason, exitCode: 137, message, finishedAt: "" },
    });
    const f = diagnose(
      evidence(healthy(), {
        pods: [pod("a", 2, "Error"), pod("b", 5, "OOMKilled"), pod("c", 9, "Error", "panic: nil map")],
      }),
    );
    expect(f.map((x) => x.what.split(" ")[1])).toEqual(["shop/c", "shop/b"]);
    expect(f[0]?.cause).toMatch(/the application fails at start/);
    expect(f[1]?.cause).toMatch(/out of memory/);
  });

  it("thresholds at their edges: a certificate 30 days out, a clock within its uncertainty, 10% free", () => {
    const nodes = healthy();
    nodes[3] = {
      ...nodes[3]!,
      certificates: [
        {
          purpose: "kubelet-client",
          path: "/a",
          subject: "CN=a",
          notAfterUnixMs: NOW + DEFAULT_THRESHOLDS.certWarnMs + 1,
          error: "",
        },
        {
          purpose: "kubelet-client",
          path: "/b",
          subject: "CN=b",
          notAfterUnixMs: NOW + DEFAULT_THRESHOLDS.certWarnMs,
          error: "",
        },
      ],
      clock: { offsetMs: 600, uncertaintyMs: 100 },
      disks: [
        {
          purpose: "kubelet",
          path: "/var/lib/kubelet",
          exists: true,
          measured: "/",
          sizeBytes: 1000,
          availableBytes: 100,
          inodes: 100,
          inodesFree: 10,
          etcdWalFiles: 0,
          etcdDbBytes: 0,
          error: "",
        },
      ],
    };
    const f = diagnose(evidence(nodes));
    expect(f.map((x) => `${x.code} ${x.severity}`)).toEqual(["certificate-expiring warning"]);
    expect(f[0]?.evidence[0]).toMatch(/^\/b:/);
    // Expiring, the kubelet renews it through a CSR once restarted; expired, it cannot ask: a new kubeconfig it is.
    expect(f[0]?.fix.join("\n")).toMatch(/then approve its CSR/);
    const expired = diagnose(
      evidence([
        ...nodes.slice(0, 3),
        {
          ...nodes[3],
          clock: { offsetMs: 0, uncertaintyMs: 100 },
          disks: [],
          certificates: [
            { purpose: "kubelet-client", path: "/c", subject: "CN=c", notAfterUnixMs: NOW - 1, error: "" },
          ],
        },
        ...nodes.slice(4),
      ]),
    );
    expect(expired.map((x) => x.code)).toEqual(["certificate-expired"]);
    expect(expired[0]?.fix[0]).toMatch(/kubeadm kubeconfig user --org system:nodes --client-name system:node:w4/);
    expect(expired[0]?.fix.join("\n")).not.toMatch(/approve/);
    nodes[3] = { ...nodes[3], clock: { offsetMs: 602, uncertaintyMs: 100 }, certificates: [] };
    expect(codes(evidence(nodes))).toEqual(["clock-offset w4"]);
    expect(diagnose(evidence(nodes))[0]?.cause).toMatch(/time synchronization/);
  });

  it("an etcd member's node that does not answer is named in the etcd layer, with the peers' timeouts towards it", () => {
    const nodes = healthy();
    nodes[2] = {
      ...nodes[2]!,
      agent: { reachable: false, error: "GetNodeLayout on m3: DEADLINE_EXCEEDED" },
      units: undefined,
      etcd: undefined,
    };
    nodes[0] = {
      ...nodes[0]!,
      network: [
        {
          purpose: "etcd-peer",
          target: "10.0.0.3:2380",
          name: "etcd member etcd-m3",
          reachable: false,
          latencyMs: 2000,
          error: "timed out after 2000 ms",
        },
      ],
    };
    const f = diagnose(evidence(nodes));
    expect(f.map((x) => `${x.layer} ${x.code} ${x.node}`)).toEqual([
      "etcd node-cut-off m3",
      "etcd etcd-peer-dropped m1",
    ]);
    expect(f[0]?.evidence).toContain("from m1: etcd member etcd-m3 10.0.0.3:2380: timed out after 2000 ms");
  });
});
