// The coordinator of one scale-benchmark run, in a process of its own so that its time and its peak RSS are its
// own: the real CLI entry (main) runs `cluster stop` and then `cluster start` against the simulated agents, with the
// simulated API (another process's, over a unix socket) injected. Each event of the JSON stream is timestamped as it
// arrives; the phases' windows and the process's peak RSS go back to the benchmark over IPC.
//
// argv: CONFIG SOCKET
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { main } from "../../../coordinator/index.js";
import { RemoteClusterApi } from "../remote-api.js";

/** One procedure's run: its wall time and each phase's window (wall-clock ms, for the simulated world's records). */
export interface ProcedureRun {
  code: number;
  stderr: string;
  startedAt: number;
  endedAt: number;
  /** From the command's start to its first phase: config, connections, inventory, plan, journal. */
  prepareMs: number;
  phases: Array<{ name: string; start: number; end: number; steps: number; cpuMs: number }>;
  /** This process's CPU time (user + system) from the command's start to its end. */
  cpuMs: number;
}

/** CPU time this process used so far, in ms. */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function procedure(args: string[], api: RemoteClusterApi): Promise<ProcedureRun> {
  const startedAt = Date.now();
  const cpu0 = cpu();
  const phases: ProcedureRun["phases"] = [];
  let phaseCpu = 0;
  let stderr = "";
  let buffered = "";
  let finished = 0;
  const onLine = (line: string) => {
    if (!line.startsWith("{")) return;
    const e = JSON.parse(line) as { type: string; phase?: string };
    const now = Date.now();
    const open = phases.at(-1);
    if (e.type === "phase-started" || e.type === "operation-finished") {
      const c = cpu();
      if (open && open.end === 0) Object.assign(open, { end: now, cpuMs: c - phaseCpu });
      phaseCpu = c;
      if (e.type === "phase-started") phases.push({ name: e.phase ?? "?", start: now, end: 0, steps: 0, cpuMs: 0 });
      else finished = now;
    } else if (e.type === "step-started" && open) {
      open.steps++;
    }
  };
  const code = await main(args, {
    stdout: {
      write(chunk: string) {
        buffered += chunk;
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          onLine(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
        }
      },
    },
    stderr: { write: (s: string) => (stderr += s) },
    env: { PATH: process.env.PATH ?? "" },
    clusterApi: api,
  });
  const endedAt = Date.now();
  return {
    code,
    stderr,
    startedAt,
    endedAt: finished || endedAt,
    prepareMs: (phases[0]?.start ?? endedAt) - startedAt,
    phases,
    cpuMs: cpu() - cpu0,
  };
}

async function run(): Promise<void> {
  const [config, socket] = process.argv.slice(2);
  if (!config || !socket) throw new Error("usage: coordinator CONFIG SOCKET");
  const api = await RemoteClusterApi.connect(socket);
  // How late timers fire: on a machine whose cores are taken by others, the coordinator waits for CPU, not for work.
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  // What the resident memory is made of at its peak: the JS heap, or what lives outside it (sockets, TLS, buffers).
  let peak = process.memoryUsage();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak.rss) peak = m;
  }, 100);
  const stop = await procedure(["cluster", "stop", "--yes", "-o", "json", "-c", config], api);
  const start = stop.code === 0 ? await procedure(["cluster", "start", "-o", "json", "-c", config], api) : undefined;
  api.close();
  lag.disable();
  clearInterval(sampler);
  const mb = (x: number) => Math.round(x / 2 ** 20);
  process.send?.(
    {
      type: "result",
      stop,
      start,
      maxRssKb: process.resourceUsage().maxRSS,
      atPeakMb: {
        rss: mb(peak.rss),
        heapTotal: mb(peak.heapTotal),
        heapUsed: mb(peak.heapUsed),
        external: mb(peak.external),
      },
      lagMs: { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6 },
      load: loadavg()[0],
    },
    () => process.exit(0),
  );
}

await run();
