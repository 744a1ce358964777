import { defineCommand, noArgs } from "../../command.js";
import { createCa } from "../../pki/index.js";
import { PKI_OPTIONS, parseDays, printWritten } from "./common.js";

export const command = defineCommand({
  summary: "Create the certificate authority that agents and clients trust",
  usage: `kubecycle pki init [--dir DIR] [--cn NAME] [--days N] [--force]

  --dir DIR     where the PKI lives (default ./pki); writes DIR/ca.crt and DIR/ca.key
  --cn NAME     the CA's common name (default kubecycle-ca)
  --days N      validity in days (default 3650)
  --force       replace an existing CA: certificates it issued are no longer trusted`,
  options: { ...PKI_OPTIONS, cn: { type: "string" } },
  async run(ctx) {
    noArgs(ctx);
    const { dir, cn, force } = ctx.values;
    printWritten(ctx, await createCa(dir, { commonName: cn, days: parseDays(ctx, ctx.values.days), force }));
    return 0;
  },
});
