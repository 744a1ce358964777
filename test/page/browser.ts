// The status page in a real browser: Debian's Chromium (apt-get install chromium) driven by playwright-core, as a
// person on a phone or a laptop would open it. Shared by the fast test (test/integration, a simulated cluster) and
// the lab's end-to-end test.
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Debian's Chromium; KUBECYCLE_CHROMIUM names another. */
export const CHROMIUM = process.env.KUBECYCLE_CHROMIUM ?? "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Chromium's sandbox refuses to run as root, which the lab's tests are.
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
}

/**
 * A browser context that presents `cert` (a client certificate and key, PEM files) to `origin`, or none. playwright
 * presents it from its own TLS proxy, which checks serve's certificate against the system's CAs only, not the
 * cluster's kubecycle CA: hence ignoreHTTPSErrors. The tests check serve's certificate against the CA themselves.
 */
export function browserContext(
  browser: Browser,
  origin: string,
  cert?: { certPath: string; keyPath: string },
): Promise<BrowserContext> {
  return browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1100, height: 900 },
    ...(cert ? { clientCertificates: [{ origin, ...cert }] } : {}),
  });
}

/** What the readers below use of a DOM element (this project's TypeScript has no DOM library). */
interface El {
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): Iterable<El>;
}

/** A node's row as the page shows it. */
export interface PageNodeRow {
  name: string;
  agent: string;
  bootId: string;
  units: Record<string, string>;
}

/** Every node row on the open page. */
export function readNodes(page: Page): Promise<PageNodeRow[]> {
  return page.$$eval("tr[data-node]", (found: unknown) =>
    (found as El[]).map((r) => ({
      name: r.getAttribute("data-node") ?? "",
      agent: r.getAttribute("data-agent") ?? "",
      bootId: r.getAttribute("data-boot-id") ?? "",
      units: Object.fromEntries(
        [...r.querySelectorAll("li[data-unit]")].map((u) => [
          u.getAttribute("data-unit") ?? "",
          u.getAttribute("data-state") ?? "",
        ]),
      ),
    })),
  );
}

/** The operation section: its id, result, and each phase's state in order. */
export function readOperation(
  page: Page,
): Promise<{ op: string; result: string; phases: Array<{ name: string; state: string }> } | null> {
  return page.$$eval("#operation[data-op]", (found: unknown) => {
    const el = (found as El[])[0];
    if (!el) return null;
    return {
      op: el.getAttribute("data-op") ?? "",
      result: el.getAttribute("data-result") ?? "",
      phases: [...el.querySelectorAll("li[data-phase]")].map((p) => ({
        name: p.getAttribute("data-phase") ?? "",
        state: p.getAttribute("data-state") ?? "",
      })),
    };
  });
}
