import { describe, expect, it } from "vitest";
import { INDEX, loadPageAssets } from "./assets.js";

describe("the status page's files", () => {
  it("are all there, small, and load nothing from elsewhere", async () => {
    const assets = await loadPageAssets();
    expect([...assets.keys()].sort()).toEqual(
      [INDEX, "app.js", "htm.js", "preact-hooks.js", "preact.js", "style.css"].sort(),
    );
    let gzipped = 0;
    for (const [name, a] of assets) {
      const text = a.body.toString("utf8");
      // Every module specifier is a file serve serves: no bare package names (they need an import map), no URLs.
      for (const m of text.matchAll(/\bfrom\s*["']([^"']+)["']/g)) expect(m[1], name).toMatch(/^\.\/[a-z-]+\.js$/);
      expect(text, name).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
      gzipped += a.gzip.length;
    }
    // A page that loads fast over a poor link: everything, gzipped, in well under 30 kB.
    expect(gzipped).toBeLessThan(30_000);
    expect(assets.get(INDEX)?.body.toString()).toContain('src="/assets/app.js"');
  });
});
