import { describe, expect, it } from "vitest";
import { Lifecycle } from "./lifecycle.js";

describe("Lifecycle", () => {
  it("walks starting -> serving -> draining -> stopped and tells listeners", () => {
    const l = new Lifecycle();
    const seen: string[] = [];
    l.onChange((s) => seen.push(s));
    l.to("serving");
    l.to("draining");
    l.to("stopped");
    expect(seen).toEqual(["serving", "draining", "stopped"]);
  });

  it.each([
    [[], "stopped"],
    [["serving"], "starting"],
    [["serving", "draining"], "serving"],
    [["serving", "draining", "stopped"], "serving"],
  ] as const)("after %j refuses -> %s", (path, next) => {
    const l = new Lifecycle();
    for (const s of path) l.to(s);
    expect(() => l.to(next)).toThrow(/illegal transition/);
  });
});
