// crictl stand-in (lab fixture, never shipped), installed as /usr/local/bin/crictl in every lab node. Talks to the
// containerd stand-in's socket (--runtime-endpoint/-r, $CONTAINER_RUNTIME_ENDPOINT, default
// unix:///run/containerd/containerd.sock) and mimics cri-tools' flags, messages and output shapes for the
// subcommands kubecycle's agent uses: version, pods, ps, stopp, rmp, stop, rm. `-o json` prints what real crictl
// prints (protojson of the CRI message: {"items": [...]} for pods, {"containers": [...]} for ps, int64 as strings).
// Differences: no yaml/go-template output, no --verbose, no image, exec, logs or stats commands.
import { parseArgs } from "node:util";
import {
  DEFAULT_RUNTIME_ENDPOINT,
  RuntimeClient,
  RuntimeError,
  type PodSandbox,
  type RuntimeContainer,
} from "../lib/runtime-client.js";

const out = (s: string): void => {
  process.stdout.write(s);
};
class UsageError extends Error {}

function fatal(msg: string): never {
  process.stderr.write(`time="${new Date().toISOString()}" level=fatal msg=${JSON.stringify(msg)}\n`);
  process.exit(1);
}

function ago(ns: string): string {
  const s = Math.max(0, (Date.now() - Number(BigInt(ns) / 1_000_000n)) / 1000);
  if (s < 1) return "Less than a second ago";
  if (s < 60) return `${Math.floor(s)} seconds ago`;
  if (s < 120) return "About a minute ago";
  if (s < 3600) return `${Math.floor(s / 60)} minutes ago`;
  if (s < 7200) return "About an hour ago";
  return `${Math.floor(s / 3600)} hours ago`;
}

/** Go's tabwriter with crictl's settings (minwidth 20, padding 3). */
function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, Math.max(20 - 3, c.length))));
  return rows
    .map(
      (r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
          .join("")
          .trimEnd() + "\n",
    )
    .join("");
}

const truncate = (id: string): string => id.slice(0, 13);

function labelFilter(values: string[] | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const l of values ?? []) {
    const [k, v, ...rest] = l.split("=");
    if (!k || v === undefined || rest.length > 0) throw new UsageError(`incorrectly specified label: ${l}`);
    labels[k] = v;
  }
  return labels;
}

const matchLabels = (want: Record<string, string>, have: Record<string, string>): boolean =>
  Object.entries(want).every(([k, v]) => have[k] === v);

async function main(argv: string[]): Promise<void> {
  // global flags come before the subcommand
  let endpoint = process.env.CONTAINER_RUNTIME_ENDPOINT || DEFAULT_RUNTIME_ENDPOINT;
  let timeoutS = 2;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] ?? "";
    const next = (): string => argv[++i] ?? "";
    if (a === "-r" || a === "--runtime-endpoint") endpoint = next();
    else if (a.startsWith("--runtime-endpoint=")) endpoint = a.split("=")[1] ?? "";
    else if (a === "-i" || a === "--image-endpoint" || a === "--config" || a === "-c") next();
    else if (a === "-t" || a === "--timeout") timeoutS = Number(next().replace(/s$/, ""));
    else if (a.startsWith("--timeout=")) timeoutS = Number((a.split("=")[1] ?? "2").replace(/s$/, ""));
    else if (a === "-D" || a === "--debug") continue;
    else break;
  }
  const cmd = argv[i];
  const rest = argv.slice(i + 1);
  const rt = new RuntimeClient(endpoint, Math.max(1, timeoutS) * 1000);
  const connect = async (): Promise<void> => {
    try {
      await rt.version();
    } catch (err) {
      fatal(
        `validate service connection: validate CRI v1 runtime API for endpoint "${endpoint}": rpc error: code = Unavailable desc = ${(err as Error).message}`,
      );
    }
  };

  switch (cmd) {
    case "version": {
      await connect();
      const v = await rt.version();
      out(
        `Version:  ${v.version}\nRuntimeName:  ${v.runtimeName}\nRuntimeVersion:  ${v.runtimeVersion}\nRuntimeApiVersion:  ${v.runtimeApiVersion}\n`,
      );
      return;
    }
    case "pods":
    case "sandboxes": {
      const { values } = parseArgs({
        args: rest,
        options: {
          quiet: { type: "boolean", short: "q" },
          output: { type: "string", short: "o", default: "table" },
          state: { type: "string", short: "s" },
          name: { type: "string" },
          namespace: { type: "string" },
          id: { type: "string" },
          label: { type: "string", multiple: true },
          "no-trunc": { type: "boolean" },
          latest: { type: "boolean", short: "l" },
          last: { type: "string" },
        },
      });
      await connect();
      const labels = labelFilter(values.label);
      const state = values.state?.toLowerCase();
      if (state && state !== "ready" && state !== "notready") fatal("--state should be ready or notready");
      let items = (await rt.listPodSandbox()).filter(
        (p) =>
          (!state || p.state === (state === "ready" ? "SANDBOX_READY" : "SANDBOX_NOTREADY")) &&
          (!values.name || new RegExp(values.name).test(p.metadata.name)) &&
          (!values.namespace || new RegExp(values.namespace).test(p.metadata.namespace)) &&
          (!values.id || p.id.startsWith(values.id)) &&
          matchLabels(labels, p.labels),
      );
      items.sort((a, b) => Number(BigInt(b.createdAt) - BigInt(a.createdAt)));
      if (values.latest) items = items.slice(0, 1);
      if (values.last) items = items.slice(0, Number(values.last));
      if (values.output === "json") return out(`${JSON.stringify({ items: items.map(sandboxJson) }, null, 2)}\n`);
      if (values.quiet) return out(items.map((p) => `${p.id}\n`).join(""));
      const trunc = values["no-trunc"] ? (s: string) => s : truncate;
      out(
        table([
          ["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"],
          ...items.map((p) => [
            trunc(p.id),
            ago(p.createdAt),
            p.state === "SANDBOX_READY" ? "Ready" : "NotReady",
            p.metadata.name,
            p.metadata.namespace,
            String(p.metadata.attempt),
            "(default)",
          ]),
        ]),
      );
      return;
    }
    case "ps": {
      const { values } = parseArgs({
        args: rest,
        options: {
          all: { type: "boolean", short: "a" },
          quiet: { type: "boolean", short: "q" },
          output: { type: "string", short: "o", default: "table" },
          state: { type: "string", short: "s" },
          name: { type: "string" },
          pod: { type: "string", short: "p" },
          id: { type: "string" },
          label: { type: "string", multiple: true },
          "no-trunc": { type: "boolean" },
          latest: { type: "boolean", short: "l" },
          last: { type: "string" },
        },
      });
      await connect();
      const labels = labelFilter(values.label);
      const st = values.state ? `CONTAINER_${values.state.toUpperCase()}` : undefined;
      const pods = await rt.listPodSandbox();
      let cs = (await rt.listContainers()).filter(
        (c) =>
          (st ? c.state === st : values.all || c.state === "CONTAINER_RUNNING") &&
          (!values.name || new RegExp(values.name).test(c.metadata.name)) &&
          (!values.pod || c.podSandboxId.startsWith(values.pod)) &&
          (!values.id || c.id.startsWith(values.id)) &&
          matchLabels(labels, c.labels),
      );
      cs.sort((a, b) => Number(BigInt(b.createdAt) - BigInt(a.createdAt)));
      if (values.latest) cs = cs.slice(0, 1);
      if (values.last) cs = cs.slice(0, Number(values.last));
      if (values.output === "json") return out(`${JSON.stringify({ containers: cs.map(containerJson) }, null, 2)}\n`);
      if (values.quiet) return out(cs.map((c) => `${c.id}\n`).join(""));
      const trunc = values["no-trunc"] ? (s: string) => s : truncate;
      out(
        table([
          ["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD"],
          ...cs.map((c) => [
            trunc(c.id),
            c.image.image,
            ago(c.createdAt),
            c.state.replace("CONTAINER_", "").replace(/^(.)(.*)$/, (_m, a: string, b: string) => a + b.toLowerCase()),
            c.metadata.name,
            String(c.metadata.attempt),
            trunc(c.podSandboxId),
            pods.find((p) => p.id === c.podSandboxId)?.metadata.name ?? "unknown",
          ]),
        ]),
      );
      return;
    }
    case "stopp": {
      const { positionals } = parseArgs({ args: rest, options: {}, allowPositionals: true });
      if (positionals.length === 0) throw new UsageError("ID cannot be empty");
      await connect();
      for (const id of positionals) {
        try {
          await rt.stopPodSandbox(id);
        } catch (err) {
          fatal(`stopping the pod sandbox "${id}": ${rpcError(err)}`);
        }
        out(`Stopped sandbox ${id}\n`);
      }
      return;
    }
    case "rmp": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { force: { type: "boolean", short: "f" }, all: { type: "boolean", short: "a" } },
        allowPositionals: true,
      });
      await connect();
      const pods = await rt.listPodSandbox();
      const ids = values.all ? pods.map((p) => p.id) : positionals;
      if (ids.length === 0) throw new UsageError("ID cannot be empty");
      for (const id of ids) {
        const p = pods.filter((x) => x.id.startsWith(id));
        if (p.length === 1 && p[0]?.state === "SANDBOX_READY" && !values.force) {
          fatal(`pod sandbox "${id}" is running, please use -f to stop it`);
        }
        try {
          if (values.force) await rt.stopPodSandbox(id);
          await rt.removePodSandbox(id);
        } catch (err) {
          fatal(`removing the pod sandbox "${id}": ${rpcError(err)}`);
        }
        out(`Removed sandbox ${id}\n`);
      }
      return;
    }
    case "stop": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { timeout: { type: "string", short: "t", default: "0" } },
        allowPositionals: true,
      });
      if (positionals.length === 0) throw new UsageError("ID cannot be empty");
      await connect();
      for (const id of positionals) {
        try {
          await rt.stopContainer(id, Number(values.timeout));
        } catch (err) {
          fatal(`stopping the container "${id}": ${rpcError(err)}`);
        }
        out(`${id}\n`);
      }
      return;
    }
    case "rm": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { force: { type: "boolean", short: "f" }, all: { type: "boolean", short: "a" } },
        allowPositionals: true,
      });
      await connect();
      const cs = await rt.listContainers();
      const ids = values.all ? cs.map((c) => c.id) : positionals;
      if (ids.length === 0) throw new UsageError("ID cannot be empty");
      for (const id of ids) {
        const c = cs.filter((x) => x.id.startsWith(id));
        if (c.length === 1 && c[0]?.state === "CONTAINER_RUNNING" && !values.force) {
          fatal(`removing container "${id}": container "${id}" is running, please stop it first`);
        }
        try {
          await rt.removeContainer(id);
        } catch (err) {
          fatal(`removing container "${id}": ${rpcError(err)}`);
        }
        out(`${id}\n`);
      }
      return;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      out(
        "NAME:\n   crictl - client for CRI (kubecycle lab stand-in)\n\nCOMMANDS:\n   version, pods, ps, stopp, rmp, stop, rm\n",
      );
      return;
    default:
      throw new UsageError(`No help topic for '${cmd}'`);
  }
}

function rpcError(err: unknown): string {
  if (err instanceof RuntimeError) return `rpc error: code = ${err.code} desc = ${err.message}`;
  return String(err);
}

/** ListPodSandbox item as protojson prints it (fields in proto order). */
function sandboxJson(p: PodSandbox): unknown {
  return {
    id: p.id,
    metadata: p.metadata,
    state: p.state,
    createdAt: p.createdAt,
    labels: p.labels,
    annotations: p.annotations,
    runtimeHandler: p.runtimeHandler,
  };
}

/** ListContainers item as protojson prints it. */
function containerJson(c: RuntimeContainer): unknown {
  return {
    id: c.id,
    podSandboxId: c.podSandboxId,
    metadata: c.metadata,
    image: { image: c.image.image, annotations: {}, userSpecifiedImage: "", runtimeHandler: "" },
    imageRef: c.imageRef,
    state: c.state,
    createdAt: c.createdAt,
    labels: c.labels,
    annotations: c.annotations,
  };
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(
      `time="${new Date().toISOString()}" level=fatal msg=${JSON.stringify((err as Error).message)}\n`,
    );
    process.exit(1);
  }
  fatal(String((err as Error).message ?? err));
});
