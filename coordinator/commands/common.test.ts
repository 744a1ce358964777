import { describe, expect, it } from "vitest";
import { UsageError } from "../command.js";
import { formatDuration, parseDuration } from "./common.js";

const ctx = { name: "node stop" };

describe("parseDuration", () => {
  it.each([
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1h0m5s", 3_605_000],
    ["1500ms", 1500],
    ["120", 120_000],
    ["30d", 2_592_000_000],
  ])("%s is %i ms", (text, ms) => {
    expect(parseDuration(ctx, "--drain-timeout", text)).toBe(ms);
  });

  it("is undefined when the flag was not given", () => {
    expect(parseDuration(ctx, "--drain-timeout", undefined)).toBeUndefined();
  });

  it.each(["0", "0s", "500ms", "5 m", "m5", "1.5h", "-1s", "1w", ""])("refuses %j, naming the flag", (text) => {
    expect(() => parseDuration(ctx, "--drain-timeout", text, { maxMs: 86_400_000 })).toThrow(UsageError);
    expect(() => parseDuration(ctx, "--drain-timeout", text, { maxMs: 86_400_000 })).toThrow(/--drain-timeout/);
  });

  it("refuses what is over the bound, saying the bound", () => {
    expect(() => parseDuration(ctx, "--drain-timeout", "25h", { maxMs: 86_400_000 })).toThrow(
      '--drain-timeout must be between 1s and 1d, not "25h"',
    );
  });
});

describe("formatDuration", () => {
  it.each([
    [1000, "1s"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
    [5_400_000, "1h30m"],
    [250, "250ms"],
    [2_592_000_000, "30d"],
  ])("%i ms is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
