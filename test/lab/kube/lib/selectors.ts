// Label selectors (the query-string syntax and the structured LabelSelector), field selectors for the few fields
// the apiserver supports on the resources the lab serves, and toleration matching.
import type { KObject, LabelSelector, Taint, Toleration } from "./types.js";

type Requirement = { key: string; op: "in" | "notin"; values: string[] } | { key: string; op: "exists" | "!exists" };

/** A parsed label selector; `null` requirements means "matches nothing". */
export interface Selector {
  reqs: Requirement[] | null;
}

/** Thrown for a selector that does not parse (the apiserver answers 400). */
export class SelectorError extends Error {}

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`. */
export function parseLabelSelector(text: string | null | undefined): Selector {
  const reqs: Requirement[] = [];
  if (!text) return { reqs };
  for (const part of splitTopLevel(text)) {
    const p = part.trim();
    if (p === "") continue;
    let m: RegExpMatchArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      const values = (m[3] ?? "").split(",").map((v) => v.trim());
      reqs.push({ key: m[1] ?? "", op: m[2] as "in" | "notin", values });
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(p))) {
      reqs.push({ key: m[1] ?? "", op: m[2] === "!=" ? "notin" : "in", values: [m[3] ?? ""] });
    } else if ((m = /^!([\w./-]+)$/.exec(p))) {
      reqs.push({ key: m[1] ?? "", op: "!exists" });
    } else if ((m = /^([\w./-]+)$/.exec(p))) {
      reqs.push({ key: m[1] ?? "", op: "exists" });
    } else {
      throw new SelectorError(`unable to parse requirement: ${p}`);
    }
  }
  return { reqs };
}

function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Converts a structured LabelSelector (policy/v1 semantics: undefined matches nothing, {} matches everything). */
export function fromLabelSelector(sel: LabelSelector | undefined): Selector {
  if (!sel) return { reqs: null };
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key, op: "in", values: [value] });
  for (const e of sel.matchExpressions ?? []) {
    const op = ({ In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!exists" } as const)[e.operator];
    reqs.push(op === "in" || op === "notin" ? { key: e.key, op, values: e.values ?? [] } : { key: e.key, op });
  }
  return { reqs };
}

/** True when `labels` satisfy the selector. */
export function matchesLabels(sel: Selector, labels: Record<string, string> | undefined): boolean {
  if (sel.reqs === null) return false;
  const l = labels ?? {};
  return sel.reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "in":
        return has && r.values.includes(l[r.key] ?? "");
      case "notin":
        return !has || !r.values.includes(l[r.key] ?? "");
    }
  });
}

/** A parsed field selector: (path, equal?, value) triples. */
export type FieldSelector = Array<{ field: string; eq: boolean; value: string }>;

/** Fields each resource can be selected by (the apiserver refuses the others with 400). */
const FIELDS: Record<string, string[]> = {
  pods: ["spec.nodeName", "status.phase", "spec.schedulerName", "spec.restartPolicy", "status.podIP"],
  nodes: ["spec.unschedulable"],
  events: ["involvedObject.name"],
};

/** Parses `spec.nodeName=x,status.phase!=Running` for `resource`. */
export function parseFieldSelector(text: string | null | undefined, resource: string): FieldSelector {
  const out: FieldSelector = [];
  if (!text) return out;
  for (const part of text.split(",")) {
    const m = /^\s*([\w.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw new SelectorError(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = m[1] ?? "";
    if (field !== "metadata.name" && field !== "metadata.namespace" && !(FIELDS[resource] ?? []).includes(field)) {
      throw new SelectorError(`field label not supported: ${field}`);
    }
    out.push({ field, eq: m[2] !== "!=", value: m[3] ?? "" });
  }
  return out;
}

/** True when the object's fields satisfy the selector. */
export function matchesFields(sel: FieldSelector, obj: KObject): boolean {
  return sel.every(({ field, eq, value }) => {
    let v: unknown = obj;
    for (const k of field.split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
    const s = typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : "";
    return (s === value) === eq;
  });
}

/** True when one of `tolerations` tolerates `taint` (the scheduler's ToleratesTaint). */
export function tolerates(tolerations: Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (!t.key) return t.operator === "Exists";
    if (t.key !== taint.key) return false;
    return t.operator === "Exists" || (t.value ?? "") === (taint.value ?? "");
  });
}
