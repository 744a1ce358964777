// kube-apiserver stand-in (lab fixture, never shipped). HTTPS on --secure-port (6443), objects in etcd, x509
// client-certificate authentication. Run by the kubelet stand-in as the kube-apiserver static pod, like kubeadm.
// Deliberate differences from the real one: JSON (not protobuf) in etcd, no watch cache (every read is a quorum
// read, also with resourceVersion=0), RBAC from a policy file (authz.ts), no admission beyond namespace existence, strategic merge patch treated
// as JSON merge patch, no dryRun, no server-side apply. See test/lab/kube/README.md.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { Etcd } from "../lib/etcd.js";
import { parseFlags, required } from "../lib/flags.js";
import { createLog, errMsg } from "../lib/log.js";
import { AuditLog, RbacPolicy } from "./authz.js";
import { StatusError } from "./errors.js";
import { prepareForCreate } from "./registry.js";
import { resourceOf } from "./resources.js";
import { createApiHandler } from "./server.js";
import { Store } from "./store.js";

const log = createLog("kube-apiserver");
const flags = parseFlags(
  process.argv.slice(2),
  [
    "advertise-address",
    "bind-address",
    "secure-port",
    "tls-cert-file",
    "tls-private-key-file",
    "client-ca-file",
    "etcd-servers",
    "etcd-cafile",
    "etcd-certfile",
    "etcd-keyfile",
    "authorization-policy-file",
    "audit-log-path",
  ] as const,
  { "bind-address": "0.0.0.0", "secure-port": "6443" },
);

const etcd = new Etcd({
  endpoints: required(flags, "etcd-servers").split(","),
  ...(flags["etcd-cafile"] ? { caFile: flags["etcd-cafile"] } : {}),
  ...(flags["etcd-certfile"] ? { certFile: flags["etcd-certfile"] } : {}),
  ...(flags["etcd-keyfile"] ? { keyFile: flags["etcd-keyfile"] } : {}),
});
const store = new Store(etcd);
let shuttingDown = false;
const port = Number(flags["secure-port"]);
const advertise = `${flags["advertise-address"] ?? "127.0.0.1"}:${port}`;

const server = createServer(
  {
    cert: readFileSync(required(flags, "tls-cert-file")),
    key: readFileSync(required(flags, "tls-private-key-file")),
    ca: readFileSync(required(flags, "client-ca-file")),
    requestCert: true,
    rejectUnauthorized: false,
  },
  createApiHandler({
    store,
    log,
    advertise,
    shuttingDown: () => shuttingDown,
    ...(flags["authorization-policy-file"] ? { policy: RbacPolicy.fromFile(flags["authorization-policy-file"]) } : {}),
    ...(flags["audit-log-path"] ? { audit: new AuditLog(flags["audit-log-path"]) } : {}),
  }),
);
server.keepAliveTimeout = 60_000;

/** The system namespaces the real apiserver creates at start and keeps. */
async function ensureSystemNamespaces(): Promise<void> {
  const ns = resourceOf("Namespace");
  for (;;) {
    try {
      for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
        try {
          await store.get(ns, undefined, name);
        } catch (err) {
          if (!(err instanceof StatusError && err.code === 404)) throw err;
          await store
            .create(
              ns,
              await prepareForCreate(store, ns, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, undefined),
            )
            .catch((e: unknown) => {
              if (!(e instanceof StatusError && e.code === 409)) throw e;
            });
        }
      }
      return;
    } catch (err) {
      log.warn("cannot ensure system namespaces yet", { err: errMsg(err) });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

server.listen(port, flags["bind-address"], () => {
  log.info("serving securely", { address: `${flags["bind-address"]}:${port}` });
  void ensureSystemNamespaces();
});

const stop = (): void => {
  shuttingDown = true;
  log.info("shutting down");
  server.close();
  server.closeAllConnections();
  etcd.close();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
