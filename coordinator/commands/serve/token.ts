import { userInfo } from "node:os";
import { KubecycleError } from "../../../shared/index.js";
import { defineCommand, noArgs } from "../../command.js";
import { loadCoordinatorConfig } from "../../config.js";
import { DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS, rotateTokenKey, signToken, tokenKey } from "../../serve/page/index.js";
import { renderOutput } from "../../ui/output.js";
import { CLUSTER_HELP, CLUSTER_OPTIONS, formatDuration, parseDuration } from "../common.js";

export const command = defineCommand({
  summary: "Print a short-lived link to the status page, for a browser without a client certificate",
  usage: `kubecycle serve token [--ttl 1h] [--name NAME] [--revoke]

  Prints a link to kubecycle serve's status page that opens it read-only, as a viewer, until it expires: for a
  phone or a shared screen that has no client certificate. Run it on the admin host, as serve's user: the token
  is signed with a key in serve's state directory (<stateDir>/serve/page-token.key), and serve checks it there.
  Anyone holding the link sees the page until then: give it to whom you would give a viewer's certificate.

  --ttl DURATION   how long the link works (default ${formatDuration(DEFAULT_TOKEN_TTL_MS)}, at most ${formatDuration(MAX_TOKEN_TTL_MS)})
  --name NAME      who it is for, shown on the page and in serve's log (default your user name)
  --revoke         replace the key first: every link printed before stops working at once

${CLUSTER_HELP}`,
  options: {
    ...CLUSTER_OPTIONS,
    ttl: { type: "string" },
    name: { type: "string" },
    revoke: { type: "boolean", default: false },
  },
  async run(ctx) {
    noArgs(ctx);
    const config = await loadCoordinatorConfig(ctx.values, ctx.env);
    const page = config.serve?.page;
    if (!page) {
      throw new KubecycleError("CONFIG_INVALID", `${config.source}: serve.page: the status page is off`, {
        field: "serve.page",
        hint: "add a serve block to the config (serve.page.port 0 turns the page off)",
      });
    }
    const ttlMs =
      parseDuration(ctx, "--ttl", ctx.values.ttl, { minMs: 60_000, maxMs: MAX_TOKEN_TTL_MS }) ?? DEFAULT_TOKEN_TTL_MS;
    if (ctx.values.revoke) {
      await rotateTokenKey(config.stateDir);
      ctx.stderr.write("the page token key was replaced: every earlier link no longer opens the page\n");
    }
    const name = ctx.values.name ?? safeUser();
    const now = Date.now();
    const token = signToken(await tokenKey(config.stateDir), name, ttlMs, now);
    const url = `${page.url}/login?token=${token}`;
    const expiresAt = new Date(Math.floor((now + ttlMs) / 1000) * 1000).toISOString();
    ctx.stdout.write(
      renderOutput(ctx.output, { url, token, name, expiresAt }, () =>
        [url, `valid until ${expiresAt} for ${name} (read-only, as a viewer)`].join("\n"),
      ),
    );
    return 0;
  },
});

function safeUser(): string {
  try {
    const u = userInfo()
      .username.replace(/[^A-Za-z0-9._@-]/g, "-")
      .slice(0, 64);
    return u || "token";
  } catch {
    return "token";
  }
}
