// Test harness for the Kubernetes stand-ins without systemd or namespaces: a real etcd cluster on loopback (client
// TLS, like the lab's), the bundled stand-ins as child processes, and bookkeeping so that everything started,
// including the runtime's detached "containers", is killed afterwards. Used by test/integration/kube-*.test.ts.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueLeaf, makeCa } from "../certs.js";
import { bundleKube } from "./bundle.js";
import { createKubePki, PKI_FILES, type KubePki } from "./pki.js";

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

/** Polls `fn` until it returns a truthy value; throws with the last error or value after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
  );
}

/** A started child process. */
export interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
}

/** Everything one test file starts. */
export class Lab {
  readonly procs = new Set<Proc>();
  binDir = "";
  pki!: KubePki;
  etcdTls!: { ca: string; cert: string; key: string };
  private runtimeStateDirs: string[] = [];

  private constructor(readonly dir: string) {}

  static async create(prefix: string): Promise<Lab> {
    const lab = new Lab(await mkdtemp(join(tmpdir(), prefix)));
    lab.binDir = join(lab.dir, "bin");
    await mkdir(join(lab.dir, "logs"), { recursive: true });
    await bundleKube(lab.binDir);
    lab.pki = await createKubePki(join(lab.dir, "pki"), [{ name: "m1", ip: "127.0.0.1" }]);
    const ssl = await mkdir(join(lab.dir, "etcd-ssl"), { recursive: true }).then(() => join(lab.dir, "etcd-ssl"));
    const ca = await makeCa(join(ssl, "ca.pem"), join(ssl, "ca-key.pem"), "etcd-ca");
    await issueLeaf(ca, join(ssl, "node.pem"), join(ssl, "node-key.pem"), {
      commonName: "etcd",
      usage: "both",
      ips: ["127.0.0.1"],
      dnsNames: ["localhost"],
    });
    lab.etcdTls = { ca: ca.cert, cert: join(ssl, "node.pem"), key: join(ssl, "node-key.pem") };
    return lab;
  }

  pkiFile(f: keyof typeof PKI_FILES): string {
    return join(this.pki.dir, PKI_FILES[f]);
  }

  /** Spawns `cmd` with output to <dir>/logs/<name>.log. */
  spawn(name: string, cmd: string, args: string[]): Proc {
    const log = join(this.dir, "logs", `${name}.log`);
    const fd = openSync(log, "a");
    const child = spawn(cmd, args, { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const p: Proc = { name, child, log, exited };
    this.procs.add(p);
    void exited.then(() => this.procs.delete(p));
    return p;
  }

  /** Kills a process (SIGKILL unless said otherwise) and waits for it. */
  async kill(p: Proc, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    p.child.kill(signal);
    await p.exited;
  }

  node(name: string, bundle: string, args: string[]): Proc {
    return this.spawn(name, process.execPath, [join(this.binDir, `${bundle}.mjs`), ...args]);
  }

  /** Starts an etcd cluster of `n` members on loopback with client TLS; resolves once it serves quorum reads. */
  async etcdCluster(n: number): Promise<EtcdCluster> {
    const members = [];
    for (let i = 0; i < n; i++) members.push({ name: `e${i}`, client: await freePort(), peer: await freePort() });
    const initial = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
    const cluster = new EtcdCluster(
      this,
      members.map((m) => ({ ...m, dataDir: join(this.dir, `etcd-${m.name}`), initial })),
    );
    await mkdir(join(this.dir, "logs"), { recursive: true });
    for (const m of cluster.members) cluster.start(m.name);
    await cluster.waitHealthy();
    return cluster;
  }

  /** Starts kube-apiserver on 127.0.0.1:<port>; `extra` flags after the usual ones. */
  apiserver(name: string, port: number, etcd: EtcdCluster, extra: string[] = []): Proc {
    return this.node(name, "kube-apiserver", [
      "--advertise-address=127.0.0.1",
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      `--tls-cert-file=${this.pkiFile("apiserverCert")}`,
      `--tls-private-key-file=${this.pkiFile("apiserverKey")}`,
      `--client-ca-file=${this.pkiFile("caCert")}`,
      ...etcd.flags(),
      ...extra,
    ]);
  }

  controllerManager(name: string, port: number, etcd: EtcdCluster, graceSeconds = 3, extra: string[] = []): Proc {
    return this.node(name, "kube-controller-manager", [
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      `--tls-cert-file=${this.pkiFile("apiserverCert")}`,
      `--tls-private-key-file=${this.pkiFile("apiserverKey")}`,
      `--node-monitor-grace-period=${graceSeconds}s`,
      `--identity=${name}`,
      ...etcd.flags(),
      ...extra,
    ]);
  }

  scheduler(name: string, port: number, etcd: EtcdCluster): Proc {
    return this.node(name, "kube-scheduler", [
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      `--tls-cert-file=${this.pkiFile("apiserverCert")}`,
      `--tls-private-key-file=${this.pkiFile("apiserverKey")}`,
      `--identity=${name}`,
      ...etcd.flags(),
    ]);
  }

  /** Makes destroy() kill the containers recorded in a runtime's state directory (they outlive the runtime). */
  trackRuntimeState(stateDir: string): void {
    this.runtimeStateDirs.push(stateDir);
  }

  /** Starts a containerd stand-in with its socket and state under <dir>/nodes/<node>. */
  async runtime(node: string): Promise<{ proc: Proc; endpoint: string; stateDir: string }> {
    const base = join(this.dir, "nodes", node);
    const stateDir = join(base, "run-containerd-lab");
    this.runtimeStateDirs.push(stateDir);
    await mkdir(base, { recursive: true });
    const sock = join(base, "containerd.sock");
    const proc = this.node(`containerd-${node}`, "containerd", [
      "--address",
      sock,
      "--state",
      stateDir,
      "--root",
      join(base, "var-lib-containerd-lab"),
    ]);
    return { proc, endpoint: `unix://${sock}`, stateDir };
  }

  /** Writes a kubelet kubeconfig for `server` and starts a kubelet for `node`. */
  async kubelet(
    node: string,
    opts: {
      servers: string[];
      runtimeEndpoint: string;
      ip?: string;
      role?: "master" | "worker";
      cpu?: string;
      memory?: string;
      manifestDir?: string;
      /** Its client certificate and key files, instead of the shared kubelet-client.crt (CN=system:node:lab). */
      clientCert?: { cert: string; key: string };
      /** Flags after the usual ones. */
      extra?: string[];
    },
  ): Promise<Proc> {
    const base = join(this.dir, "nodes", node);
    await mkdir(base, { recursive: true });
    const conf = join(base, "kubelet.conf");
    await writeFile(
      conf,
      kubeconfigWithFiles(
        opts.servers[0] ?? "",
        this.pkiFile("caCert"),
        opts.clientCert?.cert ?? this.pkiFile("kubeletCert"),
        opts.clientCert?.key ?? this.pkiFile("kubeletKey"),
      ),
    );
    return this.node(`kubelet-${node}`, "kubelet", [
      `--kubeconfig=${conf}`,
      `--hostname-override=${node}`,
      `--node-ip=${opts.ip ?? "127.0.0.1"}`,
      `--node-labels=${opts.role === "master" ? "node-role.kubernetes.io/control-plane=" : "node-role.kubernetes.io/worker="}`,
      ...(opts.role === "master" ? ["--register-with-taints=node-role.kubernetes.io/control-plane:NoSchedule"] : []),
      `--container-runtime-endpoint=${opts.runtimeEndpoint}`,
      "--healthz-port=0",
      `--lab-api-servers=${opts.servers.join(",")}`,
      `--lab-cpu=${opts.cpu ?? "2"}`,
      `--lab-memory=${opts.memory ?? "4Gi"}`,
      ...(opts.manifestDir ? [`--pod-manifest-path=${opts.manifestDir}`] : []),
      ...(opts.extra ?? []),
    ]);
  }

  /** Pids of the runtime's container processes still recorded as running (they outlive the runtime). */
  containerPids(): number[] {
    const pids: number[] = [];
    for (const dir of this.runtimeStateDirs) {
      let names: string[] = [];
      try {
        names = readdirSync(join(dir, "containers"));
      } catch {
        continue;
      }
      for (const n of names.filter((x) => x.endsWith(".json"))) {
        try {
          const c = JSON.parse(readFileSync(join(dir, "containers", n), "utf8")) as { pid?: number; state?: string };
          if (c.pid) pids.push(c.pid);
        } catch {
          /* being rewritten */
        }
      }
    }
    return pids;
  }

  /** Kills everything this lab started, containers included, and removes its directory. */
  async destroy(keepDir = false): Promise<void> {
    await Promise.all([...this.procs].map((p) => this.kill(p)));
    for (const pid of this.containerPids()) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    if (!keepDir) await rm(this.dir, { recursive: true, force: true });
  }

  /** The last lines of every process log (for failure messages). */
  tail(lines = 15): string {
    const out: string[] = [];
    try {
      for (const f of readdirSync(join(this.dir, "logs"))) {
        const text = readFileSync(join(this.dir, "logs", f), "utf8")
          .trimEnd()
          .split("\n")
          .slice(-lines)
          .join("\n");
        out.push(`--- ${f}\n${text}`);
      }
    } catch {
      /* no logs */
    }
    return out.join("\n");
  }
}

export function kubeconfigWithFiles(server: string, ca: string, cert: string, key: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: lab",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority: ${ca}`,
    "users:",
    "- name: u",
    "  user:",
    `    client-certificate: ${cert}`,
    `    client-key: ${key}`,
    "contexts:",
    "- name: c",
    "  context: {cluster: lab, user: u}",
    "current-context: c",
    "",
  ].join("\n");
}

interface MemberSpec {
  name: string;
  client: number;
  peer: number;
  dataDir: string;
  initial: string;
}

/** A real etcd cluster on loopback. */
export class EtcdCluster {
  private readonly running = new Map<string, Proc>();

  constructor(
    private readonly lab: Lab,
    readonly members: MemberSpec[],
  ) {}

  endpoints(): string[] {
    return this.members.map((m) => `https://127.0.0.1:${m.client}`);
  }

  flags(): string[] {
    return [
      `--etcd-servers=${this.endpoints().join(",")}`,
      `--etcd-cafile=${this.lab.etcdTls.ca}`,
      `--etcd-certfile=${this.lab.etcdTls.cert}`,
      `--etcd-keyfile=${this.lab.etcdTls.key}`,
    ];
  }

  start(name: string): void {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    const t = this.lab.etcdTls;
    this.running.set(
      name,
      this.lab.spawn(`etcd-${name}`, "/usr/bin/etcd", [
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=https://127.0.0.1:${m.client}`,
        `--advertise-client-urls=https://127.0.0.1:${m.client}`,
        `--listen-peer-urls=http://127.0.0.1:${m.peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${m.peer}`,
        `--initial-cluster=${m.initial}`,
        "--initial-cluster-state=new",
        "--initial-cluster-token=kube-lab-test",
        `--cert-file=${t.cert}`,
        `--key-file=${t.key}`,
        `--trusted-ca-file=${t.ca}`,
        "--client-cert-auth=true",
        "--heartbeat-interval=100",
        "--election-timeout=1000",
        "--log-level=warn",
        "--logger=zap",
      ]),
    );
  }

  async stop(name: string): Promise<void> {
    const p = this.running.get(name);
    if (p) await this.lab.kill(p);
    this.running.delete(name);
  }

  /** Resolves once a linearizable read succeeds through etcdctl. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const t = this.lab.etcdTls;
    await waitFor(
      "etcd quorum",
      async () => {
        const { execFile } = await import("node:child_process");
        return new Promise<boolean>((resolve) => {
          execFile(
            "/usr/bin/etcdctl",
            [
              `--endpoints=${this.endpoints().join(",")}`,
              `--cacert=${t.ca}`,
              `--cert=${t.cert}`,
              `--key=${t.key}`,
              "--command-timeout=1s",
              "get",
              "health-probe",
            ],
            { env: { ...process.env, ETCDCTL_API: "3" } },
            (err) => resolve(!err),
          );
        });
      },
      timeoutMs,
      200,
    );
  }
}
