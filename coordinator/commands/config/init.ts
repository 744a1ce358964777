import { X509Certificate } from "node:crypto";
import { access, mkdir, readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { stringify } from "yaml";
import { KubecycleError, roleFromSubject, writeFileDurably } from "../../../shared/index.js";
import { UsageError, defineCommand, noArgs } from "../../command.js";
import { compileCoordinatorConfig, configSearchPath } from "../../config.js";
import { loadKubeconfig } from "../../kube/index.js";
import { renderOutput } from "../../ui/output.js";

export const command = defineCommand({
  summary: "Write a coordinator config from a kubeconfig and a kubecycle PKI directory",
  usage: `kubecycle config init --pki DIR [flags]

  Writes the config kubecycle then finds without flags (~/.config/kubecycle/config.yaml unless --out says
  otherwise), from the kubeconfig's cluster and the client certificate in DIR/clients/ (the only operator one, or
  --client NAME). Nothing is overwritten without --force.

      --pki DIR           the kubecycle PKI (\`kubecycle pki init --dir DIR\`): DIR/ca.crt, DIR/clients/NAME.crt|.key
      --client NAME       the client certificate to use (default: the only operator certificate in DIR/clients)
      --kubeconfig FILE   the cluster's kubeconfig (default $KUBECONFIG, then ~/.kube/config)
      --context NAME      its context (default its current one)
      --cluster NAME      a name for the cluster (default the kubeconfig's cluster name, as a DNS label)
      --out FILE          where to write it (default ~/.config/kubecycle/config.yaml)
      --force             replace an existing file`,
  options: {
    pki: { type: "string" },
    client: { type: "string" },
    kubeconfig: { type: "string" },
    context: { type: "string" },
    cluster: { type: "string" },
    out: { type: "string" },
    force: { type: "boolean", default: false },
  },
  async run(ctx) {
    noArgs(ctx);
    const { pki, force } = ctx.values;
    if (!pki) throw new UsageError("--pki DIR is required", ctx.name);
    const pkiDir = resolve(pki);
    const client = ctx.values.client ?? (await onlyOperator(pkiDir));
    const tls = {
      ca: join(pkiDir, "ca.crt"),
      cert: join(pkiDir, "clients", `${client}.crt`),
      key: join(pkiDir, "clients", `${client}.key`),
    };
    for (const f of Object.values(tls)) {
      await access(f).catch(() => {
        throw new KubecycleError("CONFIG_INVALID", `${f} does not exist`, {
          hint: `issue it with \`kubecycle pki client ${client} --role operator --dir ${pki}\``,
        });
      });
    }
    const kubeconfigs = ctx.values.kubeconfig
      ? [resolve(ctx.values.kubeconfig)]
      : (ctx.env.KUBECONFIG ?? "")
          .split(":")
          .filter(Boolean)
          .map((p) => resolve(p));
    const kc = loadKubeconfig(kubeconfigs.length ? kubeconfigs : [join(ctx.env.HOME ?? "/root", ".kube", "config")]);
    if (ctx.values.context) kc.setCurrentContext(ctx.values.context);
    const clusterName = ctx.values.cluster ?? dnsLabel(kc.getCurrentCluster()?.name ?? "kubernetes");
    const config = {
      cluster: clusterName,
      ...(kubeconfigs.length === 1 ? { kubeconfig: kubeconfigs[0] } : {}),
      ...(ctx.values.context ? { context: ctx.values.context } : {}),
      agents: { port: 9443, tls },
    };
    const out = resolve(ctx.values.out ?? configSearchPath({ ...ctx.env, KUBECYCLE_CONFIG: "" })[0] ?? "config.yaml");
    // The config must compile as kubecycle will read it, before anything is written.
    compileCoordinatorConfig(config, { source: out, baseDir: dirname(out), env: ctx.env });
    if (!force) {
      const exists = await access(out).then(
        () => true,
        () => false,
      );
      if (exists) {
        throw new KubecycleError("ALREADY_EXISTS", `${out} exists`, {
          hint: "pass --force to replace it, or --out FILE",
        });
      }
    }
    await mkdir(dirname(out), { recursive: true, mode: 0o700 });
    await writeFileDurably(
      out,
      `# kubecycle coordinator config (\`kubecycle config init\`); every key is in the README's "Configuration"\n${stringify(config)}`,
    );
    ctx.stdout.write(renderOutput(ctx.output, { written: out, config }, () => `wrote ${out} (cluster ${clusterName})`));
    return 0;
  },
});

/** The one operator client certificate in the PKI, or a usage error naming the choices. */
async function onlyOperator(pkiDir: string): Promise<string> {
  const dir = join(pkiDir, "clients");
  const names = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(".crt"));
  const operators: string[] = [];
  for (const f of names) {
    const cert = new X509Certificate(await readFile(join(dir, f)));
    const o = cert.subject
      .split("\n")
      .filter((l) => l.startsWith("O="))
      .map((l) => l.slice(2));
    if (roleFromSubject({ O: o }) === "operator") operators.push(f.slice(0, -4));
  }
  if (operators.length === 1 && operators[0]) return operators[0];
  throw new UsageError(
    operators.length === 0
      ? `no operator client certificate in ${dir}: issue one with \`kubecycle pki client NAME --role operator\``
      : `${dir} has several operator certificates (${operators.join(", ")}): choose one with --client`,
    "config init",
  );
}

/** A kubeconfig cluster name as a DNS-1123 label (what the config's `cluster` must be). */
function dnsLabel(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return label || "kubernetes";
}
