// Certificates for a simulated cluster, from kubecycle's own PKI (`kubecycle pki`): a CA, an operator's and a
// viewer's client certificate, and the agents' certificates. The coordinator checks an agent's certificate against
// the node's name, so each node's name must be in its agent's certificate; with thousands of nodes, one certificate
// names a group of nodes (openssl takes ~15 ms a certificate), which costs the TLS handshake nothing measurable.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createCa, issueAgentCert, issueClientCert } from "../../coordinator/index.js";
import type { TlsFiles } from "../../shared/index.js";
import type { SimAgentTls } from "./agents.js";

/** The PKI of a simulated cluster: the agents' side in memory, the clients' as files for a kubecycle config. */
export interface SimPki extends SimAgentTls {
  dir: string;
  operator: TlsFiles;
  viewer: TlsFiles;
}

/** Creates the CA, the two client certificates and certificates naming every node (`groupSize` nodes each). */
export async function createSimPki(dir: string, nodes: readonly string[], groupSize = 1): Promise<SimPki> {
  await createCa(dir);
  await issueClientCert(dir, { name: "sim-operator", role: "operator" });
  await issueClientCert(dir, { name: "sim-viewer", role: "viewer" });
  const groups: string[][] = [];
  for (let i = 0; i < nodes.length; i += groupSize) groups.push(nodes.slice(i, i + groupSize));
  const material = new Map<string, { cert: Buffer; key: Buffer }>();
  // Two at a time: openssl is CPU-bound and the machine has two cores.
  for (let i = 0; i < groups.length; i += 2) {
    await Promise.all(
      groups.slice(i, i + 2).map(async (group, j) => {
        const [first, ...rest] = group;
        if (first === undefined) return;
        const cn = groupSize === 1 ? first : `sim-agents-${i + j}`;
        const files = await issueAgentCert(dir, {
          node: cn,
          ips: ["127.0.0.1"],
          dnsNames: groupSize === 1 ? rest : group,
        });
        const pem = { cert: await readFile(files.cert), key: await readFile(files.key) };
        for (const n of group) material.set(n, pem);
      }),
    );
  }
  const client = (name: string): TlsFiles => ({
    ca: join(dir, "ca.crt"),
    cert: join(dir, "clients", `${name}.crt`),
    key: join(dir, "clients", `${name}.key`),
  });
  return {
    dir,
    ca: await readFile(join(dir, "ca.crt")),
    operator: client("sim-operator"),
    viewer: client("sim-viewer"),
    certFor(node) {
      const m = material.get(node);
      if (!m) throw new Error(`no simulated agent certificate for ${node}`);
      return m;
    },
  };
}
