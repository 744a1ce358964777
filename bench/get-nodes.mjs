#!/usr/bin/env node
// The floor under any CLI that asks the API once, as `kubectl get nodes` does: a node process that reads a kubeconfig
// (its current context's server and client certificate), opens one TLS connection and lists the nodes. bench/status
// times it beside `kubecycle status`, so the machine's share of the wait is measured in the same run.
// Usage: node bench/get-nodes.mjs KUBECONFIG   (prints the number of nodes)
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { parse } from "yaml";

const kc = parse(readFileSync(process.argv[2], "utf8"));
const named = (list, name) => list.find((x) => x.name === name);
const ctx = named(kc.contexts, kc["current-context"]).context;
const cluster = named(kc.clusters, ctx.cluster).cluster;
const user = named(kc.users, ctx.user).user;
const pem = (data, file) => (data ? Buffer.from(data, "base64") : readFileSync(file));
const res = await new Promise((resolve, reject) => {
  const req = request(
    new URL("/api/v1/nodes", cluster.server),
    {
      ca: pem(cluster["certificate-authority-data"], cluster["certificate-authority"]),
      cert: pem(user["client-certificate-data"], user["client-certificate"]),
      key: pem(user["client-key-data"], user["client-key"]),
      timeout: 30_000,
    },
    (r) => {
      const chunks = [];
      r.on("data", (c) => chunks.push(c));
      r.on("end", () => resolve({ status: r.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
    },
  );
  req.on("error", reject);
  req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
  req.end();
});
if (res.status !== 200) throw new Error(`GET /api/v1/nodes: ${res.status} ${res.body.slice(0, 200)}`);
process.stdout.write(`${JSON.parse(res.body).items.length}\n`);
