import { loadPackageDefinition, type GrpcObject, type MethodDefinition } from "@grpc/grpc-js";
import type { Options } from "@grpc/proto-loader";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf, { type INamespace } from "protobufjs";
import type { ProtoGrpcType } from "./generated/agent.js";
import type { ProtoGrpcType as RegistryProtoGrpcType } from "./generated/registry.js";

export type * from "./generated/kubecycle/v1/Agent.js";
export type * from "./generated/kubecycle/v1/HealthResponse.js";
export type * from "./generated/kubecycle/v1/NodeStatus.js";
export type * from "./generated/kubecycle/v1/NodeFacts.js";
export type * from "./generated/kubecycle/v1/UnitStatus.js";
export type * from "./generated/kubecycle/v1/UnitRequest.js";
export type * from "./generated/kubecycle/v1/UnitOutcome.js";
export type * from "./generated/kubecycle/v1/UnitsResult.js";
export type * from "./generated/kubecycle/v1/StopUnitsRequest.js";
export type * from "./generated/kubecycle/v1/StartUnitsRequest.js";
export type * from "./generated/kubecycle/v1/SetAutoStartRequest.js";
export type * from "./generated/kubecycle/v1/GetStatusRequest.js";
export type * from "./generated/kubecycle/v1/WatchStatusRequest.js";
export type * from "./generated/kubecycle/v1/Disk.js";
export type * from "./generated/kubecycle/v1/Address.js";
export type * from "./generated/kubecycle/v1/Outcome.js";
export type * from "./generated/kubecycle/v1/EtcdMember.js";
export type * from "./generated/kubecycle/v1/EtcdMemberStatus.js";
export type * from "./generated/kubecycle/v1/EtcdStatusRequest.js";
export type * from "./generated/kubecycle/v1/EtcdSnapshotRequest.js";
export type * from "./generated/kubecycle/v1/SnapshotChunk.js";
export type * from "./generated/kubecycle/v1/SnapshotSummary.js";
export type * from "./generated/kubecycle/v1/StopPodSandboxesRequest.js";
export type * from "./generated/kubecycle/v1/PodSandbox.js";
export type * from "./generated/kubecycle/v1/PodSandboxesResult.js";
export type * from "./generated/kubecycle/v1/PodScope.js";
export type * from "./generated/kubecycle/v1/GetNodeLayoutRequest.js";
export type * from "./generated/kubecycle/v1/NodeLayout.js";
export type * from "./generated/kubecycle/v1/EtcdLayout.js";
export type * from "./generated/kubecycle/v1/EtcdMode.js";
export type * from "./generated/kubecycle/v1/RuntimeLayout.js";
export type * from "./generated/kubecycle/v1/RuntimeUnit.js";
export type * from "./generated/kubecycle/v1/ProbeComponentsRequest.js";
export type * from "./generated/kubecycle/v1/ComponentHealth.js";
export type * from "./generated/kubecycle/v1/ComponentsHealth.js";
export type * from "./generated/kubecycle/v1/GetCertificatesRequest.js";
export type * from "./generated/kubecycle/v1/CertificateInfo.js";
export type * from "./generated/kubecycle/v1/CertificatesResult.js";
export type * from "./generated/kubecycle/v1/PowerOffRequest.js";
export type * from "./generated/kubecycle/v1/PowerOffResult.js";
export type * from "./generated/kubecycle/v1/Registry.js";
export type * from "./generated/kubecycle/v1/BootReport.js";
export type * from "./generated/kubecycle/v1/ReportAck.js";
export type * from "./generated/kubecycle/v1/ReportReason.js";
export type * from "./generated/kubecycle/v1/ListReportsRequest.js";
export type * from "./generated/kubecycle/v1/KeptReport.js";
export type * from "./generated/kubecycle/v1/ReportList.js";
export type * from "./generated/kubecycle/v1/StartOnBoot.js";
export type * from "./generated/kubecycle/v1/MissingNode.js";
export type * from "./generated/kubecycle/v1/ReadJournalRequest.js";
export type * from "./generated/kubecycle/v1/JournalLines.js";
export type * from "./generated/kubecycle/v1/GetClockRequest.js";
export type * from "./generated/kubecycle/v1/Clock.js";
export type * from "./generated/kubecycle/v1/GetDiskUsageRequest.js";
export type * from "./generated/kubecycle/v1/PathUsage.js";
export type * from "./generated/kubecycle/v1/DiskUsage.js";
export type * from "./generated/kubecycle/v1/ProbeNetworkRequest.js";
export type * from "./generated/kubecycle/v1/NetworkProbe.js";
export type * from "./generated/kubecycle/v1/NetworkProbes.js";
export type * from "./generated/kubecycle/v1/SnapshotUpload.js";
export type * from "./generated/kubecycle/v1/SnapshotUploadHeader.js";
export type * from "./generated/kubecycle/v1/StagedSnapshot.js";
export type * from "./generated/kubecycle/v1/EtcdRestoreRequest.js";
export type * from "./generated/kubecycle/v1/EtcdRestoreResult.js";
export type * from "./generated/kubecycle/v1/EtcdReplaceMemberRequest.js";
export type * from "./generated/kubecycle/v1/EtcdReplaceMemberResult.js";
export type * from "./generated/kubecycle/v1/RejoinPhase.js";
export type * from "./generated/kubecycle/v1/EtcdRejoinRequest.js";
export type * from "./generated/kubecycle/v1/EtcdRejoinResult.js";

/** proto-loader options; they must match the ones `npm run proto:gen` generates the types with. */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/**
 * The gRPC contracts, in two groups loaded apart: kubecycle's (the agent's, and the registry `kubecycle serve` offers,
 * which imports the agent's messages), and the part of etcd's v3 API the agent reads its local member with, which
 * the coordinator never loads.
 */
const CONTRACTS = {
  kubecycle: ["proto/kubecycle/v1/agent.proto", "proto/kubecycle/v1/registry.proto"],
  etcd: ["proto/etcd/rpc.proto"],
} as const;

/** A group of contracts loaded together. */
export type ContractGroup = keyof typeof CONTRACTS;
const GROUPS = Object.keys(CONTRACTS) as ContractGroup[];

/** etcd's ids are uint64 beyond 2^53: its contract is read with 64-bit integers as decimal strings. */
const ETCD_LOADER_OPTIONS: Options = { ...PROTO_LOADER_OPTIONS, longs: String };

/**
 * Where a .proto contract lives: the nearest proto/ above this module, which is the package root whether the
 * code runs from source, from dist/ or from a single-file bundle in dist/bin/.
 */
function protoPath(file: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, file);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`${file} not found above ${fileURLToPath(import.meta.url)}`);
  }
}

/** The agent contract's path. */
export function agentProtoPath(): string {
  return protoPath(CONTRACTS.kubecycle[0]);
}

/** The paths of one group's contracts, or of every contract. */
export function protoPaths(group?: ContractGroup): string[] {
  return (group ? CONTRACTS[group] : GROUPS.flatMap((g) => CONTRACTS[g])).map(protoPath);
}

/**
 * Each group's contracts as protobuf.js JSON, parsed with {@link PROTO_LOADER_OPTIONS}: what scripts/bundle.mjs
 * embeds in the shipped bundles, so an installed binary needs no proto/ on disk.
 */
export function protoJson(): Record<ContractGroup, INamespace> {
  const json = (group: ContractGroup) => {
    // proto-loader's loadSync parses exactly like this (Root.loadSync with its options, then resolveAll).
    const root = new protobuf.Root().loadSync(protoPaths(group), PROTO_LOADER_OPTIONS);
    root.resolveAll();
    return root.toJSON();
  };
  return Object.fromEntries(GROUPS.map((g) => [g, json(g)])) as Record<ContractGroup, INamespace>;
}

// Replaced by scripts/bundle.mjs (esbuild's define) with protoJson() as a JSON string; absent in source and dist/.
declare const KUBECYCLE_PROTO_JSON: string | undefined;

/** Whether this program carries the contracts in itself (a shipped bundle) or reads proto/ from disk. */
export function protoSource(): "embedded" | "file" {
  return typeof KUBECYCLE_PROTO_JSON === "string" ? "embedded" : "file";
}

/** One group's contracts with `options`: the embedded ones in a bundle, else proto/ on disk. */
function loadContracts(group: ContractGroup, options: Options): GrpcObject {
  const root =
    typeof KUBECYCLE_PROTO_JSON === "string"
      ? protobuf.Root.fromJSON((JSON.parse(KUBECYCLE_PROTO_JSON) as Record<ContractGroup, INamespace>)[group])
      : new protobuf.Root().loadSync(protoPaths(group), options);
  return loadPackageDefinition(servicesOf(root, options));
}

type PackageDefinition = Parameters<typeof loadPackageDefinition>[0];

/**
 * The services of a contract as grpc-js takes them: for each method its path, stream kinds and (de)serializers, built
 * exactly as @grpc/proto-loader builds them (serialize: fromObject then encode; deserialize: decode then toObject with
 * the loader's options). What proto-loader adds and we leave out: a descriptor of every message and enum, and the
 * encoded file descriptors, for gRPC reflection, which nothing here serves. Building those was most of the cost of
 * loading a contract, paid at every CLI start and agent start (bench: `kubecycle status` on the lab). The message
 * types' own codecs are generated by protobuf.js on first use, as before. shared/proto/index.test.ts checks the
 * result against proto-loader's, method by method.
 */
export function servicesOf(root: protobuf.Root, options: Options): PackageDefinition {
  root.resolveAll();
  const def: PackageDefinition = {};
  const visit = (ns: protobuf.NamespaceBase, prefix: string) => {
    for (const obj of ns.nestedArray) {
      const name = prefix === "" ? obj.name : `${prefix}.${obj.name}`;
      if (obj instanceof protobuf.Service) {
        def[name] = Object.fromEntries(
          obj.methodsArray.map((m) => [m.name, methodDefinition(m, name, options)] as const),
        );
      } else if (obj instanceof protobuf.Namespace && !(obj instanceof protobuf.Type)) {
        visit(obj, name);
      }
    }
  };
  visit(root, "");
  return def;
}

function methodDefinition(
  m: protobuf.Method,
  service: string,
  options: Options,
): MethodDefinition<object, object> & { originalName: string } {
  // resolveAll() resolved both types.
  const req = m.resolvedRequestType as protobuf.Type;
  const res = m.resolvedResponseType as protobuf.Type;
  const serialize = (t: protobuf.Type) => (value: object) => {
    if (Array.isArray(value)) {
      throw new Error(`Failed to serialize message: expected object with ${t.name} structure, got array instead`);
    }
    // protobuf.js writes into a Buffer under Node.
    return t.encode(t.fromObject(value)).finish() as Buffer;
  };
  const deserialize = (t: protobuf.Type) => (buf: Buffer) => t.toObject(t.decode(buf), options);
  return {
    path: `/${service}/${m.name}`,
    requestStream: m.requestStream === true,
    responseStream: m.responseStream === true,
    requestSerialize: serialize(req),
    requestDeserialize: deserialize(req),
    responseSerialize: serialize(res),
    responseDeserialize: deserialize(res),
    // proto-loader's lodash camelCase of a PascalCase method name.
    originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
  };
}

let cached: GrpcObject | undefined;
let cachedEtcd: GrpcObject | undefined;

/** The agent contract. */
export function loadAgentProto(): ProtoGrpcType {
  cached ??= loadContracts("kubecycle", PROTO_LOADER_OPTIONS);
  return cached as unknown as ProtoGrpcType;
}

/** The registry contract (`kubecycle serve`'s). */
export function loadRegistryProto(): RegistryProtoGrpcType {
  return loadAgentProto() as unknown as RegistryProtoGrpcType;
}

/** etcd's v3 API (the subset in proto/etcd/rpc.proto), its 64-bit integers as decimal strings. */
export function loadEtcdProto(): GrpcObject {
  cachedEtcd ??= loadContracts("etcd", ETCD_LOADER_OPTIONS);
  return cachedEtcd;
}
