import { ROLE_ORGANIZATIONS } from "../../../shared/index.js";
import { UsageError, defineCommand, singleArg } from "../../command.js";
import { issueClientCert } from "../../pki/index.js";
import { PKI_OPTIONS, parseDays, printWritten } from "./common.js";

const ROLES = [...new Set(Object.values(ROLE_ORGANIZATIONS))];

export const command = defineCommand({
  summary: "Issue a client certificate for an operator (may change things) or a viewer (may only read)",
  usage: `kubecycle pki client NAME --role operator|viewer [--dir DIR] [--days N] [--force]

  NAME          who holds it, as agents log it; writes DIR/clients/NAME.crt and NAME.key
  --role ROLE   operator or viewer
  --dir DIR     where the PKI lives (default ./pki)
  --days N      validity in days (default 365)
  --force       replace an existing certificate`,
  options: { ...PKI_OPTIONS, role: { type: "string" } },
  async run(ctx) {
    const name = singleArg(ctx, "NAME");
    const { dir, role: given, force } = ctx.values;
    const role = ROLES.find((r) => r === given);
    if (role === undefined) {
      const got = given === undefined ? "is required" : `must be ${ROLES.join(" or ")}, not "${given}"`;
      throw new UsageError(`--role ${got}`, ctx.name);
    }
    printWritten(ctx, await issueClientCert(dir, { name, role, days: parseDays(ctx, ctx.values.days), force }));
    return 0;
  },
});
