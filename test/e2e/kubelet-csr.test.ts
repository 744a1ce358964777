// Kubelet certificates after a long outage, on the lab (one master, one worker): during a cluster stop the worker's
// serving certificate expires and the master's client certificate passes its rotation deadline; two forged CSRs wait
// in etcd from before the stop (a client certificate for a node not in the inventory, a serving certificate for the
// worker with a foreign address). After the start the kubelet stand-ins ask for new certificates with their own
// identity; `kubecycle doctor` names the two pending CSRs and the two it would refuse, with why;
// `cluster start --approve-kubelet-csrs` approves only the two that match a recorded node. Checked through the API
// (each CSR's conditions and certificate, each node's Ready), the nodes' own disks (the kubelets' certificate stores)
// and the agents (doctor no longer sees the master's client certificate expiring).
import { CertificatesV1Api, KubeConfig, type V1CertificateSigningRequest } from "@kubernetes/client-node";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueDated, type CaFiles } from "../lab/certs.js";
import { labUp, type Lab, type LabNode } from "../lab/lab.js";
import { ClusterProbe } from "./cluster.js";
import { downLab, journalOf, kubecycle as cli, opOf, waitFor } from "./helpers.js";

const DAY = 86_400_000;
const CLIENT = "kubernetes.io/kube-apiserver-client-kubelet";
const SERVING = "kubernetes.io/kubelet-serving";
/** The kubelet's certificate store in a lab node (its --cert-dir). */
const STORE = "/etc/kubernetes/pki";

let lab: Lab;
let probe: ClusterProbe;
let certs: CertificatesV1Api;
let ca: CaFiles;
let caCert: X509Certificate;
let tmp: string;
const kubecycle = (args: string[]) => cli(lab, args);
const master = (): LabNode => lab.masters[0] ?? fail("no master");
const worker = (): LabNode => lab.workers[0] ?? fail("no worker");

function fail(why: string): never {
  throw new Error(why);
}

interface Finding {
  code: string;
  node?: string;
  what: string;
  evidence: string[];
  cause: string;
  fix: string[];
}

async function doctor(): Promise<{ code: number; findings: Finding[] }> {
  const r = await kubecycle(["doctor", "-o", "json"]);
  try {
    return { code: r.code, findings: (JSON.parse(r.stdout) as { findings: Finding[] }).findings };
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

async function mustExec(node: LabNode, argv: string[], input?: string): Promise<string> {
  const r = await node.exec(argv, input !== undefined ? { input } : {});
  if (r.code !== 0) throw new Error(`${node.name}: ${argv.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The API as someone holding a client certificate of the lab's CA for `cn` (a forger, here). */
async function apiAs(cn: string): Promise<CertificatesV1Api> {
  const pem = join(tmp, `${cn.replaceAll(":", "_")}.pem`);
  await writeFile(
    pem,
    await issueDated(ca, {
      commonName: cn,
      organization: "system:nodes",
      usage: "client",
      notBefore: new Date(Date.now() - 3_600_000),
      notAfter: new Date(Date.now() + DAY),
    }),
    { mode: 0o600 },
  );
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "lab", server: `https://${master().ip}:6443`, caFile: ca.cert }],
    users: [{ name: "forger", certFile: pem, keyFile: pem }],
    contexts: [{ name: "forger", cluster: "lab", user: "forger" }],
    currentContext: "forger",
  });
  return kc.makeApiClient(CertificatesV1Api);
}

/** A PKCS#10 request (base64 of its PEM) for `subject` with `san` (openssl's syntax), with a new key. */
function request(subject: string, san?: string): string {
  // prettier-ignore
  const pem = execFileSync("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(tmp, "forged.key"), "-subj", subject, ...(san ? ["-addext", `subjectAltName=${san}`] : [])], { stdio: ["ignore", "pipe", "pipe"] });
  return pem.toString("base64");
}

/** A certificate in a node's kubelet store, and the file the -current.pem symlink names. */
async function stored(node: LabNode, kind: "client" | "server"): Promise<{ x509: X509Certificate; target: string }> {
  const path = `${STORE}/kubelet-${kind}-current.pem`;
  const target = (await node.exec(["readlink", path])).stdout.trim();
  return { x509: new X509Certificate(await mustExec(node, ["cat", path])), target };
}

const csrs = async (): Promise<V1CertificateSigningRequest[]> => (await certs.listCertificateSigningRequest()).items;
const nameOf = (c: V1CertificateSigningRequest | undefined): string => c?.metadata?.name ?? fail("a CSR without name");

beforeAll(async () => {
  lab = await labUp({ masters: 1, workers: 1, build: "skip", approveKubeletCsrsRbac: true });
  probe = await ClusterProbe.open(lab);
  await probe.settled();
  const kc = new KubeConfig();
  kc.loadFromFile(lab.kubeconfigPath);
  certs = kc.makeApiClient(CertificatesV1Api);
  ca = { cert: join(lab.paths.kubePki, "ca.crt"), key: join(lab.paths.kubePki, "ca.key") };
  caCert = new X509Certificate(await readFile(ca.cert));
  tmp = await mkdtemp(join(tmpdir(), "kubecycle-e2e-csr-"));
}, 240_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
  await downLab(lab, import.meta.url);
}, 120_000);

describe("kubelet certificates after a long outage", () => {
  const forged = { ghost: "forged-ghost-client", foreign: "forged-foreign-serving" };

  it("a clean lab: no kubelet CSR, each kubelet with its own client certificate", async () => {
    expect(await csrs()).toEqual([]);
    for (const n of [master(), worker()]) {
      const { x509 } = await stored(n, "client");
      expect(x509.subject).toContain(`CN=system:node:${n.kubeName}`);
      expect(x509.verify(caCert.publicKey)).toBe(true);
    }
  });

  it("an outage: forged CSRs wait in etcd, a serving certificate expires and a client certificate falls due", async () => {
    const w = worker();
    // Forged before the stop: a node the inventory does not know, and the worker's name with an address not its own.
    await (
      await apiAs("system:node:ghost")
    ).createCertificateSigningRequest({
      body: {
        apiVersion: "certificates.k8s.io/v1",
        kind: "CertificateSigningRequest",
        metadata: { name: forged.ghost },
        spec: {
          request: request("/O=system:nodes/CN=system:node:ghost"),
          signerName: CLIENT,
          usages: ["digital signature", "client auth"],
        },
      },
    });
    await (
      await apiAs(`system:node:${w.kubeName}`)
    ).createCertificateSigningRequest({
      body: {
        apiVersion: "certificates.k8s.io/v1",
        kind: "CertificateSigningRequest",
        metadata: { name: forged.foreign },
        spec: {
          request: request(`/O=system:nodes/CN=system:node:${w.kubeName}`, `DNS:${w.kubeName},IP:10.99.0.9`),
          signerName: SERVING,
          usages: ["digital signature", "server auth"],
        },
      },
    });

    const stop = await kubecycle(["cluster", "stop", "--yes"]);
    expect(stop.code, stop.stderr).toBe(0);

    // What a long outage leaves on the disks: the worker's serving certificate expired a week ago; the master's
    // client certificate, issued 330 days ago for 340, is past its rotation deadline and still valid.
    const expiredServing = await issueDated(ca, {
      commonName: `system:node:${w.kubeName}`,
      organization: "system:nodes",
      usage: "server",
      dnsNames: [w.kubeName],
      ips: [w.ip],
      notBefore: new Date(Date.now() - 372 * DAY),
      notAfter: new Date(Date.now() - 7 * DAY),
    });
    await mustExec(w, ["sh", "-c", `cat > ${STORE}/kubelet-server-current.pem`], expiredServing);
    const m = master();
    const dueClient = await issueDated(ca, {
      commonName: `system:node:${m.kubeName}`,
      organization: "system:nodes",
      usage: "client",
      notBefore: new Date(Date.now() - 330 * DAY),
      notAfter: new Date(Date.now() + 10 * DAY),
    });
    await mustExec(m, ["sh", "-c", `cat > ${STORE}/kubelet-client-current.pem`], dueClient);
    expect(Date.parse((await stored(w, "server")).x509.validTo)).toBeLessThan(Date.now());
  }, 300_000);

  let pendingServing = "";
  let pendingClient = "";

  it("after the start, the kubelets ask as themselves, and doctor names what is pending and what it would refuse", async () => {
    const start = await kubecycle(["cluster", "start", "--yes"]);
    expect(start.code, start.stderr).toBe(0);
    const w = worker();
    const m = master();
    // The API's own record: each kubelet's CSR, requested by the node itself.
    const mine = await waitFor(
      "the kubelets' CSRs",
      async () => {
        const all = (await csrs()).filter((c) => !Object.values(forged).includes(nameOf(c)));
        const s = all.find((c) => c.spec.signerName === SERVING);
        const c = all.find((x) => x.spec.signerName === CLIENT);
        return s && c ? { s, c } : undefined;
      },
      60_000,
      1000,
    );
    pendingServing = nameOf(mine.s);
    pendingClient = nameOf(mine.c);
    expect([mine.s.spec.username, mine.s.spec.usages]).toEqual([
      `system:node:${w.kubeName}`,
      ["digital signature", "server auth"],
    ]);
    expect([mine.c.spec.username, mine.c.spec.usages]).toEqual([
      `system:node:${m.kubeName}`,
      ["digital signature", "client auth"],
    ]);
    for (const c of [mine.s, mine.c]) expect(c.status?.certificate).toBeUndefined();

    const d = await waitFor(
      "doctor to name the four CSRs",
      async () => {
        const r = await doctor();
        const csr = r.findings.filter((f) => f.code.startsWith("kubelet-csr-"));
        return csr.length === 4 ? r : undefined;
      },
      60_000,
      1000,
    );
    expect(d.code).not.toBe(0);
    // The agent reads the master's client certificate as the kubelet's kubeconfig names it: ten days left.
    expect(d.findings.find((f) => f.code === "certificate-expiring" && f.node === m.kubeName)?.what).toMatch(
      /^kubelet-client certificate on /,
    );
    const named = (name: string): Finding =>
      d.findings.find((f) => f.what.includes(`kubelet CSR ${name} `)) ?? fail(`doctor did not name ${name}`);
    expect(named(pendingServing)).toMatchObject({ code: "kubelet-csr-pending", node: w.kubeName });
    expect(named(pendingServing).evidence[0]).toContain(`names DNS:${w.kubeName}, IP:${w.ip}`);
    expect(named(pendingServing).fix[0]).toBe("kubecycle cluster start --approve-kubelet-csrs");
    expect(named(pendingClient)).toMatchObject({ code: "kubelet-csr-pending", node: m.kubeName });
    expect(named(forged.ghost)).toMatchObject({ code: "kubelet-csr-refused", node: "ghost" });
    expect(named(forged.ghost).evidence).toContain("ghost is not a node of the recorded inventory");
    expect(named(forged.foreign)).toMatchObject({ code: "kubelet-csr-refused", node: w.kubeName });
    expect(named(forged.foreign).evidence.join("\n")).toMatch(
      new RegExp(`addresses 10\\.99\\.0\\.9 are not ${w.kubeName}'s`),
    );
  }, 300_000);

  it("cluster start --approve-kubelet-csrs approves only those a recorded node asked for, and says why not the others", async () => {
    const w = worker();
    const m = master();
    const r = await kubecycle(["cluster", "start", "--yes", "--approve-kubelet-csrs"]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toContain(`approved ${pendingServing}: serving certificate for ${w.kubeName}`);
    expect(out).toContain(`approved ${pendingClient}: client certificate for ${m.kubeName}`);
    expect(out).toMatch(new RegExp(`${forged.ghost}: .*refused: ghost is not a node of the recorded inventory`));
    expect(out).toMatch(new RegExp(`${forged.foreign}: .*refused: addresses 10\\.99\\.0\\.9 are not ${w.kubeName}'s`));
    const step = Object.values((await journalOf(lab, opOf(r))).steps).find((s) => s.step.includes("kubelet-csrs"));
    expect(step?.evidence?.approved).toEqual(
      expect.arrayContaining([
        { name: pendingServing, node: w.kubeName, kind: "serving" },
        { name: pendingClient, node: m.kubeName, kind: "client" },
      ]),
    );
    expect((step?.evidence?.refused as Array<{ name: string }>).map((x) => x.name).sort()).toEqual(
      [forged.foreign, forged.ghost].sort(),
    );

    // The API: the two approved by kubecycle and signed by the controller-manager with the cluster CA for a year;
    // the forged ones untouched.
    const issued = async (name: string): Promise<X509Certificate> => {
      const c = await waitFor(
        `${name}'s certificate`,
        async () => {
          const x = await certs.readCertificateSigningRequest({ name });
          return x.status?.certificate ? x : undefined;
        },
        30_000,
      );
      expect(c.status?.conditions?.map((x) => [x.type, x.status, x.reason])).toEqual([
        ["Approved", "True", "KubecycleApprove"],
      ]);
      const x509 = new X509Certificate(Buffer.from(c.status?.certificate ?? "", "base64"));
      expect(x509.verify(caCert.publicKey)).toBe(true);
      expect(Date.parse(x509.validTo) - Date.now()).toBeGreaterThan(364 * DAY);
      return x509;
    };
    const serving = await issued(pendingServing);
    expect(serving.subjectAltName).toBe(`DNS:${w.kubeName}, IP Address:${w.ip}`);
    const client = await issued(pendingClient);
    expect(client.subject).toContain(`CN=system:node:${m.kubeName}`);
    for (const name of Object.values(forged)) {
      const c = await certs.readCertificateSigningRequest({ name });
      expect([c.status?.conditions, c.status?.certificate], name).toEqual([undefined, undefined]);
    }

    // The nodes' disks: each kubelet stored what it was given, in a new file its -current.pem now names.
    await waitFor(
      "the kubelets to store their new certificates",
      async () => {
        const s = await stored(w, "server");
        const c = await stored(m, "client");
        return s.x509.serialNumber === serving.serialNumber && c.x509.serialNumber === client.serialNumber
          ? { s, c }
          : undefined;
      },
      30_000,
      500,
    ).then(({ s, c }) => {
      expect(s.target).toMatch(/^kubelet-server-\d{4}(-\d\d){5}\.pem$/);
      expect(c.target).toMatch(/^kubelet-client-\d{4}(-\d\d){5}\.pem$/);
    });
    // Both nodes Ready, as the API has them.
    for (const n of [m, w]) expect(await probe.nodeReady(n.kubeName), n.kubeName).toBe(true);
  }, 300_000);

  it("denied by hand, the forged ones leave doctor with nothing to say; the agents see the master's new client certificate", async () => {
    for (const name of Object.values(forged)) {
      const c = await certs.readCertificateSigningRequest({ name });
      c.status = {
        conditions: [{ type: "Denied", status: "True", reason: "Test", message: "forged, denied by the test" }],
      };
      await certs.replaceCertificateSigningRequestApproval({ name, body: c });
    }
    const d = await waitFor(
      "doctor to find nothing",
      async () => {
        const r = await doctor();
        return r.code === 0 && r.findings.length === 0 ? r : undefined;
      },
      120_000,
      2000,
    );
    expect(d.findings).toEqual([]);
    await probe.settled();
  }, 180_000);
});
