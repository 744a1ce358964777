import { createLogUpdate } from "log-update";
import type { Writer } from "../command.js";
import type { Plan } from "../plan/index.js";
import type { JournalEntry } from "../run/journal.js";

/** Where progress goes: a live view on a terminal, plain lines elsewhere, or a JSON event stream for automation. */
export type ProgressMode = "tty" | "plain" | "json";

/** Receives every journal entry as the executor writes it. */
export interface ProgressView {
  event(entry: JournalEntry): void;
  /** Stops the live view, leaving its last frame on screen. */
  close(): void;
}

type StepView = {
  node?: string;
  label: string;
  state: "pending" | "running" | "ok" | "failed" | "skipped";
  note: string;
};

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const ICON = { pending: "·", ok: "✓", failed: "✗", skipped: "-" } as const;

function short(evidence: Record<string, unknown>): string {
  const text = JSON.stringify(evidence);
  return text === "{}" ? "" : text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

/** Picks the mode: JSON when asked (-o json), a live view on a terminal, plain lines otherwise. */
export function progressMode(output: string, isTty: boolean): ProgressMode {
  return output === "json" ? "json" : isTty ? "tty" : "plain";
}

/** Makes the view for a plan; each JSON event names the operation `op`. */
export function createProgress(
  mode: ProgressMode,
  out: Writer & { columns?: number },
  plan: Plan,
  op: string,
): ProgressView {
  if (mode === "json") {
    return {
      event: (e) => out.write(`${JSON.stringify({ t: new Date().toISOString(), op, ...e })}\n`),
      close: () => undefined,
    };
  }
  const steps = new Map<string, StepView>();
  const phaseOf = new Map<string, string>();
  for (const ph of plan.phases) {
    for (const s of ph.steps) {
      steps.set(s.id, { ...(s.node ? { node: s.node } : {}), label: s.action.kind, state: "pending", note: "" });
      phaseOf.set(s.id, ph.name);
    }
  }
  const time = () => new Date().toISOString().slice(11, 19);

  if (mode === "plain") {
    return {
      event(e) {
        const s = "step" in e ? steps.get(e.step) : undefined;
        const who = s ? `${s.node ? `[${s.node}] ` : ""}${s.label}` : "";
        switch (e.type) {
          case "phase-started":
            out.write(`${time()} == ${plan.phases.find((p) => p.name === e.phase)?.title ?? e.phase}\n`);
            break;
          case "step-started":
            out.write(`${time()}    ${who} ...\n`);
            break;
          case "step-progress":
            out.write(`${time()}    ${who}: ${e.message}\n`);
            break;
          case "step-succeeded":
            out.write(`${time()}    ${who} ok${short(e.evidence) ? ` ${short(e.evidence)}` : ""}\n`);
            break;
          case "step-failed":
            out.write(`${time()}    ${who} FAILED: ${e.message}\n`);
            break;
          case "step-skipped":
            out.write(`${time()}    ${who} skipped: ${e.reason}\n`);
            break;
          case "operation-finished":
            out.write(`${time()} ${e.result}${e.reason ? `: ${e.reason}` : ""}\n`);
            break;
          default:
            break;
        }
      },
      close: () => undefined,
    };
  }

  const render = createLogUpdate(out as NodeJS.WriteStream);
  let frame = 0;
  let finished = "";
  const draw = () => {
    const lines: string[] = [`${plan.procedure} ${plan.target}`];
    for (const ph of plan.phases) {
      const views = ph.steps.map((s) => steps.get(s.id) as StepView);
      const state = views.some((v) => v.state === "failed")
        ? "failed"
        : views.every((v) => v.state === "ok" || v.state === "skipped")
          ? "ok"
          : views.some((v) => v.state !== "pending")
            ? "running"
            : "pending";
      const icon = state === "running" ? (SPINNER[frame % SPINNER.length] ?? "*") : ICON[state];
      lines.push(`${icon} ${ph.title}`);
      if (state === "running" || state === "failed" || views.length > 1) {
        for (const v of views) {
          const vi = v.state === "running" ? (SPINNER[frame % SPINNER.length] ?? "*") : ICON[v.state];
          lines.push(`    ${vi} ${v.node ? `${v.node}: ` : ""}${v.label}${v.note ? `  ${v.note}` : ""}`);
        }
      }
    }
    if (finished) lines.push(finished);
    render(lines.join("\n"));
  };
  const timer = setInterval(() => {
    frame++;
    draw();
  }, 120);
  timer.unref();
  return {
    event(e) {
      const s = "step" in e ? steps.get(e.step) : undefined;
      if (s && e.type === "step-started") s.state = "running";
      if (s && e.type === "step-progress") s.note = e.message;
      if (s && e.type === "step-succeeded") Object.assign(s, { state: "ok", note: "" });
      if (s && e.type === "step-failed") Object.assign(s, { state: "failed", note: e.message });
      if (s && e.type === "step-skipped") Object.assign(s, { state: "skipped", note: e.reason });
      if (e.type === "operation-finished") finished = `${e.result}${e.reason ? `: ${e.reason}` : ""}`;
      draw();
    },
    close() {
      clearInterval(timer);
      draw();
      render.done();
    },
  };
}
