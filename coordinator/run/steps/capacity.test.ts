import { describe, expect, it } from "vitest";
import { parseQuantity } from "./capacity.js";

describe("parseQuantity", () => {
  it.each([
    ["500m", 0.5],
    ["2", 2],
    ["1.5", 1.5],
    ["128Mi", 128 * 2 ** 20],
    ["4Gi", 4 * 2 ** 30],
    ["1G", 1e9],
    ["1000Ki", 1000 * 1024],
    ["", 0],
    [undefined, 0],
    ["lots", 0],
  ])("%s -> %d", (q, want) => {
    expect(parseQuantity(q)).toBe(want);
  });
});
