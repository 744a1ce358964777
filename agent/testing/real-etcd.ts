// A real etcd cluster (Debian's etcd-server, as the lab uses) on loopback with mutual TLS, for in-process tests of
// what the agent does to etcd: each member a child process, its data in a temp directory. No root. Test support only;
// never shipped.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import type { EtcdConfig } from "../layout.js";
import { createTestCa, type TestCa } from "./pki.js";

/** One member: its name, URLs, data directory and (while it runs) its process. */
export interface RealMember {
  name: string;
  client: string;
  peer: string;
  dataDir: string;
  proc?: ChildProcess;
}

/** A cluster of members sharing one CA and one member certificate (SANs 127.0.0.1, localhost). */
export interface RealEtcd {
  members: RealMember[];
  ssl: string;
  /** The cluster's CA: issues more certificates into `ssl` (a client's, say). */
  ca: TestCa;
  /** Starts a member; `env` (with `bootstrapFlags: false`) stands for what systemd's EnvironmentFile= would give. */
  start(m: RealMember, o?: { env?: Record<string, string>; bootstrapFlags?: boolean }): void;
  stop(m: RealMember): Promise<void>;
  stopAll(): Promise<void>;
  /** The pids of members that run: what a /proc scan on the node would find. */
  running(): number[];
  /** The member as the agent's layout would read it from KubeKey's /etc/etcd.env (systemd mode). */
  config(m: RealMember, unit?: string): EtcdConfig;
  initialCluster(): string;
}

export const freePort = (): Promise<number> =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

/** Creates the CA and the members (not started) under `dir`. */
export async function realEtcd(dir: string, names: readonly string[]): Promise<RealEtcd> {
  const ca = await createTestCa(join(dir, "ssl"));
  const ssl = ca.dir;
  await ca.issue("member", { subject: "/CN=etcd-member", san: ["IP:127.0.0.1", "DNS:localhost"] });
  const members: RealMember[] = [];
  for (const name of names) {
    members.push({
      name,
      client: `https://127.0.0.1:${await freePort()}`,
      peer: `https://127.0.0.1:${await freePort()}`,
      dataDir: join(dir, name),
    });
  }
  const initialCluster = () => members.map((x) => `${x.name}=${x.peer}`).join(",");
  const alive = (m: RealMember) => m.proc !== undefined && m.proc.exitCode === null && m.proc.signalCode === null;
  const stop = async (m: RealMember) => {
    const p = m.proc;
    if (!p || !alive(m)) return;
    const gone = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await gone;
  };
  return {
    members,
    ssl,
    ca,
    initialCluster,
    start(m, o = {}) {
      const bootstrap = o.bootstrapFlags ?? true;
      m.proc = spawn(
        "etcd",
        [
          `--name=${m.name}`,
          `--data-dir=${m.dataDir}`,
          `--listen-client-urls=${m.client}`,
          `--advertise-client-urls=${m.client}`,
          `--listen-peer-urls=${m.peer}`,
          `--initial-advertise-peer-urls=${m.peer}`,
          ...(bootstrap
            ? [
                `--initial-cluster=${initialCluster()}`,
                "--initial-cluster-state=new",
                "--initial-cluster-token=kc-test",
              ]
            : []),
          `--cert-file=${ssl}/member.crt`,
          `--key-file=${ssl}/member.key`,
          `--trusted-ca-file=${ssl}/ca.crt`,
          "--client-cert-auth",
          `--peer-cert-file=${ssl}/member.crt`,
          `--peer-key-file=${ssl}/member.key`,
          `--peer-trusted-ca-file=${ssl}/ca.crt`,
          "--peer-client-cert-auth",
          "--heartbeat-interval=50",
          "--election-timeout=500",
          "--log-level=error",
        ],
        { stdio: "ignore", env: { ...process.env, ...o.env } },
      );
    },
    stop,
    async stopAll() {
      await Promise.all(members.map(stop));
    },
    running: () => members.filter(alive).map((m) => m.proc?.pid ?? 0),
    config: (m, unit = "etcd.service") => ({
      mode: "systemd",
      unit,
      configFile: join(dir, `${m.name}.env`),
      name: m.name,
      clientUrls: [m.client],
      peerUrls: [m.peer],
      dataDir: m.dataDir,
      caFile: `${ssl}/ca.crt`,
      certFile: `${ssl}/member.crt`,
      keyFile: `${ssl}/member.key`,
      serverCertFile: `${ssl}/member.crt`,
      peerCertFile: `${ssl}/member.crt`,
      fallbackEndpoints: [],
      error: "",
      quotaBackendBytes: 0,
      initialCluster: initialCluster(),
    }),
  };
}
