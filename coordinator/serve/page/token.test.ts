import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_TOKEN_TTL_MS, rotateTokenKey, signToken, tokenKey, tokenKeyPath, verifyToken } from "./token.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-page-token-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the status page's tokens", () => {
  it("makes one key, private, that concurrent makers agree on", async () => {
    const keys = await Promise.all(Array.from({ length: 8 }, () => tokenKey(dir)));
    for (const k of keys) expect(k.equals(keys[0] as Buffer)).toBe(true);
    expect((await stat(tokenKeyPath(dir))).mode & 0o777).toBe(0o600);
    expect(keys[0]?.length).toBe(32);
  });

  it("accepts its own token until it expires, and nothing altered", async () => {
    const key = await tokenKey(dir);
    const now = 1_800_000_000_000;
    const t = signToken(key, "wallscreen", 3600_000, now);
    expect(verifyToken(key, t, now)).toEqual({ name: "wallscreen", expiresUnixMs: now + 3600_000 });
    expect(verifyToken(key, t, now + 3600_000)).toBeUndefined();
    const [p, name, exp, mac] = t.split(".") as [string, string, string, string];
    expect(verifyToken(key, [p, "intruder", exp, mac].join("."), now)).toBeUndefined();
    expect(verifyToken(key, [p, name, String(Number(exp) + 3600), mac].join("."), now)).toBeUndefined();
    const flipped = `${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`;
    expect(verifyToken(key, [p, name, exp, flipped].join("."), now)).toBeUndefined();
    expect(verifyToken(Buffer.alloc(32, 1), t, now)).toBeUndefined();
    expect(verifyToken(key, "", now)).toBeUndefined();
    expect(verifyToken(key, `${t}.${"x".repeat(300)}`, now)).toBeUndefined();
  });

  it("refuses lifetimes past 24 hours, and names that are not names", async () => {
    const key = await tokenKey(dir);
    expect(() => signToken(key, "a", MAX_TOKEN_TTL_MS + 1)).toThrow(/at most 24h/);
    expect(() => signToken(key, "a", 0)).toThrow(/at most 24h/);
    expect(() => signToken(key, "a b", 60_000)).toThrow(/letters, digits/);
    expect(() => signToken(key, "x".repeat(65), 60_000)).toThrow(/letters, digits/);
    expect(signToken(key, "x".repeat(64), MAX_TOKEN_TTL_MS)).toMatch(/^kct1\./);
  });

  it("voids every earlier token when the key is rotated", async () => {
    const before = await tokenKey(dir);
    const t = signToken(before, "phone", 60_000);
    await rotateTokenKey(dir);
    const after = await tokenKey(dir);
    expect(after.equals(before)).toBe(false);
    expect(verifyToken(after, t)).toBeUndefined();
    expect((await readFile(tokenKeyPath(dir), "utf8")).trim()).toMatch(/^[0-9a-f]{64}$/);
  });
});
