// kubecycle serve's status page on the lab, in a real browser (Debian's Chromium driven by playwright-core), as an
// operator's colleague watches it from a laptop: serve runs on the admin side (the host) as an operator runs it, and
// every lab agent reports to it. Nothing of the cluster without credentials; with the lab's viewer certificate every
// node with the states the nodes' own systemd has; a node powered off turns unreachable on the open page and comes
// back with its new boot id; a `cluster stop` run from the CLI shows its phases advancing on the page, and the page
// ends where `kubecycle status` and the nodes' systemd say. A screenshot of the page mid-operation is kept.
import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lab/agent.js";
import { labUp, type Lab } from "../lab/lab.js";
import { SERVE_CERT_NAME, SERVE_PAGE_URL, VIEWER_CLIENT } from "../lab/layout.js";
import { startLabServe, type LabServe } from "../lab/serve.js";
import { browserContext, launchChromium, readNodes, readOperation, type PageNodeRow } from "../page/browser.js";
import { ClusterProbe } from "./cluster.js";
import { downLab, kubecycle as cli, opOf, waitFor } from "./helpers.js";

/** Where the test keeps what it saw (CI keeps the folder); KUBECYCLE_UPDATE_SCREENSHOT=1 also updates the README's. */
const ARTIFACTS = join(REPO_ROOT, "test-artifacts");
const SCREENSHOT = join(ARTIFACTS, "status-page-mid-operation.png");
const DOCS_SCREENSHOT = join(REPO_ROOT, "docs", "status-page.png");

let lab: Lab;
let probe: ClusterProbe;
let serve: LabServe;
let browser: Browser;
let viewer: BrowserContext;
let page: Page;
const kubecycle = (args: string[]) => cli(lab, args);

/** Polls the open page (never reloading it) until `check` returns a value. */
function onPage<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  return waitFor(`the page to show ${what}`, check, timeoutMs, 250);
}

async function row(name: string): Promise<PageNodeRow | undefined> {
  return (await readNodes(page)).find((r) => r.name === name);
}

/** Each node's allow-listed units as its own systemd has them (kubelet, etcd where it runs, the runtime). */
async function systemdUnits(): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  for (const n of lab.nodes) {
    const units: Record<string, string> = {};
    for (const u of ["kubelet", "containerd", ...(n.role === "master" ? ["etcd"] : [])]) {
      units[u] = await n.unitState(`${u}.service`);
    }
    out.set(n.kubeName, units);
  }
  return out;
}

/** Whether every unit the page shows for every node is as `want` says. */
function pageMatches(rows: PageNodeRow[], want: Map<string, Record<string, string>>): boolean {
  return [...want].every(([node, units]) => {
    const r = rows.find((x) => x.name === node);
    return r !== undefined && Object.entries(units).every(([u, s]) => r.units[u] === s);
  });
}

beforeAll(async () => {
  lab = await labUp({ masters: 3, workers: 2, build: "skip" });
  probe = await ClusterProbe.open(lab);
  serve = await startLabServe(lab);
  await probe.settled();
  // The inventory serve's page names the nodes' roles from, as any CLI run on the admin host leaves it.
  const status = await kubecycle(["status"]);
  expect(status.code, status.stderr).toBe(0);
  browser = await launchChromium();
  viewer = await browserContext(browser, SERVE_PAGE_URL, {
    certPath: join(lab.paths.pki, "clients", `${VIEWER_CLIENT}.crt`),
    keyPath: join(lab.paths.pki, "clients", `${VIEWER_CLIENT}.key`),
  });
  page = await viewer.newPage();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await serve?.kill("SIGTERM");
  await copyFile(join(lab.paths.root, "serve.log"), "/tmp/kc-status-page-e2e.log").catch(() => undefined);
  await downLab(lab, import.meta.url);
}, 120_000);

describe("the status page on the lab", () => {
  it("is served over HTTPS with serve's certificate, and shows nothing of the cluster without credentials", async () => {
    // serve's certificate, checked against the lab's kubecycle CA by Node's TLS (the browser's proxy does not).
    const ca = await readFile(join(lab.paths.pki, "ca.crt"));
    const served = await new Promise<{ status: number; subject: string; body: string }>((resolve, reject) => {
      const req = request(`${SERVE_PAGE_URL}/`, { ca }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        const subject = (res.socket as TLSSocket).getPeerCertificate().subject.CN;
        res.on("end", () => resolve({ status: res.statusCode ?? 0, subject: String(subject), body }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(served.subject).toBe(SERVE_CERT_NAME);
    expect(served.status).toBe(401);
    const anon = await browserContext(browser, SERVE_PAGE_URL);
    try {
      const p = await anon.newPage();
      for (const path of ["/", "/events", "/api/state", "/assets/app.js"]) {
        const res = await p.goto(`${SERVE_PAGE_URL}${path}`);
        expect(res?.status(), path).toBe(401);
        const text = await p.content();
        expect(text, path).toContain("sign in");
        for (const n of lab.nodes) expect(text, path).not.toContain(n.kubeName);
        expect(text, path).not.toContain("etcd member");
      }
    } finally {
      await anon.close();
    }
  });

  it("lists every lab node with its agent, boot id and units as the nodes' own systemd has them", async () => {
    await page.goto(SERVE_PAGE_URL);
    const want = await systemdUnits();
    const rows = await onPage("every node reachable with its units", async () => {
      const r = await readNodes(page);
      return r.length === lab.nodes.length && r.every((n) => n.agent === "reachable") && pageMatches(r, want)
        ? r
        : undefined;
    });
    for (const n of lab.nodes) {
      const r = rows.find((x) => x.name === n.kubeName);
      expect(r?.bootId, n.kubeName).toBe(await n.bootId());
      expect(r?.units.kubelet, n.kubeName).toBe("active");
    }
    await onPage("etcd healthy with its 3 members", async () =>
      (await page.locator("#etcd").getAttribute("data-state")) === "healthy" &&
      (await page.locator("#etcd tr[data-member]").count()) === 3
        ? true
        : undefined,
    );
    await expect(page.locator("#etcd").innerText()).resolves.toMatch(/leader/);
    await expect(page.locator("header").innerText()).resolves.toContain(`${VIEWER_CLIENT} (viewer certificate)`);
  });

  it("turns a node powered off to unreachable without a reload, and shows its new boot id after it boots", async () => {
    const w = lab.node("kclab-worker-2");
    const before = await w.bootId();
    await lab.poweroff(w.name);
    const down = await onPage(`${w.kubeName} unreachable`, async () => {
      const r = await row(w.kubeName);
      return r?.agent === "unreachable" ? r : undefined;
    });
    expect(down.bootId).toBe(before);
    await expect(page.locator(`tr[data-node="${w.kubeName}"]`).innerText()).resolves.toMatch(/unreachable/);
    await lab.boot(w.name);
    const after = await w.bootId();
    expect(after).not.toBe(before);
    await onPage(`${w.kubeName} back with boot id ${after}`, async () => {
      const r = await row(w.kubeName);
      return r?.agent === "reachable" && r.bootId === after ? r : undefined;
    });
    await probe.settled();
  });

  it("shows a cluster stop's phases advancing while the CLI runs it, and ends as `kubecycle status` says", async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    const seen: string[] = [];
    let shot = false;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const op = await readOperation(page).catch(() => null);
        const running = op?.result === "running" ? op.phases.find((p) => p.state === "running")?.name : undefined;
        if (running && seen.at(-1) !== running) seen.push(running);
        // Mid-operation: the nodes' units going down, half the phases done, the rest to come.
        const at = op?.phases.findIndex((p) => p.name === running) ?? -1;
        if (!shot && op && running && at >= Math.floor(op.phases.length / 2)) {
          shot = true;
          await page.screenshot({ path: SCREENSHOT, fullPage: true });
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const t0 = Date.now();
    const stop = await kubecycle(["cluster", "stop", "--yes"]);
    expect(stop.code, stop.stderr).toBe(0);
    const op = opOf(stop);
    const final = await onPage(`operation ${op} succeeded`, async () => {
      const o = await readOperation(page);
      return o?.op === op && o.result === "succeeded" ? o : undefined;
    });
    watching = false;
    await watch;
    console.log(`cluster stop took ${Date.now() - t0} ms; phases seen running on the page: ${seen.join(", ")}`);
    const order = final.phases.map((p) => p.name);
    expect(seen.length, `phases seen running: ${seen.join(", ")}`).toBeGreaterThanOrEqual(4);
    expect([...seen].sort((a, b) => order.indexOf(a) - order.indexOf(b))).toEqual(seen);
    expect(final.phases.every((p) => p.state === "done" || p.state === "skipped")).toBe(true);
    expect(shot, "a screenshot taken mid-operation").toBe(true);
    if (process.env.KUBECYCLE_UPDATE_SCREENSHOT === "1") {
      await mkdir(join(REPO_ROOT, "docs"), { recursive: true });
      await copyFile(SCREENSHOT, DOCS_SCREENSHOT);
    }

    // The end: what `kubecycle status` says, and what the nodes' systemd says, is what the page shows. Every agent
    // answers status, the masters too: with etcd stopped, their agents' etcd connections are refused at once (they
    // once waited out etcdctl's dial timeout, past status's own call deadline, and the masters' rows had no units).
    type StatusNode = { node: string; agent: string; agentError?: string; units: Record<string, string> };
    const status = await kubecycle(["status", "-o", "json"]);
    expect(status.code, status.stderr).toBe(0);
    const nodes = (JSON.parse(status.stdout) as { nodes: StatusNode[] }).nodes;
    expect(nodes.map((n) => `${n.node}: ${n.agent} ${n.agentError ?? ""}`.trim()).sort()).toEqual(
      lab.nodes.map((n) => `${n.kubeName}: ok`).sort(),
    );
    const fromStatus = new Map(nodes.map((n) => [n.node, n.units]));
    const fromSystemd = await systemdUnits();
    for (const n of nodes) expect(n.units, n.node).toMatchObject(fromSystemd.get(n.node) ?? {});
    const rows = await onPage("every node's units as status and the nodes' systemd have them", async () => {
      const r = await readNodes(page);
      return r.length === lab.nodes.length && pageMatches(r, fromStatus) && pageMatches(r, fromSystemd) ? r : undefined;
    });
    for (const r of rows) {
      expect(r.agent, r.name).toBe("reachable");
      expect(r.units.kubelet, r.name).toBe("inactive");
      expect(r.units.containerd, r.name).toBe("inactive");
    }
    await expect(page.locator(`#recent tr[data-op="${op}"]`).innerText()).resolves.toMatch(/succeeded/);
    await expect(page.locator("#etcd").getAttribute("data-state")).resolves.toBe("no quorum");
  }, 300_000);
});
