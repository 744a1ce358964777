import { loadPackageDefinition } from "@grpc/grpc-js";
import { loadSync, type Options } from "@grpc/proto-loader";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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

/** proto-loader options; they must match the ones `npm run proto:gen` generates the types with. */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

const AGENT_PROTO = "proto/kubecycle/v1/agent.proto";
const REGISTRY_PROTO = "proto/kubecycle/v1/registry.proto";

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
  return protoPath(AGENT_PROTO);
}

let cached: ProtoGrpcType | undefined;

/** Loads the agent contract once per process. */
export function loadAgentProto(): ProtoGrpcType {
  cached ??= loadPackageDefinition(loadSync(agentProtoPath(), PROTO_LOADER_OPTIONS)) as unknown as ProtoGrpcType;
  return cached;
}

let cachedRegistry: RegistryProtoGrpcType | undefined;

/** Loads the registry contract (`kubecycle serve`'s, which imports the agent's messages) once per process. */
export function loadRegistryProto(): RegistryProtoGrpcType {
  cachedRegistry ??= loadPackageDefinition(
    loadSync(protoPath(REGISTRY_PROTO), PROTO_LOADER_OPTIONS),
  ) as unknown as RegistryProtoGrpcType;
  return cachedRegistry;
}
