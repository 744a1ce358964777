import { defineCommand } from "../../command.js";
import { diagnose, gatherEvidence, renderFindings } from "../../doctor/index.js";
import { openSession } from "../../operation.js";
import { renderOutput } from "../../ui/output.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS } from "../common.js";

export const command = defineCommand({
  summary: "Find what is wrong (etcd, control plane, nodes, kubelet, pods), with the evidence, the cause and the fix",
  usage: `kubecycle doctor [NODE...] [-o json|yaml|wide]

  The runbook's troubleshooting, automated. Reads, through every node's agent and the Kubernetes API (which may be
  down: the cached inventory is used then): unit states and their last journal lines (kubelet, etcd, the runtime),
  etcd's health, alarms (NOSPACE, CORRUPT), db size against its quota and member list against the recorded one,
  certificate expiry, address drift, clock offset, disk and inode space of the data directories, the node's reach
  to the API servers and etcd peers, nodes NotReady with their conditions, pending kubelet CSRs, and crash-looping
  pods with their last termination reason. Changes nothing.

  Prints each problem with the lines that show it, the likely cause and the command that fixes it, etcd first, then
  the control plane, the nodes, kubelet and the pods (fix them in that order). With NODE, only those nodes' agents
  are asked (the cluster-wide checks still run). Exits 0 when nothing is found, 1 when anything is.

${CLUSTER_HELP}`,
  options: { ...CLUSTER_OPTIONS },
  async run(ctx) {
    const session = await openSession(ctx, ctx.values);
    try {
      const evidence = await gatherEvidence(session, ctx.positionals);
      const findings = diagnose(evidence);
      ctx.stdout.write(
        renderOutput(ctx.output, { cluster: evidence.cluster, findings, evidence }, (wide) =>
          renderFindings(evidence, findings, wide),
        ),
      );
      return findings.length === 0 ? 0 : 1;
    } finally {
      session.close();
    }
  },
});
