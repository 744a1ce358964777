import { UsageError, defineCommand, singleArg } from "../../command.js";
import { issueAgentCert } from "../../pki/index.js";
import { PKI_OPTIONS, parseDays, printWritten } from "./common.js";

export const command = defineCommand({
  summary: "Issue a node agent's certificate (server, and client of the coordinator)",
  usage: `kubecycle pki agent NODE --ip IP [--ip IP...] [--dns NAME...] [--dir DIR] [--days N] [--force]

  NODE          the Kubernetes node name; writes DIR/agents/NODE.crt and NODE.key
  --ip IP       an address the coordinator dials the agent on; repeat for more
  --dns NAME    another DNS name for the agent; repeat for more
  --dir DIR     where the PKI lives (default ./pki)
  --days N      validity in days (default 365)
  --force       replace an existing certificate`,
  options: { ...PKI_OPTIONS, ip: { type: "string", multiple: true }, dns: { type: "string", multiple: true } },
  async run(ctx) {
    const node = singleArg(ctx, "NODE");
    const { dir, ip = [], dns = [], force } = ctx.values;
    if (ip.length === 0) throw new UsageError("at least one --ip is required", ctx.name);
    const days = parseDays(ctx, ctx.values.days);
    printWritten(ctx, await issueAgentCert(dir, { node, ips: ip, dnsNames: dns, days, force }));
    return 0;
  },
});
