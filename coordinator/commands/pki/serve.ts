import { defineCommand, singleArg } from "../../command.js";
import { issueServeCert } from "../../pki/index.js";
import { PKI_OPTIONS, parseDays, printWritten } from "./common.js";

export const command = defineCommand({
  summary: "Issue kubecycle serve's certificate (the agents send their boot reports to it)",
  usage: `kubecycle pki serve NAME [--ip IP...] [--dns NAME...] [--dir DIR] [--days N] [--force]

  NAME          the admin host's name; writes DIR/serve/NAME.crt and NAME.key (O=kubecycle:serve)
  --ip IP       an address the agents dial serve on; repeat for more
  --dns NAME    another DNS name the agents dial serve by; repeat for more
  --dir DIR     where the PKI lives (default ./pki)
  --days N      validity in days (default 365)
  --force       replace an existing certificate`,
  options: { ...PKI_OPTIONS, ip: { type: "string", multiple: true }, dns: { type: "string", multiple: true } },
  async run(ctx) {
    const name = singleArg(ctx, "NAME");
    const { dir, ip = [], dns = [], force } = ctx.values;
    const days = parseDays(ctx, ctx.values.days);
    printWritten(ctx, await issueServeCert(dir, { name, ips: ip, dnsNames: dns, days, force }));
    return 0;
  },
});
