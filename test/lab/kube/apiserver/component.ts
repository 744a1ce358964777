// What kube-controller-manager and kube-scheduler share: a loop that runs only while this process leads its etcd
// election, the mirror of that election in a coordination.k8s.io Lease in kube-system (where kubectl and kubecycle
// see the current leader, as on a real cluster), and the HTTPS health endpoint (:10257 / :10259) that answers
// "ok" while etcd answers a quorum read.
import { createServer as createHttpsServer } from "node:https";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Election } from "../lib/election.js";
import { parseDuration } from "../lib/flags.js";
import { Etcd, type EtcdOptions } from "../lib/etcd.js";
import { errMsg, type Log } from "../lib/log.js";
import { nowMicroTime, type LeaseObj } from "../lib/types.js";
import { StatusError } from "./errors.js";
import { prepareForCreate } from "./registry.js";
import { resourceOf } from "./resources.js";
import { Store } from "./store.js";

const LEASES = resourceOf("Lease");

export interface ElectedOptions {
  name: "kube-controller-manager" | "kube-scheduler";
  identity: string;
  etcd: EtcdOptions;
  /** TTL of the etcd lease behind the election (--leader-elect-lease-duration). */
  leaseSeconds: number;
  periodMs: number;
  health?: { host: string; port: number; certFile: string; keyFile: string };
  log: Log;
  round: (store: Store) => Promise<void>;
}

/** Runs the component until the returned stop() is called. */
export async function runElected(opts: ElectedOptions): Promise<{ stop: () => Promise<void> }> {
  const etcd = new Etcd(opts.etcd);
  const store = new Store(etcd);
  const election = new Election(etcd, opts.name, opts.identity, opts.leaseSeconds, opts.log);
  let running = true;
  let acquired: string | undefined;
  let lastMirror = 0;

  const healthHandler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/lab/leader") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ identity: opts.identity, leader: election.isLeader() }));
      return;
    }
    if (path !== "/healthz" && path !== "/livez" && path !== "/readyz") {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("404 page not found\n");
      return;
    }
    store.check().then(
      () => {
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        res.end("ok");
      },
      (err: unknown) => {
        opts.log.warn("healthz failed", { err: errMsg(err) });
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end("[+]ping ok\n[-]etcd failed: reason withheld\nhealthz check failed\n");
      },
    );
  };
  const server = opts.health
    ? createHttpsServer(
        { cert: readFileSync(opts.health.certFile), key: readFileSync(opts.health.keyFile) },
        healthHandler,
      )
    : undefined;
  if (server && opts.health) {
    const h = opts.health;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(h.port, h.host, () => resolve());
    });
  }

  async function mirror(): Promise<void> {
    if (Date.now() - lastMirror < 2000) return;
    const ns = "kube-system";
    const spec = (prev?: LeaseObj["spec"]): LeaseObj["spec"] => ({
      holderIdentity: opts.identity,
      leaseDurationSeconds: opts.leaseSeconds,
      acquireTime:
        prev?.holderIdentity === opts.identity && prev.acquireTime ? prev.acquireTime : (acquired ??= nowMicroTime()),
      renewTime: nowMicroTime(),
      leaseTransitions:
        (prev?.leaseTransitions ?? 0) + (prev?.holderIdentity && prev.holderIdentity !== opts.identity ? 1 : 0),
    });
    try {
      const cur = (await store.get(LEASES, ns, opts.name)) as LeaseObj;
      await store.update(LEASES, { ...cur, spec: spec(cur.spec) }, Number(cur.metadata.resourceVersion));
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
      const lease: LeaseObj = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: opts.name },
        spec: spec(),
      };
      await store.create(LEASES, await prepareForCreate(store, LEASES, lease, ns));
    }
    lastMirror = Date.now();
  }

  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const leading = await election.tick();
      if (leading && running) {
        try {
          await mirror();
          await opts.round(store);
        } catch (err) {
          opts.log.warn("round failed", { err: errMsg(err) });
        }
      } else acquired = undefined;
      await new Promise((r) => setTimeout(r, Math.max(50, opts.periodMs - (Date.now() - started))));
    }
  })();

  return {
    stop: async () => {
      running = false;
      await loop;
      await election.resign();
      server?.close();
      etcd.close();
    },
  };
}

/** The flags the controller-manager and the scheduler share, as the real components spell them. */
export const ELECTED_FLAGS = [
  "bind-address",
  "secure-port",
  "tls-cert-file",
  "tls-private-key-file",
  "etcd-servers",
  "etcd-cafile",
  "etcd-certfile",
  "etcd-keyfile",
  "leader-elect-lease-duration",
  "identity",
] as const;

type ElectedFlags = Partial<Record<(typeof ELECTED_FLAGS)[number], string>>;

/** ElectedOptions from the component's command line. */
export function electedOptionsFromFlags(
  name: ElectedOptions["name"],
  flags: ElectedFlags,
  rest: Pick<ElectedOptions, "periodMs" | "log" | "round">,
): ElectedOptions {
  const port = Number(flags["secure-port"]);
  return {
    name,
    identity: `${flags.identity ?? hostname()}_${randomUUID()}`,
    etcd: {
      endpoints: (flags["etcd-servers"] ?? "").split(",").filter(Boolean),
      ...(flags["etcd-cafile"] ? { caFile: flags["etcd-cafile"] } : {}),
      ...(flags["etcd-certfile"] ? { certFile: flags["etcd-certfile"] } : {}),
      ...(flags["etcd-keyfile"] ? { keyFile: flags["etcd-keyfile"] } : {}),
    },
    leaseSeconds: Math.max(2, Math.round(parseDuration(flags["leader-elect-lease-duration"] ?? "3s") / 1000)),
    ...(port > 0 && flags["tls-cert-file"] && flags["tls-private-key-file"]
      ? {
          health: {
            host: flags["bind-address"] ?? "0.0.0.0",
            port,
            certFile: flags["tls-cert-file"],
            keyFile: flags["tls-private-key-file"],
          },
        }
      : {}),
    ...rest,
  };
}
