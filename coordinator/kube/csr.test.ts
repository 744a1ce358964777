// Which kubelet CSRs kubecycle approves: requests made with openssl, as a kubelet's are (PKCS#10 with a subjectAltName
// extension request), judged against the recorded inventory. Only what a node asks for itself is approved.
import type { V1CertificateSigningRequest } from "@kubernetes/client-node";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  KUBELET_CLIENT,
  KUBELET_SERVING,
  assessKubeletCsr,
  describeCsr,
  isPending,
  parseCertificateRequest,
  pendingKubeletCsrs,
} from "./csr.js";

const run = promisify(execFile);
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-csr-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A PEM certificate request made by openssl, as a kubelet makes one. */
async function request(subject: string, san?: string): Promise<string> {
  const key = join(dir, `k${++n}.pem`);
  const out = join(dir, `r${n}.csr`);
  // prettier-ignore
  await run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", subject, ...(san ? ["-addext", `subjectAltName=${san}`] : []), "-out", out]);
  return readFile(out, "utf8");
}

const NODES = [
  { name: "n1", addresses: ["10.0.0.11", "fd00::11"] },
  { name: "n2", addresses: ["10.0.0.12"] },
];

function csr(o: {
  name?: string;
  pem: string;
  signer?: string;
  user?: string;
  groups?: string[];
  usages?: string[];
  conditions?: Array<{ type: string; status: string }>;
}): V1CertificateSigningRequest {
  return {
    metadata: { name: o.name ?? "csr-x", creationTimestamp: new Date("2026-11-30T10:00:00Z") },
    spec: {
      request: Buffer.from(o.pem).toString("base64"),
      signerName: o.signer ?? KUBELET_SERVING,
      username: o.user ?? "system:node:n1",
      groups: o.groups ?? ["system:nodes", "system:authenticated"],
      usages: o.usages ?? ["digital signature", "key encipherment", "server auth"],
    },
    ...(o.conditions ? { status: { conditions: o.conditions } } : {}),
  };
}

describe("parseCertificateRequest", () => {
  it("reads the subject and every kind of subjectAltName, IPv6 included", async () => {
    const pem = await request(
      "/O=system:nodes/CN=system:node:n1",
      "DNS:n1,IP:10.0.0.11,IP:fd00::11,email:a@b.c,URI:spiffe://x",
    );
    expect(parseCertificateRequest(pem)).toEqual({
      commonName: "system:node:n1",
      organizations: ["system:nodes"],
      dnsNames: ["n1"],
      ipAddresses: ["10.0.0.11", "fd00::11"],
      emailAddresses: ["a@b.c"],
      uris: ["spiffe://x"],
    });
  });

  it("refuses what is not a certificate request", () => {
    expect(() => parseCertificateRequest("hello")).toThrow();
    expect(() => parseCertificateRequest(Buffer.from([0x30, 0x82, 0xff, 0xff]))).toThrow(/truncated/);
  });
});

describe("assessKubeletCsr", () => {
  it("approves a serving certificate a node asks for itself, for its own name and recorded addresses", async () => {
    const pem = await request("/O=system:nodes/CN=system:node:n1", "DNS:n1,IP:10.0.0.11,IP:fd00::11");
    const c = assessKubeletCsr(csr({ pem }), NODES);
    expect(c).toMatchObject({ approve: true, reasons: [], node: "n1", kind: "serving", requester: "system:node:n1" });
    expect(c.sans).toEqual(["DNS:n1", "IP:10.0.0.11", "IP:fd00::11"]);
  });

  it("approves a client certificate renewed by the node itself", async () => {
    const pem = await request("/O=system:nodes/CN=system:node:n2");
    const c = assessKubeletCsr(
      csr({ pem, signer: KUBELET_CLIENT, user: "system:node:n2", usages: ["digital signature", "client auth"] }),
      NODES,
    );
    expect(c).toMatchObject({ approve: true, kind: "client", node: "n2" });
  });

  it.each([
    [
      "an address the node does not have",
      { san: "DNS:n1,IP:10.0.0.99" },
      "addresses 10.0.0.99 are not n1's (recorded: 10.0.0.11, fd00::11)",
    ],
    ["another node's name", { san: "DNS:n1,DNS:n2,IP:10.0.0.11" }, "DNS names n2 are not n1's name"],
    [
      "a node not in the inventory",
      { subject: "/O=system:nodes/CN=system:node:n9", user: "system:node:n9" },
      "n9 is not a node of the recorded inventory",
    ],
    ["another requester", { user: "system:node:n2" }, "requested by system:node:n2, not by system:node:n1 itself"],
    [
      "an administrator as requester",
      { user: "kubernetes-admin", groups: ["system:masters"] },
      "requested by kubernetes-admin",
    ],
    [
      "a subject outside system:nodes",
      { subject: "/O=system:masters/CN=system:node:n1" },
      "O=system:masters is not system:nodes",
    ],
    [
      "client usage on a serving signer",
      { usages: ["digital signature", "server auth", "client auth"] },
      "usages client auth are not for",
    ],
    ["no server auth", { usages: ["digital signature"] }, 'lacks the usage "server auth"'],
    ["no names at all", { san: "" }, "names no DNS name or address"],
    ["an e-mail name", { san: "DNS:n1,email:x@y.z" }, "e-mail or URI names"],
  ])(
    "refuses %s, saying so",
    async (
      _what,
      o: { san?: string; subject?: string; user?: string; groups?: string[]; usages?: string[] },
      reason,
    ) => {
      const pem = await request(
        o.subject ?? "/O=system:nodes/CN=system:node:n1",
        o.san === "" ? undefined : (o.san ?? "DNS:n1,IP:10.0.0.11"),
      );
      const c = assessKubeletCsr(
        csr({
          pem,
          ...(o.user ? { user: o.user } : {}),
          ...(o.groups ? { groups: o.groups } : {}),
          ...(o.usages ? { usages: o.usages } : {}),
        }),
        NODES,
      );
      expect(c.approve).toBe(false);
      expect(c.reasons.join("; ")).toContain(reason);
      expect(describeCsr(c)).toContain(`refused: ${c.reasons.join("; ")}`);
    },
  );

  it("refuses a client certificate asked for with a bootstrap token: the token does not say which node asks", async () => {
    const pem = await request("/O=system:nodes/CN=system:node:n1");
    const c = assessKubeletCsr(
      csr({
        pem,
        signer: KUBELET_CLIENT,
        user: "system:bootstrap:abcdef",
        groups: ["system:bootstrappers", "system:authenticated"],
        usages: ["digital signature", "key encipherment", "client auth"],
      }),
      NODES,
    );
    expect(c.approve).toBe(false);
    expect(c.reasons[0]).toContain("bootstrap token (system:bootstrap:abcdef)");
  });

  it("refuses a request that cannot be read", () => {
    const c = assessKubeletCsr(csr({ pem: "garbage" }), NODES);
    expect(c.approve).toBe(false);
    expect(c.reasons[0]).toContain("not a readable PKCS#10");
  });
});

describe("pendingKubeletCsrs", () => {
  it("lists only kubelet CSRs nobody decided on, oldest first", async () => {
    const pem = await request("/O=system:nodes/CN=system:node:n1", "DNS:n1,IP:10.0.0.11");
    const all = [
      csr({ name: "b", pem }),
      csr({ name: "approved", pem, conditions: [{ type: "Approved", status: "True" }] }),
      csr({ name: "denied", pem, conditions: [{ type: "Denied", status: "True" }] }),
      csr({ name: "other-signer", pem, signer: "example.com/signer" }),
      csr({ name: "a", pem }),
    ];
    expect(pendingKubeletCsrs(all, NODES).map((c) => c.name)).toEqual(["a", "b"]);
    expect(isPending(csr({ pem }))).toBe(true);
  });
});
