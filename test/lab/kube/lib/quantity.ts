// resource.Quantity parsing, enough for cpu ("250m", "2") and memory ("128Mi", "4Gi", "1G", "1000").

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The quantity's value in base units (cores for cpu, bytes for memory); throws on a malformed quantity. */
export function parseQuantity(q: string | number | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === "number") return q;
  const m = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(q.trim());
  const mult = m ? SUFFIX[m[2] ?? ""] : undefined;
  if (!m || mult === undefined) throw new Error(`quantities must match the regular expression: ${q}`);
  return Number(m[1]) * mult;
}

/** Millicores of a cpu quantity. */
export function milliCpu(q: string | undefined): number {
  return Math.round(parseQuantity(q) * 1000);
}
