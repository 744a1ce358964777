// kubecycle serve's status page in a real browser (Debian's Chromium through playwright-core), against a simulated
// cluster (test/sim: real gRPC agents over real mTLS on loopback addresses, the simulated API injected into the CLI).
// Fast tier: no root, seconds. What the page shows is checked against the simulated nodes' own state and against
// `kubecycle status`; test/e2e/status-page.test.ts does the same on the lab's real systemd and etcd.
import { request } from "node:https";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { parse, stringify } from "yaml";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  issueServeCert,
  loadCoordinatorConfig,
  startServe,
  type CompiledCoordinatorConfig,
  type RunningServe,
} from "../../coordinator/index.js";
import { browserContext, launchChromium, readNodes, readOperation } from "../page/browser.js";
import { startSimFixture, type SimFixture } from "../sim/fixture.js";
import { createSimPki, type SimPki } from "../sim/pki.js";
import { simClusterSpec, TEST_TIMING } from "../sim/spec.js";

const MASTERS = ["sim-master-1", "sim-master-2", "sim-master-3"];
const WORKERS = ["sim-worker-1", "sim-worker-2"];
const NODES = [...MASTERS, ...WORKERS];

let work: string;
let pki: SimPki;
let sim: SimFixture;
let serve: RunningServe;
let browser: Browser;
let origin: string;
let viewer: BrowserContext;
let page: Page;
let serveConfig: string;

/** Polls the open page until `probe` returns a value (no reload: the page must update itself). */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`the page did not show ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** GET `path` from the page's server with Node's own TLS client (serve's certificate checked against the CA). */
function get(
  path: string,
  opts: { cert?: Buffer; key?: Buffer; headers?: Record<string, string>; method?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(path, origin);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: opts.method ?? "GET",
        ca: pki.ca,
        servername: "sim-admin",
        ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
        headers: opts.headers ?? {},
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "kc-page-sim-"));
  pki = await createSimPki(join(work, "pki"), NODES);
  await issueServeCert(pki.dir, { name: "sim-admin", ips: ["127.0.0.1"] });
  // Unit stops slow enough that a phase of the cluster stop lasts about a second: the page must show it running.
  const timing = { ...TEST_TIMING, unitStop: [500, 800] as const, podStop: [100, 200] as const };
  sim = await startSimFixture({
    dir: join(work, "sim"),
    pki,
    spec: simClusterSpec({ masters: 3, workers: 2, timing }),
  });
  // The inventory the page lists the nodes from, as any CLI run leaves it.
  const status = await sim.kubecycle(["status", "-o", "json"]);
  expect(status.code, status.stderr).toBe(0);
  // The sim's config with a serve block, as an admin host's has: `serve token` reads it too.
  serveConfig = join(work, "kubecycle-serve.yaml");
  const yaml = parse(await readFile(sim.config, "utf8")) as Record<string, unknown>;
  yaml.serve = {
    listen: { address: "127.0.0.1", port: 9444 },
    tls: { cert: join(pki.dir, "serve", "sim-admin.crt"), key: join(pki.dir, "serve", "sim-admin.key") },
    serverName: "sim-admin",
    page: { probeMs: 500 },
  };
  await writeFile(serveConfig, stringify(yaml));
  const base = await loadCoordinatorConfig({ config: serveConfig }, {});
  if (!base.serve?.page) throw new Error("the serve config has no page");
  // Any free ports (the config refuses port 0 for listening; tests only).
  const config: CompiledCoordinatorConfig = {
    ...base,
    serve: {
      ...base.serve,
      listen: { address: "127.0.0.1", port: 0 },
      metrics: undefined,
      page: { ...base.serve.page, port: 0 },
    },
  };
  serve = await startServe({ config, log: pino({ level: "silent" }), runStart: () => Promise.resolve() });
  origin = `https://127.0.0.1:${serve.pagePort}`;
  browser = await launchChromium();
  viewer = await browserContext(browser, origin, {
    certPath: pki.viewer.cert,
    keyPath: pki.viewer.key,
  });
  page = await viewer.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  sim?.close();
  await rm(work, { recursive: true, force: true });
}, 60_000);

describe("the status page, against a simulated cluster", () => {
  it("shows nothing of the cluster without a certificate or token: only the login hint", async () => {
    const anon = await browserContext(browser, origin);
    try {
      const p = await anon.newPage();
      for (const path of ["/", "/api/state", "/events", "/assets/app.js"]) {
        const res = await p.goto(`${origin}${path}`);
        expect(res?.status(), path).toBe(401);
        const text = await p.content();
        expect(text).toContain("sign in");
        for (const n of [...NODES, sim.cluster.spec.name]) expect(text, path).not.toContain(n);
      }
    } finally {
      await anon.close();
    }
    // An agent's certificate is of the cluster's CA but grants no role; a forged token opens nothing either.
    const agent = pki.certFor("sim-worker-1");
    const asAgent = await get("/api/state", { cert: agent.cert, key: agent.key });
    expect(asAgent.status).toBe(401);
    expect(asAgent.body).toContain("grants no role");
    const forged = await get("/api/state", { headers: { cookie: "kubecycle_page=kct1.me.99999999999.AAAA" } });
    expect(forged.status).toBe(401);
  });

  it("lists every node with its agent reachable and its units' states as the nodes have them", async () => {
    await page.goto(origin);
    const rows = await until("every node reachable", async () => {
      const r = await readNodes(page);
      return r.length === NODES.length && r.every((n) => n.agent === "reachable") ? r : undefined;
    });
    expect(rows.map((r) => r.name)).toEqual(NODES);
    for (const r of rows) {
      const node = sim.cluster.node(r.name);
      for (const [unit, state] of Object.entries(r.units)) {
        expect(state, `${r.name} ${unit}`).toBe(node.unit(`${unit}.service`).active);
      }
      expect(Object.keys(r.units)).toContain("kubelet");
    }
    await expect(page.locator("#etcd").getAttribute("data-state")).resolves.toBe("healthy");
    expect(await page.locator("#etcd tr[data-member]").count()).toBe(3);
    // Served by serve itself, small: the page and everything it loads.
    const sizes = await Promise.all(
      [
        "/",
        "/assets/app.js",
        "/assets/style.css",
        "/assets/preact.js",
        "/assets/preact-hooks.js",
        "/assets/htm.js",
      ].map(async (p) => {
        const res = await get(p, {
          cert: await readFile(pki.viewer.cert),
          key: await readFile(pki.viewer.key),
          headers: { "accept-encoding": "gzip" },
        });
        expect(res.status, p).toBe(200);
        return Number(res.headers["content-length"] ?? Buffer.byteLength(res.body));
      }),
    );
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThan(40_000);
  });

  it("counts a member out of etcd's health as soon as its row shows etcd.service stopped, not a round later", async () => {
    const m3 = sim.cluster.node("sim-master-3");
    // Both read from one snapshot of the page, as the operator sees it.
    type El = { getAttribute(name: string): string | null; querySelector(selector: string): El | null };
    const view = () =>
      page.$eval("body", (body: unknown) => ({
        unit: (body as El)
          .querySelector('tr[data-node="sim-master-3"] li[data-unit="etcd"]')
          ?.getAttribute("data-state"),
        etcd: (body as El).querySelector("#etcd")?.getAttribute("data-state"),
      }));
    await until("etcd healthy on the page", async () => ((await view()).etcd === "healthy" ? true : undefined));
    m3.crash("etcd.service");
    try {
      const first = await until("sim-master-3's etcd.service stopped on the page", async () => {
        const v = await view();
        return v.unit === "failed" ? v : undefined;
      });
      expect(first.etcd).toBe("degraded");
    } finally {
      m3.startUnit("etcd.service");
      const member = sim.cluster.etcd.memberOn("sim-master-3");
      expect(await m3.until(() => member !== undefined && sim.cluster.etcd.healthy(member), 5000)).toBe(true);
    }
    await until("etcd healthy on the page again", async () => ((await view()).etcd === "healthy" ? true : undefined));
  });

  it("turns a node whose agent stops answering to unreachable, and back, without a reload", async () => {
    sim.agents.stopAgent("sim-worker-2");
    await until("sim-worker-2 unreachable", async () => {
      const r = (await readNodes(page)).find((n) => n.name === "sim-worker-2");
      return r?.agent === "unreachable" ? r : undefined;
    });
    await expect(page.locator('tr[data-node="sim-worker-2"]').innerText()).resolves.toMatch(/unreachable/);
    await sim.agents.startAgent("sim-worker-2");
    await until("sim-worker-2 reachable again", async () => {
      const r = (await readNodes(page)).find((n) => n.name === "sim-worker-2");
      return r?.agent === "reachable" ? r : undefined;
    });
  });

  it("shows a cluster stop's phases advancing, and ends as `kubecycle status` says", async () => {
    const seen: string[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const op = await readOperation(page);
        if (op?.result === "running") {
          const running = op.phases.find((p) => p.state === "running")?.name;
          if (running && seen.at(-1) !== running) seen.push(running);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const stop = await sim.kubecycle(["cluster", "stop", "--yes", "-o", "json"]);
    expect(stop.code, stop.stderr).toBe(0);
    const op = /operation (\S+)/.exec(stop.stderr)?.[1];
    const final = await until("the stop succeeded", async () => {
      const o = await readOperation(page);
      return o?.op === op && o?.result === "succeeded" ? o : undefined;
    });
    watching = false;
    await watch;
    // Phases seen running one after another, in the plan's order, as the terminal shows them.
    const order = final.phases.map((p) => p.name);
    expect(seen.length, `phases seen running: ${seen.join(", ")}`).toBeGreaterThanOrEqual(3);
    expect([...seen].sort((a, b) => order.indexOf(a) - order.indexOf(b))).toEqual(seen);
    expect(final.phases.every((p) => p.state === "done" || p.state === "skipped")).toBe(true);

    const status = await sim.kubecycle(["status", "-o", "json"]);
    const nodes = (JSON.parse(status.stdout) as { nodes: Array<{ node: string; units: Record<string, string> }> })
      .nodes;
    const rows = await until("every unit as status has it", async () => {
      const r = await readNodes(page);
      return nodes.every((n) => {
        const row = r.find((x) => x.name === n.node);
        return row !== undefined && Object.entries(n.units).every(([u, s]) => row.units[u] === s);
      })
        ? r
        : undefined;
    });
    for (const r of rows) expect(r.units.kubelet, r.name).toBe("inactive");
    await expect(page.locator(`#recent tr[data-op="${op}"]`).innerText()).resolves.toMatch(/succeeded/);
  });

  it("opens for a `kubecycle serve token` link, read-only, and refuses the link once the key is rotated", async () => {
    const token = await sim.kubecycle(["serve", "token", "--name", "wallscreen", "--ttl", "10m", "-o", "json"], {
      config: serveConfig,
    });
    expect(token.code, token.stderr).toBe(0);
    const { token: t, url } = JSON.parse(token.stdout) as { token: string; url: string };
    expect(url).toBe(`https://127.0.0.1:9446/login?token=${t}`);
    const ctx = await browserContext(browser, origin);
    try {
      const p = await ctx.newPage();
      await p.goto(`${origin}/login?token=${t}`);
      expect(new URL(p.url()).pathname).toBe("/");
      await until("the nodes, by token", async () => ((await readNodes(p)).length === NODES.length ? true : undefined));
      await expect(p.locator("header").innerText()).resolves.toMatch(/token wallscreen/);
      const post = await get("/api/state", { method: "POST", headers: { authorization: `Bearer ${t}` } });
      expect(post.status).toBe(405);
      const revoke = await sim.kubecycle(["serve", "token", "--revoke", "-o", "json"], { config: serveConfig });
      expect(revoke.code, revoke.stderr).toBe(0);
      const again = await get("/api/state", { headers: { authorization: `Bearer ${t}` } });
      expect(again.status).toBe(401);
    } finally {
      await ctx.close();
    }
  });
});
