// The human view of doctor's findings: numbered, in the order to fix them, each with its evidence, cause and fix.
import type { Evidence } from "./evidence.js";
import type { Finding } from "./findings.js";

/** The findings for a terminal; `wide` adds what was asked and what could not be read. */
export function renderFindings(ev: Evidence, findings: readonly Finding[], wide: boolean): string {
  const lines: string[] = [];
  const scope = `${ev.scope.length} node(s)${ev.api.reachable ? "" : ", API down (cached inventory)"}`;
  if (findings.length === 0) {
    lines.push(`No problem found in cluster ${ev.cluster} (${scope}).`);
  } else {
    lines.push(`${findings.length} problem(s) in cluster ${ev.cluster} (${scope}), in the order to fix them:`);
  }
  findings.forEach((f, i) => {
    lines.push("");
    lines.push(`${i + 1}. [${f.layer}] ${f.severity === "error" ? "ERROR" : "WARNING"} ${f.what}  (${f.code})`);
    for (const e of f.evidence) lines.push(`     | ${e}`);
    lines.push(`   cause: ${f.cause}`);
    f.fix.forEach((x, j) => lines.push(`   ${j === 0 ? "fix:  " : "      "} ${x}`));
  });
  if (wide) {
    lines.push("");
    lines.push(`asked: ${ev.scope.join(", ")}; etcd members from ${ev.membersSource}`);
    for (const n of ev.nodes) {
      for (const [rpc, err] of Object.entries(n.errors)) lines.push(`could not read ${rpc} on ${n.name}: ${err}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
