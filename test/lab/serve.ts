// `kubecycle serve` on the lab's admin side (the host), as an operator runs it: the built CLI as a process with the
// lab's config, listening on the bridge address every lab agent reports to. For the end-to-end tests and the demo.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { ServeConnection } from "../../coordinator/index.js";
import type { ReportList__Output } from "../../shared/index.js";
import { REPO_ROOT } from "./agent.js";
import type { Lab } from "./lab.js";
import { SERVE_ENDPOINT, SERVE_METRICS_PORT } from "./layout.js";

const CLI = join(REPO_ROOT, "dist/bin/kubecycle.mjs");

/** A running `kubecycle serve`. */
export interface LabServe {
  readonly child: ChildProcess;
  /** Its log so far (JSON lines). */
  log(): string;
  /** Sends `signal` and waits until it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `kubecycle serve` for the lab; resolves once it listens. */
export async function startLabServe(lab: Lab, opts: { onLine?: (line: string) => void } = {}): Promise<LabServe> {
  const child = spawn(process.execPath, [CLI, "serve", "--log-level", "debug"], {
    env: { ...process.env, KUBECYCLE_CONFIG: lab.kubecycleConfigPath },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  let err = "";
  let partial = "";
  // Kept beside the lab's state for whoever reads a failure afterwards (it goes with `lab down`).
  const file = createWriteStream(join(lab.paths.root, "serve.log"), { flags: "a" });
  child.stderr?.on("data", (d: Buffer) => file.write(d));
  child.on("exit", (code, signal) => file.end(`-- kubecycle serve exited: code ${code} signal ${signal}\n`));
  child.stdout?.on("data", (d: Buffer) => {
    file.write(d);
    log += d.toString();
    partial += d.toString();
    for (let i = partial.indexOf("\n"); i >= 0; i = partial.indexOf("\n")) {
      opts.onLine?.(partial.slice(0, i));
      partial = partial.slice(i + 1);
    }
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubecycle serve did not start: ${err}`)), 30_000);
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.includes("listening")) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`kubecycle serve exited: ${err}`));
    });
  });
  return {
    child,
    log: () => log,
    async kill(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** What serve keeps, as `kubecycle status` reads it (the lab's viewer certificate). */
export async function serveReports(lab: Lab): Promise<ReportList__Output> {
  const tls = await lab.viewerTls();
  const conn = new ServeConnection(SERVE_ENDPOINT, tls);
  try {
    return await conn.listReports(5000);
  } finally {
    conn.close();
  }
}

/** serve's Prometheus metrics, as a scrape sees them. */
export async function serveMetrics(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${SERVE_METRICS_PORT}/metrics`);
  return res.text();
}
