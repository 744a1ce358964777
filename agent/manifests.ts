import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";

/** One static pod manifest, as much of it as the agent reads. */
export interface StaticPod {
  /** The manifest's path. */
  file: string;
  /** metadata.labels.component (kubeadm sets it on every control-plane pod), else metadata.name. */
  component: string;
  name: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** Each container's command followed by its args. */
  containers: ReadonlyArray<{ name: string; argv: readonly string[] }>;
}

// The kubelet reads any file in the directory; one that large is not a pod manifest.
const MAX_MANIFEST_BYTES = 1024 * 1024;

const strings = (v: unknown): string[] =>
  Array.isArray(v)
    ? v.filter((x): x is string | number => typeof x === "string" || typeof x === "number").map(String)
    : [];

const record = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** Parses a static pod manifest (YAML or JSON, as the kubelet accepts); throws when it is not a Pod. */
export function parseStaticPod(text: string, file: string): StaticPod {
  const doc = record(parse(text, { maxAliasCount: 50 }) as unknown);
  if (doc.kind !== "Pod") throw new Error(`${file}: not a Pod manifest (kind ${JSON.stringify(doc.kind ?? null)})`);
  const metadata = record(doc.metadata);
  const labels = Object.fromEntries(
    Object.entries(record(metadata.labels)).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
  const name = typeof metadata.name === "string" ? metadata.name : "";
  const containers = (Array.isArray(record(doc.spec).containers) ? (record(doc.spec).containers as unknown[]) : []).map(
    (c) => {
      const r = record(c);
      return { name: typeof r.name === "string" ? r.name : "", argv: [...strings(r.command), ...strings(r.args)] };
    },
  );
  return {
    file,
    component: labels.component ?? name,
    name,
    namespace: typeof metadata.namespace === "string" ? metadata.namespace : "",
    labels,
    containers,
  };
}

/**
 * The value of `--flag` on a command line, written `--flag=value` or `--flag value`; the last one wins, as with Go's
 * flag package. Undefined when the flag is absent.
 */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  let found: string | undefined;
  const long = `--${flag}`;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    // Go's flag package also takes a single dash.
    const bare = a.startsWith("--") ? a : a.startsWith("-") ? `-${a}` : "";
    if (bare.startsWith(`${long}=`)) found = bare.slice(long.length + 1);
    else if (bare === long && i + 1 < argv.length && !(argv[i + 1] ?? "").startsWith("-")) found = argv[++i];
  }
  return found;
}

/** The command line of the container that runs the pod's component: the one named like it, else the first. */
export function componentArgv(pod: StaticPod): readonly string[] {
  return (pod.containers.find((c) => c.name === pod.component) ?? pod.containers[0])?.argv ?? [];
}

/** What a read of the manifest directory found: the pods, and the files that are not readable pods. */
export interface StaticPods {
  pods: StaticPod[];
  errors: string[];
}

/**
 * Reads the kubelet's static pod manifests. A manifest is parsed again only when its size or modification time
 * changed, so asking often (every etcd status) costs a stat per file.
 */
export class StaticPodReader {
  readonly #dir: string;
  readonly #cache = new Map<string, { key: string; pod?: StaticPod; error?: string }>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  get dir(): string {
    return this.#dir;
  }

  async read(): Promise<StaticPods> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (err) {
      // No manifest directory: a node without static pods (a KubeKey worker, a node without Kubernetes).
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { pods: [], errors: [] };
      return { pods: [], errors: [`${this.#dir}: ${(err as Error).message}`] };
    }
    // The kubelet ignores hidden files (editors' and kubeadm's temporary copies).
    const files = names
      .filter((n) => !n.startsWith("."))
      .sort()
      .map((n) => join(this.#dir, n));
    for (const cached of this.#cache.keys()) if (!files.includes(cached)) this.#cache.delete(cached);
    const read = await Promise.all(files.map((f) => this.#one(f)));
    const pods: StaticPod[] = [];
    const errors: string[] = [];
    for (const r of read) {
      if (r?.pod) pods.push(r.pod);
      else if (r?.error) errors.push(r.error);
    }
    return { pods, errors };
  }

  async #one(file: string): Promise<{ pod?: StaticPod; error?: string } | undefined> {
    try {
      const st = await stat(file);
      if (!st.isFile()) return undefined;
      const key = `${st.size}:${st.mtimeMs}`;
      const hit = this.#cache.get(file);
      if (hit?.key === key) return hit;
      let entry: { key: string; pod?: StaticPod; error?: string };
      if (st.size > MAX_MANIFEST_BYTES) {
        entry = { key, error: `${file}: ${st.size} bytes, too large for a pod manifest` };
      } else {
        try {
          entry = { key, pod: parseStaticPod(await readFile(file, "utf8"), file) };
        } catch (err) {
          entry = { key, error: `${file}: ${(err as Error).message.split("\n")[0] ?? ""}` };
        }
      }
      this.#cache.set(file, entry);
      return entry;
    } catch (err) {
      this.#cache.delete(file);
      // Removed between the listing and the read: it is not there.
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      return { error: `${file}: ${(err as Error).message}` };
    }
  }
}
