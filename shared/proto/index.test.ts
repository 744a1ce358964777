import { loadSync, type ServiceDefinition } from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { PROTO_LOADER_OPTIONS, protoPaths, servicesOf } from "./index.js";

/** A message of type `t` with every field set (repeated ones twice), nested messages to a few levels. */
function sample(t: protobuf.Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of t.fieldsArray) {
    f.resolve();
    const r = f.resolvedType;
    let v: unknown;
    if (r instanceof protobuf.Type) {
      if (depth > 2) continue;
      v = sample(r, depth + 1);
    } else if (r instanceof protobuf.Enum) {
      v = Object.keys(r.values).at(-1);
    } else {
      v =
        ({ string: "x", bytes: Buffer.from("b"), bool: true, double: 1.5, float: 0.5 } as Record<string, unknown>)[
          f.type
        ] ?? 7;
    }
    out[f.name] = f instanceof protobuf.MapField ? { k: v } : f.repeated ? [v, v] : v;
  }
  return out;
}

// What grpc-js gets for each contract must be what @grpc/proto-loader would give it, down to the bytes on the wire;
// only the reflection descriptors are left out.
describe.each([
  ["kubecycle", PROTO_LOADER_OPTIONS],
  ["etcd", { ...PROTO_LOADER_OPTIONS, longs: String }],
] as const)("the %s contracts' services", (group, options) => {
  const root = new protobuf.Root().loadSync(protoPaths(group), options);
  const ours = servicesOf(root, options) as Record<string, ServiceDefinition>;
  const theirs = loadSync(protoPaths(group), options);
  const services = Object.keys(theirs).filter((k) => !("format" in (theirs[k] as object)));

  it("are proto-loader's: the same services and methods, paths, stream kinds and names", () => {
    expect(Object.keys(ours).sort()).toEqual([...services].sort());
    expect(services.length).toBeGreaterThanOrEqual(group === "kubecycle" ? 2 : 3);
    for (const s of services) {
      const shape = (def: ServiceDefinition) =>
        Object.entries(def).map(([m, d]) => [m, d.path, d.requestStream, d.responseStream, d.originalName]);
      expect(shape(ours[s] as ServiceDefinition), s).toEqual(shape(theirs[s] as ServiceDefinition));
    }
  });

  it("encode and decode every request and answer the same", () => {
    let checked = 0;
    for (const s of services) {
      const service = root.lookupService(s);
      for (const [name, theirMethod] of Object.entries(theirs[s] as ServiceDefinition)) {
        const ourMethod = (ours[s] as ServiceDefinition)[name];
        const m = service.methods[name] as protobuf.Method;
        for (const [side, type] of [
          ["request", m.resolvedRequestType],
          ["response", m.resolvedResponseType],
        ] as const) {
          const value = sample(type as protobuf.Type);
          const ser = side === "request" ? "requestSerialize" : "responseSerialize";
          const de = side === "request" ? "requestDeserialize" : "responseDeserialize";
          const bytes = theirMethod[ser](value);
          expect(ourMethod?.[ser](value), `${s}.${name} ${side}`).toEqual(bytes);
          expect(ourMethod?.[de](bytes), `${s}.${name} ${side}`).toEqual(theirMethod[de](bytes));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(group === "kubecycle" ? 40 : 6);
  });
});
