import { defineCommand } from "../../command.js";
import {
  expiryState,
  listPki,
  renewCa,
  renewCertificate,
  resolveLeaf,
  rolloutSteps,
  type Renewed,
  type RenewedCa,
} from "../../pki/index.js";
import { renderOutput } from "../../ui/output.js";
import { parseDuration } from "../common.js";
import { parseDays } from "./common.js";

export const command = defineCommand({
  summary: "Re-issue agent and client certificates (and the CA, with its own key) before they expire",
  usage: `kubecycle pki renew [NAME...] [--dir DIR] [--days N] [--window DUR]

  Re-issues each certificate from the same CA: the same subject, names, addresses and role, a new key, a new
  validity. The old files are kept in DIR/agents/old/ or DIR/clients/old/ (CA: DIR/old/); the new ones replace
  them atomically. Prints how to roll each one out: an agent reloads its new certificate by itself once it is
  copied to its node (it watches the files; SIGHUP does it at once), without a restart.

  NAME          agents/NODE, clients/NAME, a bare NODE or NAME (when only one of the two has it), or ca
                (the CA is renewed with its own key and subject, so every certificate it issued stays valid)
                Without NAME: every certificate that expires within --window (the CA first).
  --dir DIR     where the PKI lives (default ./pki)
  --days N      validity of the new certificates in days (default: the old certificate's validity period);
                for the CA only when it is renewed alone
  --window DUR  without NAME, what expires within this long is renewed (default 30d)

  Refuses, changing nothing, when the CA expires before the new certificate would: renew the CA first
  (\`kubecycle pki renew ca\`) or ask for fewer --days.`,
  options: {
    dir: { type: "string", default: "./pki" },
    days: { type: "string" },
    window: { type: "string" },
  },
  async run(ctx) {
    const { dir } = ctx.values;
    const days = parseDays(ctx, ctx.values.days);
    let names = ctx.positionals;
    if (names.length === 0) {
      const windowMs =
        parseDuration(ctx, "--window", ctx.values.window, { minMs: 0, maxMs: 36500 * 86_400_000 }) ?? 30 * 86_400_000;
      const now = Date.now();
      names = (await listPki(dir))
        .filter((c) => c.kind === "ca" || c.kind === "agent" || c.kind === "client")
        .filter((c) => ["expiring", "expired"].includes(expiryState(c, now, windowMs)))
        .map((c) => c.name);
      if (names.length === 0) {
        ctx.stdout.write(
          renderOutput(
            ctx.output,
            { renewed: [] },
            () =>
              `nothing in ${dir} expires within ${ctx.values.window ?? "30d"}; name certificates to renew them anyway`,
          ),
        );
        return 0;
      }
    } else {
      // Every name must resolve before anything is renewed.
      for (const name of names) if (name !== "ca") await resolveLeaf(dir, name);
    }
    // The CA first: the others must fit inside its validity.
    names = [...new Set(names)].sort((a, b) => Number(b === "ca") - Number(a === "ca"));
    const done: Array<Renewed | RenewedCa> = [];
    for (const name of names) {
      // --days is for the CA only when it is renewed alone: a CA that ends with its leaves would strand them.
      const r =
        name === "ca"
          ? await renewCa(dir, { days: names.length === 1 ? days : undefined })
          : await renewCertificate(dir, name, { days });
      done.push(r);
      if (ctx.output === "table" || ctx.output === "wide") {
        ctx.stdout.write(
          [
            `renewed ${r.name} (${r.commonName}): valid until ${r.notAfter.slice(0, 10)} (was ${r.oldNotAfter.slice(0, 10)})`,
            `  wrote ${Object.values(r.files).join(", ")}; the old kept in ${Object.values(r.aside).join(", ")}`,
            ...rolloutSteps(r).map((l) => `  ${l}`),
            "",
          ].join("\n"),
        );
      }
    }
    if (ctx.output === "json" || ctx.output === "yaml") {
      ctx.stdout.write(
        renderOutput(ctx.output, { renewed: done.map((r) => ({ ...r, rollout: rolloutSteps(r) })) }, () => ""),
      );
    }
    return 0;
  },
});
