// PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic merge patch approximated as a
// JSON merge patch. The approximation differs from the real one only for lists with a patch merge key (conditions,
// taints, containers): the real one merges their items by key, this one replaces the whole list.
import { badRequest, StatusError, unsupportedMediaType } from "./errors.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObj = (v: unknown): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 7386. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: Record<string, unknown> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k.startsWith("$setElementOrder/") || k === "$retainKeys") continue;
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface Op {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: unknown;
  from?: string;
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw badRequest(`invalid JSON pointer ${path}`);
  return path
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentOf(doc: unknown, parts: string[], path: string): { parent: unknown; key: string } {
  let cur = doc;
  for (const p of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObj(cur)) cur = cur[p];
    else cur = undefined;
    if (cur === undefined)
      throw badRequest(
        `the server rejected our request due to an error in our request: doc is missing path: "${path}"`,
      );
  }
  return { parent: cur, key: parts[parts.length - 1] ?? "" };
}

function getAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const p of pointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(p)] : isObj(cur) ? cur[p] : undefined;
    if (cur === undefined) throw badRequest(`doc is missing path: "${path}"`);
  }
  return cur;
}

function removeAt(doc: unknown, path: string): unknown {
  const { parent, key } = parentOf(doc, pointer(path), path);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!(i >= 0 && i < parent.length)) throw badRequest(`doc is missing path: "${path}"`);
    return parent.splice(i, 1)[0];
  }
  if (!isObj(parent) || !(key in parent)) throw badRequest(`doc is missing path: "${path}"`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function addAt(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const parts = pointer(path);
  if (parts.length === 0) return value;
  const { parent, key } = parentOf(doc, parts, path);
  if (Array.isArray(parent)) {
    const i = key === "-" ? parent.length : Number(key);
    if (!(i >= 0 && i <= parent.length) || (replace && i >= parent.length))
      throw badRequest(`doc is missing path: "${path}"`);
    parent.splice(i, replace ? 1 : 0, value);
  } else if (isObj(parent)) {
    if (replace && !(key in parent)) throw badRequest(`doc is missing key: ${path}`);
    parent[key] = value as Json;
  } else throw badRequest(`doc is missing path: "${path}"`);
  return doc;
}

/** RFC 6902; the `test` op failing answers 422 like the apiserver. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest("json patch must be an array of operations");
  let doc = structuredClone(target);
  for (const raw of ops as Op[]) {
    switch (raw.op) {
      case "add":
        doc = addAt(doc, raw.path, structuredClone(raw.value), false);
        break;
      case "replace":
        doc = addAt(doc, raw.path, structuredClone(raw.value), true);
        break;
      case "remove":
        removeAt(doc, raw.path);
        break;
      case "move": {
        const v = removeAt(doc, raw.from ?? "");
        doc = addAt(doc, raw.path, v, false);
        break;
      }
      case "copy":
        doc = addAt(doc, raw.path, structuredClone(getAt(doc, raw.from ?? "")), false);
        break;
      case "test":
        if (JSON.stringify(getAt(doc, raw.path)) !== JSON.stringify(raw.value)) {
          throw new StatusError(
            422,
            "Invalid",
            `the server rejected our request due to an error in our request: testing value ${raw.path} failed`,
          );
        }
        break;
      default:
        throw badRequest(`Unexpected kind: ${String((raw as { op?: unknown }).op)}`);
    }
  }
  return doc;
}

/** Applies a PATCH body of `contentType` to `target`. */
export function applyPatch(target: unknown, body: string, contentType: string): unknown {
  const ct = contentType.split(";")[0]?.trim() ?? "";
  let patch: unknown;
  try {
    patch = JSON.parse(body);
  } catch (err) {
    throw badRequest(`error decoding patch: ${(err as Error).message}`);
  }
  switch (ct) {
    case "application/merge-patch+json":
    case "application/strategic-merge-patch+json":
      if (!isObj(patch)) throw badRequest("patch body must be a JSON object");
      return mergePatch(target, patch);
    case "application/json-patch+json":
      return jsonPatch(target, patch);
    default:
      throw unsupportedMediaType(ct);
  }
}
