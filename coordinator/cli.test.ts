import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { KubecycleError } from "../shared/index.js";
import { COMMANDS, GLOBAL_OPTIONS, VALUE_FLAGS } from "./cli.js";
import { UsageError } from "./command.js";
import { EXIT, main, reportError } from "./main.js";

function capture() {
  const out = { stdout: "", stderr: "" };
  const io = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env: {},
  };
  return { io, out };
}

async function kubecycle(...argv: string[]) {
  const { io, out } = capture();
  const code = await main(argv, io);
  return { code, ...out };
}

describe("the command registry", () => {
  it.each(Object.entries(COMMANDS))(
    "%s loads, documents itself and keeps off the global flags",
    async (name, load) => {
      const { command } = await load();
      expect(command.summary).not.toBe("");
      expect(command.usage.startsWith(`kubecycle ${name}`)).toBe(true);
      for (const option of Object.keys(command.options)) {
        expect(Object.keys(GLOBAL_OPTIONS)).not.toContain(option);
      }
      // The first command that loads @kubernetes/client-node takes seconds on a busy machine.
    },
    30_000,
  );
});

describe("help", () => {
  it("lists every command at the top level", async () => {
    const r = await kubecycle("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("kubecycle <noun> <verb>");
    for (const name of Object.keys(COMMANDS)) expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
    expect(r.stdout).toContain("-o, --output");
  });

  it("lists a noun's verbs", async () => {
    const r = await kubecycle("pki", "-h");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("kubecycle pki <verb>");
    expect(r.stdout).toMatch(/^ {2}pki agent +Issue/m);
  });

  it("shows a command's usage, even next to a flag it would reject", async () => {
    const r = await kubecycle("pki", "agent", "--help", "--bogus");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("kubecycle pki agent NODE --ip IP");
    expect(r.stdout).toContain("--dns NAME");
    expect(r.stderr).toBe("");
  });

  it("prints its version (package.json's) with --version, and lists the flag", async () => {
    const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    const r = await kubecycle("--version");
    expect(r).toEqual({ code: 0, stdout: `kubecycle ${pkg.version}\n`, stderr: "" });
    expect((await kubecycle("--help")).stdout).toContain("--version");
  });

  it("shows what it can do when given no command", async () => {
    const r = await kubecycle();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("kubecycle <noun> <verb>");
    expect(r.stderr).toBe("");
  });
});

describe("flags", () => {
  it("knows every flag that takes a value, so flags may stand anywhere on the line", async () => {
    const declared = new Set<string>();
    const add = (opts: Record<string, { type: string; short?: string }>) => {
      for (const [name, o] of Object.entries(opts)) {
        if (o.type !== "string") continue;
        declared.add(name);
        if (o.short) declared.add(o.short);
      }
    };
    add(GLOBAL_OPTIONS);
    for (const load of Object.values(COMMANDS)) add((await load()).command.options);
    expect([...VALUE_FLAGS].sort()).toEqual([...declared].sort());
  }, 30_000);

  it.each([
    [["-o", "json", "pki", "init", "--dir", "D"]],
    [["pki", "-o=json", "init", "--dir", "D"]],
    [["--dir", "D", "pki", "init", "--output=json"]],
    [["pki", "--dir", "D", "init", "-ojson"]],
  ])("finds the command and its flags in %j", async (argv) => {
    const dir = await mkdtemp(join(tmpdir(), "kc-cli-"));
    try {
      const r = await kubecycle(...argv.map((a) => (a === "D" ? join(dir, "pki") : a)));
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ cert: expect.stringMatching(/ca\.crt$/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a log level it does not know, naming the ones it does", async () => {
    const r = await kubecycle("pki", "init", "--log-level", "loud");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--log-level must be one of fatal, error, warn, info, debug, trace");
  });
});

describe("usage errors", () => {
  it.each([
    [["pki", "int"], 'unknown command "pki int"; did you mean "pki init"?', "kubecycle pki --help"],
    [["pky", "agent"], 'unknown command "pky agent"; did you mean "pki agent"?', "kubecycle --help"],
    [
      ["pki", "rotate"],
      'unknown command "pki rotate"; "pki" has: init, agent, client, serve, check, renew',
      "kubecycle pki --help",
    ],
    [["frobnicate"], 'unknown command "frobnicate"', "kubecycle --help"],
    [["pki"], '"pki" needs a verb: init, agent, client, serve, check, renew', "kubecycle pki --help"],
    [["pki", "init", "--bogus"], "Unknown option '--bogus'", "kubecycle pki init --help"],
    [["pki", "init", "extra"], 'unexpected argument "extra"', "kubecycle pki init --help"],
    [["pki", "agent", "--ip", "10.0.0.1"], "missing NODE", "kubecycle pki agent --help"],
    [["pki", "agent", "n1"], "at least one --ip is required", "kubecycle pki agent --help"],
    [["pki", "client", "alice"], "--role is required", "kubecycle pki client --help"],
    [
      ["pki", "client", "alice", "--role", "admin"],
      '--role must be operator or viewer, not "admin"',
      "kubecycle pki client --help",
    ],
    [["pki", "init", "--days", "ten"], '--days must be a whole number of days, not "ten"', "kubecycle pki init --help"],
    [
      ["pki", "init", "-o", "xml"],
      '--output must be one of table, wide, json, yaml, not "xml"',
      "kubecycle pki init --help",
    ],
  ])("kubecycle %j", async (argv, message, help) => {
    const r = await kubecycle(...argv);
    expect(r.code).toBe(EXIT.USER);
    expect(r.stderr).toContain(`error: ${message}`);
    expect(r.stderr).toContain(`  hint: run \`${help}\` for usage`);
    expect(r.stdout).toBe("");
  });
});

describe("kubecycle pki", () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "kubecycle-cli-")), "pki");
  });
  afterEach(async () => {
    await rm(join(dir, ".."), { recursive: true, force: true });
  });

  it("creates a CA, an agent and a client certificate, and says what it wrote", async () => {
    const init = await kubecycle("pki", "init", "--dir", dir, "--cn", "lab ca", "--days", "400");
    expect(init).toEqual({
      code: 0,
      stdout: `wrote ${join(dir, "ca.crt")}\nwrote ${join(dir, "ca.key")}\n`,
      stderr: "",
    });

    const agent = await kubecycle(
      ...["-o", "json", "pki", "agent", "n1", "--ip", "10.0.0.1", "--ip", "10.0.1.1", "--dns", "n1.lab", "--dir", dir],
    );
    expect(agent.code).toBe(0);
    const files: unknown = JSON.parse(agent.stdout);
    expect(files).toEqual({ cert: join(dir, "agents", "n1.crt"), key: join(dir, "agents", "n1.key") });
    const cert = new X509Certificate(await readFile(join(dir, "agents", "n1.crt")));
    expect(cert.subjectAltName).toBe("DNS:n1, DNS:n1.lab, IP Address:10.0.0.1, IP Address:10.0.1.1");
    expect(cert.issuer).toBe("CN=lab ca\nO=kubecycle");

    const client = await kubecycle("pki", "client", "bob", "--role", "viewer", "--dir", dir, "-o", "yaml");
    expect(client.code).toBe(0);
    expect(parseYaml(client.stdout)).toEqual({
      cert: join(dir, "clients", "bob.crt"),
      key: join(dir, "clients", "bob.key"),
    });
    expect((await stat(join(dir, "clients", "bob.key"))).mode & 0o777).toBe(0o600);
  });

  it("maps a refused overwrite to exit 2 with the way out", async () => {
    expect((await kubecycle("pki", "init", "--dir", dir)).code).toBe(0);
    const again = await kubecycle("pki", "init", "--dir", dir);
    expect(again).toEqual({
      code: 2,
      stdout: "",
      stderr: `error: ${join(dir, "ca.crt")} already exists\n  hint: pass --force to replace it\n`,
    });
    expect((await kubecycle("pki", "init", "--dir", dir, "--force")).code).toBe(0);
  });

  it("maps issuing without a CA to exit 2 pointing at pki init", async () => {
    const r = await kubecycle("pki", "client", "alice", "--role", "operator", "--dir", dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: no CA in .*\n {2}hint: run `kubecycle pki init` first/);
  });

  it("maps a bad IP to exit 2", async () => {
    await kubecycle("pki", "init", "--dir", dir);
    const r = await kubecycle("pki", "agent", "n1", "--ip", "10.0.0.300", "--dir", dir);
    expect(r).toMatchObject({ code: 2, stderr: 'error: "10.0.0.300" is not an IP address\n' });
  });
});

describe("kubecycle config init", () => {
  it("writes a config kubecycle then finds and reads, from a kubeconfig and the PKI's operator certificate", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kc-config-init-"));
    try {
      const pki = join(dir, "pki");
      expect((await kubecycle("pki", "init", "--dir", pki)).code).toBe(0);
      expect((await kubecycle("pki", "client", "alice", "--role", "operator", "--dir", pki)).code).toBe(0);
      expect((await kubecycle("pki", "client", "grafana", "--role", "viewer", "--dir", pki)).code).toBe(0);
      const kubeconfig = join(dir, "admin.conf");
      await writeFile(
        kubeconfig,
        stringifyYaml({
          apiVersion: "v1",
          clusters: [{ name: "Prod_East", cluster: { server: "https://10.0.0.1:6443" } }],
          users: [{ name: "admin", user: { token: "t" } }],
          contexts: [{ name: "prod", context: { cluster: "Prod_East", user: "admin" } }],
          "current-context": "prod",
        }),
      );
      const out = join(dir, "home", ".config", "kubecycle", "config.yaml");
      const r = await kubecycle("config", "init", "--pki", pki, "--kubeconfig", kubeconfig, "--out", out);
      expect(r.code, r.stderr).toBe(0);
      const written = parseYaml(await readFile(out, "utf8")) as Record<string, unknown>;
      expect(written).toMatchObject({
        cluster: "prod-east",
        kubeconfig,
        agents: { tls: { ca: join(pki, "ca.crt"), cert: join(pki, "clients", "alice.crt") } },
      });
      // Found without a flag, where kubecycle looks.
      const { loadCoordinatorConfig } = await import("./config.js");
      expect((await loadCoordinatorConfig({}, { HOME: join(dir, "home") })).cluster).toBe("prod-east");
      const again = await kubecycle("config", "init", "--pki", pki, "--kubeconfig", kubeconfig, "--out", out);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain("--force");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("reportError", () => {
  function report(err: unknown) {
    const { io, out } = capture();
    return { code: reportError(err, io.stderr), stderr: out.stderr };
  }

  it("gives a user error one sentence, its hint and exit 2", () => {
    const err = new KubecycleError("PKI_FAILED", "no CA in ./pki", { hint: "run `kubecycle pki init` first" });
    expect(report(err)).toEqual({ code: 2, stderr: "error: no CA in ./pki\n  hint: run `kubecycle pki init` first\n" });
  });

  it("gives a fault outside kubecycle its message and exit 1", () => {
    const err = new KubecycleError("NODE_UNREACHABLE", "n1: GetStatus: connection refused", { node: "n1" });
    expect(report(err)).toEqual({ code: 1, stderr: "error: n1: GetStatus: connection refused\n" });
  });

  it("gives a procedure refused before it changed anything exit 2, whatever the cause", () => {
    const err = new KubecycleError("NODE_UNREACHABLE", "cluster stop kclab refused at preflight/check-agent/w1", {
      refused: true,
    });
    expect(report(err).code).toBe(2);
  });

  it("gives a usage error exit 2 and the help to read", () => {
    expect(report(new UsageError("missing NODE", "pki agent"))).toEqual({
      code: 2,
      stderr: "error: missing NODE\n  hint: run `kubecycle pki agent --help` for usage\n",
    });
  });

  it.each([
    ["a TypeError", new TypeError("cannot read properties of undefined"), "TypeError: cannot read properties"],
    ["an INTERNAL error", new KubecycleError("INTERNAL", "impossible state"), "KubecycleError: impossible state"],
    ["a thrown string", "oops", "'oops'"],
  ])("calls %s a bug, with its stack, and exits 70", (_, err, shown) => {
    const r = report(err);
    expect(r.code).toBe(70);
    expect(r.stderr.startsWith("kubecycle: this is a bug, please report it\n")).toBe(true);
    expect(r.stderr).toContain(shown);
    if (err instanceof Error) expect(r.stderr).toContain("cli.test.ts"); // the stack
  });

  it("is what main returns when a command throws a bug", async () => {
    const { io, out } = capture();
    const broken = {
      ...io,
      stdout: {
        write: () => {
          throw new RangeError("stdout exploded");
        },
      },
    };
    expect(await main(["pki", "--help"], broken)).toBe(70);
    expect(out.stderr).toContain("RangeError: stdout exploded");
  });
});

describe("main.ts", () => {
  it("is an executable node script", async () => {
    const first = (await readFile(new URL("./main.ts", import.meta.url), "utf8")).split("\n")[0];
    expect(first).toBe("#!/usr/bin/env node");
  });
});

describe("kubecycle completion", () => {
  /** What bash completes for the words typed, with the script `kubecycle completion bash` prints. */
  async function complete(script: string, ...words: string[]): Promise<string[]> {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const line = words.map((w) => `'${w}'`).join(" ");
    const program = `${script}\nCOMP_WORDS=(kubecycle ${line}); COMP_CWORD=${words.length}; _kubecycle; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { stdout } = await promisify(execFile)("bash", ["-c", program]);
    return stdout.split("\n").filter(Boolean).sort();
  }

  it("completes nouns, verbs and each command's flags in bash", async () => {
    const r = await kubecycle("completion", "bash");
    expect(r.code, r.stderr).toBe(0);
    expect(await complete(r.stdout, "clu")).toEqual(["cluster"]);
    expect(await complete(r.stdout, "node", "st")).toEqual(["start", "stop"]);
    expect(await complete(r.stdout, "node", "stop", "w1", "--dr")).toEqual(["--drain-timeout", "--dry-run"]);
    expect(await complete(r.stdout, "-o", "json", "status", "--o")).toEqual(["--output"]);
  });

  it("prints zsh and fish scripts, and refuses another shell", async () => {
    expect((await kubecycle("completion", "zsh")).stdout).toContain("bashcompinit");
    expect((await kubecycle("completion", "fish")).stdout).toContain("complete -c kubecycle -n __fish_use_subcommand");
    const r = await kubecycle("completion", "tcsh");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("SHELL must be one of bash, zsh, fish");
  });
});
