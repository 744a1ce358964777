// `kubecycle doctor` on the lab: each of the cases injected in the lab's real systemd, etcd and network (a
// stopped runtime under etcd, a member's lost data, a node cut off by a downed link and by an nftables rule, an
// expired certificate, a full etcd quota, a crash-looping pod that waits on another), and doctor must name it with
// the right code, node and cause, and exit non-zero. After each case the injection is undone (by doctor's own fix
// where it names a kubecycle command), the lab is checked healthy through its own channels (systemd, etcdctl, the
// API), and doctor finds nothing again.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../lab/host.js";
import { labUp, type Lab, type LabNode } from "../lab/lab.js";
import { AGENT_PORT, ETCD_CLIENT_PORT, ETCD_PEER_PORT } from "../lab/layout.js";
import { ClusterProbe } from "./cluster.js";
import { downLab, journalOf, kubecycle as cli, opOf, waitFor } from "./helpers.js";

let lab: Lab;
let probe: ClusterProbe;
const kubecycle = (args: string[]) => cli(lab, args);

/** A finding as `kubecycle doctor -o json` prints it. */
interface Finding {
  code: string;
  layer: string;
  severity: string;
  node?: string;
  what: string;
  evidence: string[];
  cause: string;
  fix: string[];
}

interface DoctorRun {
  code: number;
  findings: Finding[];
  stderr: string;
}

async function doctor(): Promise<DoctorRun> {
  const r = await kubecycle(["doctor", "-o", "json"]);
  let findings: Finding[];
  try {
    findings = (JSON.parse(r.stdout) as { findings: Finding[] }).findings;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, findings, stderr: r.stderr };
}

const summary = (d: DoctorRun) => d.findings.map((f) => `${f.code} ${f.node ?? "-"}: ${f.what}`).join("\n");

/** Runs doctor until it names `code` on `node` (what it sees may take a moment to settle), and returns that run. */
async function doctorNames(code: string, node: string, timeoutMs = 60_000): Promise<{ run: DoctorRun; f: Finding }> {
  let last: DoctorRun | undefined;
  try {
    const got = await waitFor(
      `doctor to name ${code} on ${node}`,
      async () => {
        last = await doctor();
        const f = last.findings.find((x) => x.code === code && x.node === node);
        return f ? { run: last, f } : undefined;
      },
      timeoutMs,
      1000,
    );
    return got;
  } catch (err) {
    throw new Error(`${(err as Error).message}; last run (exit ${last?.code}):\n${last ? summary(last) : "none"}`);
  }
}

/**
 * The lab healthy through its own channels (every agent serving, every etcd member healthy, every node Ready and
 * untainted), then doctor finding nothing and exiting 0.
 */
async function healthy(timeoutMs = 120_000): Promise<void> {
  await lab.waitAgents();
  await lab.waitEtcdHealthy(timeoutMs);
  await probe.settled(timeoutMs);
  let last: DoctorRun | undefined;
  try {
    await waitFor(
      "doctor to find nothing",
      async () => {
        last = await doctor();
        return last.code === 0 && last.findings.length === 0 ? true : undefined;
      },
      timeoutMs,
      1000,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last run (exit ${last?.code}):\n${last ? summary(last) : "none"}`);
  }
}

const master = (i: number): LabNode => lab.masters[i] ?? fail(`no master ${i}`);
const worker = (i: number): LabNode => lab.workers[i] ?? fail(`no worker ${i}`);
/** openssl on the host, its chatter kept (it is in the error when it fails). */
const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });

function fail(why: string): never {
  throw new Error(why);
}

async function mustExec(node: LabNode, argv: string[], input?: string): Promise<string> {
  const r = await node.exec(argv, input !== undefined ? { input } : {});
  if (r.code !== 0) throw new Error(`${node.name}: ${argv.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function activeState(node: LabNode, unit: string): Promise<string> {
  return (await node.systemctl("show", "-p", "ActiveState", "--value", unit)).stdout.trim();
}

/** Runs a fix line doctor printed (a kubecycle command), without asking; returns its result. */
async function runFix(line: string) {
  const argv = line.split(" ");
  expect(argv[0], line).toBe("kubecycle");
  return kubecycle([...argv.slice(1), "--yes"]);
}

beforeAll(async () => {
  lab = await labUp({ masters: 3, workers: 2, build: "skip" });
  probe = await ClusterProbe.open(lab);
  await probe.settled();
}, 240_000);

afterAll(async () => {
  await downLab(lab, import.meta.url);
}, 120_000);

describe("kubecycle doctor on the lab", () => {
  it("finds nothing on the healthy lab, and exits 0", async () => {
    await healthy();
  }, 180_000);

  it("a stopped runtime under etcd: names it on its node, and its fix (kubecycle node start) clears it", async () => {
    const m = master(1);
    expect((await m.systemctl("stop", "etcd.service")).code).toBe(0);
    expect((await m.systemctl("stop", "containerd.service")).code).toBe(0);

    const { run: d, f } = await doctorNames("runtime-stopped-under-etcd", m.kubeName);
    expect(d.code).not.toBe(0);
    expect(f.layer).toBe("etcd");
    expect(f.cause).toMatch(/container runtime \(containerd\.service\) is stopped/);
    expect(f.evidence.join("\n")).toMatch(/containerd\.service: inactive/);
    expect(f.fix).toEqual([`kubecycle node start ${m.kubeName}`]);
    // Fixed first: nothing else outranks it.
    expect(d.findings[0]?.code).toBe("runtime-stopped-under-etcd");

    const fixed = await runFix(f.fix[0] ?? "");
    expect(fixed.code, fixed.stderr).toBe(0);
    expect((await journalOf(lab, opOf(fixed))).result).toBe("succeeded");
    expect(await activeState(m, "containerd.service")).toBe("active");
    expect(await activeState(m, "etcd.service")).toBe("active");
    await healthy();
  }, 300_000);

  it("an etcd member whose data is gone: etcd-data-damaged from its journal, and kubecycle etcd rejoin clears it", async () => {
    const m = master(2);
    expect((await m.systemctl("stop", "etcd.service")).code).toBe(0);
    await mustExec(m, ["rm", "-rf", "/var/lib/etcd/member"]);
    // Started as after a reboot: etcd comes up without its data, refuses to join as new, and says why in the journal.
    await mustExec(m, ["systemctl", "start", "--no-block", "etcd.service"]);
    await waitFor(
      "etcd to fail on the lost data",
      async () => {
        const j = await m.exec(["journalctl", "-u", "etcd.service", "-n", "50", "--no-pager"]);
        return /has already been bootstrapped/.test(j.stdout) ? true : undefined;
      },
      60_000,
      500,
    );

    const { run: d, f } = await doctorNames("etcd-data-damaged", m.kubeName);
    expect(d.code).not.toBe(0);
    expect(f.cause).toMatch(/corrupted or lost etcd data/);
    expect(f.evidence.join("\n")).toMatch(/has already been bootstrapped/);
    expect(f.fix.at(-1)).toBe(`kubecycle etcd rejoin ${m.kubeName}`);

    const fixed = await runFix(f.fix.at(-1) ?? "");
    expect(fixed.code, fixed.stderr).toBe(0);
    expect((await journalOf(lab, opOf(fixed))).result).toBe("succeeded");
    expect(await activeState(m, "etcd.service")).toBe("active");
    expect((await lab.etcdHealth()).endpoints.filter((e) => e.health)).toHaveLength(3);
    await healthy();
  }, 300_000);

  it("a node cut off by a downed link: node-cut-off, its packets dropped", async () => {
    const w = worker(0);
    await run("ip", ["link", "set", w.hostVeth, "down"]);
    try {
      const { run: d, f } = await doctorNames("node-cut-off", w.kubeName);
      expect(d.code).not.toBe(0);
      expect(f.layer).toBe("node");
      expect(f.cause).toMatch(/packets are dropped: a firewall rule \(nftables\/iptables\), a link down/);
      expect(f.evidence[0]).toMatch(new RegExp(`^agent ${w.ip}: .*Deadline exceeded`));
    } finally {
      await run("ip", ["link", "set", w.hostVeth, "up"]);
    }
    await healthy();
  }, 240_000);

  it("an etcd member cut off by an nftables rule in its namespace: node-cut-off, and its peers see it dropped", async () => {
    const m = master(2);
    const ports = `{ ${AGENT_PORT}, ${ETCD_CLIENT_PORT}, ${ETCD_PEER_PORT} }`;
    await mustExec(m, ["nft", "add", "table", "inet", "kubecycle_e2e"]);
    try {
      await mustExec(m, [
        "nft",
        "add chain inet kubecycle_e2e input { type filter hook input priority 0 ; policy accept ; }",
      ]);
      await mustExec(m, ["nft", `add rule inet kubecycle_e2e input iifname != "lo" tcp dport ${ports} drop`]);
      // The rule is there, as an operator would list it.
      expect(await mustExec(m, ["nft", "list", "ruleset"])).toContain("drop");

      const { run: d, f } = await doctorNames("node-cut-off", m.kubeName);
      expect(d.code).not.toBe(0);
      expect(f.layer).toBe("etcd");
      expect(f.what).toContain("its etcd member");
      expect(f.cause).toMatch(/packets are dropped: a firewall rule/);
      // The other members' probes towards it timed out: dropped, not refused.
      expect(f.evidence.join("\n")).toMatch(
        new RegExp(`from ${master(0).kubeName}: .*${m.ip}:${ETCD_PEER_PORT}: .*time`),
      );
    } finally {
      await mustExec(m, ["nft", "delete", "table", "inet", "kubecycle_e2e"]);
    }
    await healthy();
  }, 240_000);

  it("an expired certificate: the kubelet's client certificate, named on its node", async () => {
    const w = worker(1);
    // A client certificate from the lab's kube CA that expired a month ago, as after a long outage. (OpenSSL 3.0's
    // `x509 -days` cannot go back in time; `openssl ca` takes explicit dates.)
    const dir = await mkdtemp(join(tmpdir(), "kubecycle-e2e-cert-"));
    const expiredPem = await (async () => {
      try {
        const ca = join(lab.paths.kubePki, "ca.crt");
        const caKey = join(lab.paths.kubePki, "ca.key");
        await writeFile(join(dir, "index.txt"), "");
        await writeFile(
          join(dir, "ca.cnf"),
          [
            "[ca]",
            "default_ca = lab",
            "[lab]",
            `database = ${join(dir, "index.txt")}`,
            `new_certs_dir = ${dir}`,
            "rand_serial = yes",
            "default_md = sha256",
            "policy = any",
            "unique_subject = no",
            "[any]",
            "commonName = supplied",
            "organizationName = optional",
            "",
          ].join("\n"),
        );
        openssl([
          "req",
          "-new",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          join(dir, "key.pem"),
          "-out",
          join(dir, "req.pem"),
          "-subj",
          `/O=system:nodes/CN=system:node:${w.kubeName}`,
        ]);
        const end = new Date(Date.now() - 30 * 86_400_000);
        const start = new Date(end.getTime() - 365 * 86_400_000);
        const asn1 = (d: Date) => `${d.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
        openssl([
          "ca",
          "-batch",
          "-notext",
          "-config",
          join(dir, "ca.cnf"),
          "-cert",
          ca,
          "-keyfile",
          caKey,
          "-in",
          join(dir, "req.pem"),
          "-out",
          join(dir, "cert.pem"),
          "-startdate",
          asn1(start),
          "-enddate",
          asn1(end),
        ]);
        return await readFile(join(dir, "cert.pem"), "utf8");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })();
    const conf = "/etc/kubernetes/kubelet.conf";
    const before = await mustExec(w, ["cat", conf]);
    const path = /client-certificate: (\S+)/.exec(before)?.[1] ?? fail(`no client-certificate in ${conf}`);
    const expiredPath = "/etc/kubernetes/pki/kubelet-client-expired.crt";
    await mustExec(w, ["sh", "-c", `cat > ${expiredPath}`], expiredPem);
    // The kubeconfig now names the expired certificate (the running kubelet read its own at start).
    await mustExec(w, ["sh", "-c", `cat > ${conf}`], before.replace(path, expiredPath));
    try {
      const { run: d, f } = await doctorNames("certificate-expired", w.kubeName);
      expect(d.code).not.toBe(0);
      expect(f.layer).toBe("kubelet");
      expect(f.what).toMatch(/kubelet-client certificate on .* expired/);
      expect(f.evidence[0]).toContain(expiredPath);
      expect(f.cause).toMatch(/not renewed in time/);
    } finally {
      await mustExec(w, ["sh", "-c", `cat > ${conf}`], before);
      await mustExec(w, ["rm", "-f", expiredPath]);
    }
    await healthy();
  }, 240_000);

  it("a full etcd quota: the NOSPACE alarm named as etcd-quota-full; cleared by restoring the quota and disarming", async () => {
    const m = master(2);
    const env = "/etc/etcd.env";
    const before = await mustExec(m, ["cat", env]);
    const status = await lab.etcdctl(["endpoint", "status", "-w", "json"], { node: m.name });
    const dbSize = (JSON.parse(status.stdout) as Array<{ Status: { dbSize: number } }>)[0]?.Status.dbSize ?? 0;
    expect(dbSize).toBeGreaterThan(0);
    // A quota below what the member already holds: the next write it applies raises NOSPACE for the whole cluster.
    const quota = Math.floor(dbSize / 2);
    await mustExec(m, ["sh", "-c", `cat > ${env}`], `${before}ETCD_QUOTA_BACKEND_BYTES=${quota}\n`);
    try {
      expect((await m.systemctl("restart", "etcd.service")).code).toBe(0);
      await waitFor(
        "the NOSPACE alarm",
        async () =>
          (await lab.etcdctl(["alarm", "list"], { node: master(0).name })).stdout.includes("NOSPACE")
            ? true
            : undefined,
        60_000,
        500,
      );

      const { run: d, f } = await doctorNames("etcd-quota-full", m.kubeName);
      expect(d.code).not.toBe(0);
      expect(f.layer).toBe("etcd");
      expect(f.evidence.join("\n")).toMatch(/alarm:NOSPACE/);
      expect(f.evidence.join("\n")).toMatch(/ GiB quota/);
      expect(f.fix).toContain("etcdctl alarm disarm");
    } finally {
      await mustExec(m, ["sh", "-c", `cat > ${env}`], before);
      expect((await m.systemctl("restart", "etcd.service")).code).toBe(0);
      const disarm = await lab.etcdctl(["alarm", "disarm"], { node: m.name });
      expect(disarm.code, disarm.stderr).toBe(0);
    }
    expect((await lab.etcdctl(["alarm", "list"], { node: master(0).name })).stdout.trim()).toBe("");
    await healthy();
  }, 300_000);

  it("a pod that crash-loops waiting on another: pod-crash-looping, its last words as the cause", async () => {
    const w = worker(0);
    const ns = "default";
    // An application that needs its database on 127.0.0.1:5432 of its node, and exits when it is not there.
    const app = "doctor-e2e-app";
    const db = "doctor-e2e-db";
    const client = `require("net").connect(5432, "127.0.0.1")
      .on("connect", () => { console.log("connected to the database"); setInterval(() => {}, 1 << 30); })
      .on("error", (e) => { console.error("waiting for the database: " + e.message); process.exit(1); });`;
    await probe.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: app, labels: { app } },
        spec: {
          nodeName: w.kubeName,
          containers: [
            {
              name: "app",
              image: "lab/app",
              command: ["/usr/bin/node", "-e", client],
              terminationMessagePolicy: "FallbackToLogsOnError",
            },
          ],
        },
      },
    });
    try {
      const { run: d, f } = await doctorNames("pod-crash-looping", w.kubeName, 90_000);
      expect(d.code).not.toBe(0);
      expect(f.what).toContain(`${ns}/${app}`);
      expect(f.layer).toBe("pods");
      expect(f.evidence.join("\n")).toMatch(/waiting for the database: connect ECONNREFUSED 127\.0\.0\.1:5432/);
      expect(f.cause).toMatch(/waits on another service that is not up yet/);
      expect(f.fix[0]).toBe(`kubectl logs -n ${ns} ${app} --previous`);

      // What it waits on comes up: it settles (running and Ready, through the API), as the cause says.
      await probe.core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: db, labels: { app: db } },
          spec: {
            nodeName: w.kubeName,
            containers: [
              {
                name: "db",
                image: "lab/db",
                command: ["/usr/bin/node", "-e", `require("net").createServer(() => {}).listen(5432, "127.0.0.1")`],
              },
            ],
          },
        },
      });
      await waitFor(
        `${app} to run Ready once its database runs`,
        async () => {
          const p = await probe.core.readNamespacedPod({ namespace: ns, name: app });
          return p.status?.containerStatuses?.[0]?.ready === true && p.status.containerStatuses[0].state?.running
            ? true
            : undefined;
        },
        90_000,
        1000,
      );
    } finally {
      for (const name of [app, db])
        await probe.core.deleteNamespacedPod({ namespace: ns, name }).catch(() => undefined);
    }
    await waitFor(
      "the test's pods to be gone",
      async () => {
        const pods = (await probe.core.listNamespacedPod({ namespace: ns })).items;
        return pods.some((p) => p.metadata?.name === app || p.metadata?.name === db) ? undefined : true;
      },
      60_000,
      1000,
    );
    await healthy();
  }, 300_000);
});
