import { fromJSON, loadSync, type MessageTypeDefinition, type ServiceDefinition } from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";
import { PROTO_LOADER_OPTIONS, protoJson, protoPaths } from "./index.js";

// The shipped bundles carry protoJson() instead of proto/ (scripts/bundle.mjs); it must be the same contracts,
// down to the bytes on the wire, as what loadSync reads from the .proto.
describe("the embedded contract", () => {
  const json = JSON.parse(JSON.stringify(protoJson())) as ReturnType<typeof protoJson>;
  const groups = ["kubecycle", "etcd"] as const;
  // Each group loaded alone, from its files and from its JSON, all groups side by side.
  const load = (from: (g: (typeof groups)[number]) => ReturnType<typeof loadSync>) =>
    Object.assign({}, ...groups.map(from)) as ReturnType<typeof loadSync>;
  const fromFile = load((g) => loadSync(protoPaths(g), PROTO_LOADER_OPTIONS));
  const embedded = load((g) => fromJSON(json[g], PROTO_LOADER_OPTIONS));

  it("is in two groups: the coordinator's contracts carry nothing of etcd's", () => {
    expect(Object.keys(json).sort()).toEqual(["etcd", "kubecycle"]);
    expect(Object.keys(fromJSON(json.kubecycle, PROTO_LOADER_OPTIONS)).some((k) => k.startsWith("etcd"))).toBe(false);
    expect(protoPaths().sort()).toEqual([...protoPaths("kubecycle"), ...protoPaths("etcd")].sort());
  });

  it("has the same services, methods, paths and streaming kinds", () => {
    const shape = (def: typeof fromFile) =>
      Object.entries(def)
        .filter(([, v]) => !("format" in v))
        .map(([name, svc]) =>
          Object.entries(svc as ServiceDefinition).map(([m, d]) => [
            name,
            m,
            d.path,
            d.requestStream,
            d.responseStream,
          ]),
        );
    expect(shape(embedded)).toEqual(shape(fromFile));
    expect(shape(fromFile).flat().length).toBeGreaterThan(10);
    // Every contract: the agent's, the registry kubecycle serve offers, and the part of etcd's the agent asks.
    expect(Object.keys(embedded)).toEqual(
      expect.arrayContaining([
        "kubecycle.v1.Agent",
        "kubecycle.v1.Registry",
        "etcdserverpb.KV",
        "etcdserverpb.Cluster",
        "etcdserverpb.Maintenance",
      ]),
    );
  });

  it("encodes and decodes every message type the same", () => {
    const messages = Object.keys(fromFile).filter((k) => "format" in (fromFile[k] as object));
    expect(messages.length).toBeGreaterThan(20);
    expect(
      Object.keys(embedded)
        .filter((k) => "format" in (embedded[k] as object))
        .sort(),
    ).toEqual([...messages].sort());
    // Through the service's serializers (camelCase names, as the code uses them): same bytes, same decoded object.
    const svc = fromFile["kubecycle.v1.Agent"] as ServiceDefinition;
    const svc2 = embedded["kubecycle.v1.Agent"] as ServiceDefinition;
    const stop = { operationId: "op-1", units: [{ name: "kubelet", settleTimeoutMs: 5000 }], ignoreMissing: true };
    for (const service of ["kubecycle.v1.Agent", "kubecycle.v1.Registry"]) {
      const fileSvc = fromFile[service] as ServiceDefinition;
      const embeddedSvc = embedded[service] as ServiceDefinition;
      for (const [name, method] of Object.entries(fileSvc)) {
        const other = embeddedSvc[name];
        expect(other, name).toBeDefined();
        const sample = name === "StopUnits" ? stop : {};
        const a = method.requestSerialize(sample);
        expect(other?.requestSerialize(sample), name).toEqual(a);
        expect(other?.requestDeserialize(a), name).toEqual(method.requestDeserialize(a));
      }
    }
    const bytes = svc.StopUnits?.requestSerialize(stop);
    expect(svc2.StopUnits?.requestDeserialize(bytes as Buffer)).toMatchObject(stop);
    for (const k of messages) {
      const m = fromFile[k] as MessageTypeDefinition<object, object>;
      const e = embedded[k] as MessageTypeDefinition<object, object>;
      expect(e.type, k).toEqual(m.type);
    }
  });
});
