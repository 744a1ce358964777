import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { OperationSummary } from "../run/journal.js";
import type { Kept } from "./store.js";

/** What the metrics read when Prometheus scrapes. */
export interface MetricsSources {
  reports: () => Kept[];
  /** An agent whose last report is older than this is not counted as reporting. */
  staleAfterMs: number;
  /** Nodes the armed start on boot still waits for (0 when none is armed). */
  waitingNodes: () => number;
}

/**
 * serve's Prometheus metrics, in a registry of their own: agents reporting, each node's last report's age,
 * reports by outcome, operations by outcome and phase durations (from the journals in the state directory), and
 * the process's own (memory, CPU, event loop lag).
 */
export class ServeMetrics {
  readonly registry = new Registry();
  readonly reports: Counter<"outcome">;
  readonly operations: Counter<"procedure" | "result">;
  readonly phases: Histogram<"procedure" | "phase">;

  constructor(src: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "kubecycle_serve_" });
    new Gauge({
      name: "kubecycle_agents_reporting",
      help: "Nodes whose agent's last report is younger than serve.staleAfterMs",
      registers,
      collect() {
        const now = Date.now();
        this.set(src.reports().filter((k) => now - k.receivedUnixMs < src.staleAfterMs).length);
      },
    });
    new Gauge({
      name: "kubecycle_agent_last_report_age_seconds",
      help: "Seconds since each node's agent last reported",
      labelNames: ["node"] as const,
      registers,
      collect() {
        const now = Date.now();
        this.reset();
        for (const k of src.reports()) this.set({ node: k.report.nodeName }, (now - k.receivedUnixMs) / 1000);
      },
    });
    new Gauge({
      name: "kubecycle_agent_boot_time_seconds",
      help: "When each node last booted, as its agent reported (Unix seconds)",
      labelNames: ["node"] as const,
      registers,
      collect() {
        this.reset();
        for (const k of src.reports()) this.set({ node: k.report.nodeName }, k.report.bootedUnixMs / 1000);
      },
    });
    new Gauge({
      name: "kubecycle_start_on_boot_waiting_nodes",
      help: "Nodes an armed start on boot still waits for (0 when none is armed)",
      registers,
      collect() {
        this.set(src.waitingNodes());
      },
    });
    this.reports = new Counter({
      name: "kubecycle_reports_total",
      help: "Agent reports received, by outcome (stored, duplicate, refused)",
      labelNames: ["outcome"] as const,
      registers,
    });
    this.operations = new Counter({
      name: "kubecycle_operations_total",
      help: "Operations (and resumed runs of them) that ended, by procedure and result, from the journals",
      labelNames: ["procedure", "result"] as const,
      registers,
    });
    this.phases = new Histogram({
      name: "kubecycle_phase_duration_seconds",
      help: "How long each phase of an operation took, from the journals",
      labelNames: ["procedure", "phase"] as const,
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
      registers,
    });
  }

  /**
   * Counts an operation run that ended, once, and each of its phases' durations (first step started to last step
   * ended, in this run). All the journals are counted when serve starts: the counters then never go back at a
   * restart, and Prometheus' increase() sees only what ended since.
   */
  observeOperation(o: OperationSummary): void {
    this.operations.inc({ procedure: o.procedure, result: o.result });
    for (const [phase, ms] of phaseDurations(o)) {
      this.phases.observe({ procedure: o.procedure, phase }, ms / 1000);
    }
  }

  /** Serves /metrics over plain HTTP (Prometheus' way); resolves with the port bound. */
  listen(address: string, port: number): Promise<{ server: Server; port: number }> {
    const server = createServer((req, res) => {
      if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
        res.writeHead(404).end("only GET /metrics here\n");
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": this.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(`${(err as Error).message}\n`),
      );
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, address, () => {
        const a = server.address();
        resolve({ server, port: typeof a === "object" && a ? a.port : port });
      });
    });
  }
}

/** Per phase, from its first step's start to its last step's end, for the steps this run ran. */
export function phaseDurations(o: Pick<OperationSummary, "steps">): Map<string, number> {
  const spans = new Map<string, { from: number; to: number }>();
  for (const s of o.steps) {
    if (!s.startedAt || !s.finishedAt || s.status === "skipped") continue;
    const from = Date.parse(s.startedAt);
    const to = Date.parse(s.finishedAt);
    const span = spans.get(s.phase);
    spans.set(s.phase, span ? { from: Math.min(span.from, from), to: Math.max(span.to, to) } : { from, to });
  }
  return new Map([...spans].map(([phase, { from, to }]) => [phase, Math.max(0, to - from)]));
}
