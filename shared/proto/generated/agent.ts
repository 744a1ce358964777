import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Address as _kubecycle_v1_Address, Address__Output as _kubecycle_v1_Address__Output } from './kubecycle/v1/Address';
import type { AgentClient as _kubecycle_v1_AgentClient, AgentDefinition as _kubecycle_v1_AgentDefinition } from './kubecycle/v1/Agent';
import type { Disk as _kubecycle_v1_Disk, Disk__Output as _kubecycle_v1_Disk__Output } from './kubecycle/v1/Disk';
import type { EtcdMember as _kubecycle_v1_EtcdMember, EtcdMember__Output as _kubecycle_v1_EtcdMember__Output } from './kubecycle/v1/EtcdMember';
import type { EtcdMemberStatus as _kubecycle_v1_EtcdMemberStatus, EtcdMemberStatus__Output as _kubecycle_v1_EtcdMemberStatus__Output } from './kubecycle/v1/EtcdMemberStatus';
import type { EtcdSnapshotRequest as _kubecycle_v1_EtcdSnapshotRequest, EtcdSnapshotRequest__Output as _kubecycle_v1_EtcdSnapshotRequest__Output } from './kubecycle/v1/EtcdSnapshotRequest';
import type { EtcdStatusRequest as _kubecycle_v1_EtcdStatusRequest, EtcdStatusRequest__Output as _kubecycle_v1_EtcdStatusRequest__Output } from './kubecycle/v1/EtcdStatusRequest';
import type { GetStatusRequest as _kubecycle_v1_GetStatusRequest, GetStatusRequest__Output as _kubecycle_v1_GetStatusRequest__Output } from './kubecycle/v1/GetStatusRequest';
import type { HealthRequest as _kubecycle_v1_HealthRequest, HealthRequest__Output as _kubecycle_v1_HealthRequest__Output } from './kubecycle/v1/HealthRequest';
import type { HealthResponse as _kubecycle_v1_HealthResponse, HealthResponse__Output as _kubecycle_v1_HealthResponse__Output } from './kubecycle/v1/HealthResponse';
import type { NodeFacts as _kubecycle_v1_NodeFacts, NodeFacts__Output as _kubecycle_v1_NodeFacts__Output } from './kubecycle/v1/NodeFacts';
import type { NodeStatus as _kubecycle_v1_NodeStatus, NodeStatus__Output as _kubecycle_v1_NodeStatus__Output } from './kubecycle/v1/NodeStatus';
import type { PodSandbox as _kubecycle_v1_PodSandbox, PodSandbox__Output as _kubecycle_v1_PodSandbox__Output } from './kubecycle/v1/PodSandbox';
import type { PodSandboxesResult as _kubecycle_v1_PodSandboxesResult, PodSandboxesResult__Output as _kubecycle_v1_PodSandboxesResult__Output } from './kubecycle/v1/PodSandboxesResult';
import type { SetAutoStartRequest as _kubecycle_v1_SetAutoStartRequest, SetAutoStartRequest__Output as _kubecycle_v1_SetAutoStartRequest__Output } from './kubecycle/v1/SetAutoStartRequest';
import type { SnapshotChunk as _kubecycle_v1_SnapshotChunk, SnapshotChunk__Output as _kubecycle_v1_SnapshotChunk__Output } from './kubecycle/v1/SnapshotChunk';
import type { SnapshotSummary as _kubecycle_v1_SnapshotSummary, SnapshotSummary__Output as _kubecycle_v1_SnapshotSummary__Output } from './kubecycle/v1/SnapshotSummary';
import type { StartUnitsRequest as _kubecycle_v1_StartUnitsRequest, StartUnitsRequest__Output as _kubecycle_v1_StartUnitsRequest__Output } from './kubecycle/v1/StartUnitsRequest';
import type { StopPodSandboxesRequest as _kubecycle_v1_StopPodSandboxesRequest, StopPodSandboxesRequest__Output as _kubecycle_v1_StopPodSandboxesRequest__Output } from './kubecycle/v1/StopPodSandboxesRequest';
import type { StopUnitsRequest as _kubecycle_v1_StopUnitsRequest, StopUnitsRequest__Output as _kubecycle_v1_StopUnitsRequest__Output } from './kubecycle/v1/StopUnitsRequest';
import type { UnitOutcome as _kubecycle_v1_UnitOutcome, UnitOutcome__Output as _kubecycle_v1_UnitOutcome__Output } from './kubecycle/v1/UnitOutcome';
import type { UnitRequest as _kubecycle_v1_UnitRequest, UnitRequest__Output as _kubecycle_v1_UnitRequest__Output } from './kubecycle/v1/UnitRequest';
import type { UnitStatus as _kubecycle_v1_UnitStatus, UnitStatus__Output as _kubecycle_v1_UnitStatus__Output } from './kubecycle/v1/UnitStatus';
import type { UnitsResult as _kubecycle_v1_UnitsResult, UnitsResult__Output as _kubecycle_v1_UnitsResult__Output } from './kubecycle/v1/UnitsResult';
import type { WatchStatusRequest as _kubecycle_v1_WatchStatusRequest, WatchStatusRequest__Output as _kubecycle_v1_WatchStatusRequest__Output } from './kubecycle/v1/WatchStatusRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  kubecycle: {
    v1: {
      Address: MessageTypeDefinition<_kubecycle_v1_Address, _kubecycle_v1_Address__Output>
      Agent: SubtypeConstructor<typeof grpc.Client, _kubecycle_v1_AgentClient> & { service: _kubecycle_v1_AgentDefinition }
      Disk: MessageTypeDefinition<_kubecycle_v1_Disk, _kubecycle_v1_Disk__Output>
      EtcdMember: MessageTypeDefinition<_kubecycle_v1_EtcdMember, _kubecycle_v1_EtcdMember__Output>
      EtcdMemberStatus: MessageTypeDefinition<_kubecycle_v1_EtcdMemberStatus, _kubecycle_v1_EtcdMemberStatus__Output>
      EtcdSnapshotRequest: MessageTypeDefinition<_kubecycle_v1_EtcdSnapshotRequest, _kubecycle_v1_EtcdSnapshotRequest__Output>
      EtcdStatusRequest: MessageTypeDefinition<_kubecycle_v1_EtcdStatusRequest, _kubecycle_v1_EtcdStatusRequest__Output>
      GetStatusRequest: MessageTypeDefinition<_kubecycle_v1_GetStatusRequest, _kubecycle_v1_GetStatusRequest__Output>
      HealthRequest: MessageTypeDefinition<_kubecycle_v1_HealthRequest, _kubecycle_v1_HealthRequest__Output>
      HealthResponse: MessageTypeDefinition<_kubecycle_v1_HealthResponse, _kubecycle_v1_HealthResponse__Output>
      NodeFacts: MessageTypeDefinition<_kubecycle_v1_NodeFacts, _kubecycle_v1_NodeFacts__Output>
      NodeStatus: MessageTypeDefinition<_kubecycle_v1_NodeStatus, _kubecycle_v1_NodeStatus__Output>
      Outcome: EnumTypeDefinition
      PodSandbox: MessageTypeDefinition<_kubecycle_v1_PodSandbox, _kubecycle_v1_PodSandbox__Output>
      PodSandboxesResult: MessageTypeDefinition<_kubecycle_v1_PodSandboxesResult, _kubecycle_v1_PodSandboxesResult__Output>
      Role: EnumTypeDefinition
      SetAutoStartRequest: MessageTypeDefinition<_kubecycle_v1_SetAutoStartRequest, _kubecycle_v1_SetAutoStartRequest__Output>
      SnapshotChunk: MessageTypeDefinition<_kubecycle_v1_SnapshotChunk, _kubecycle_v1_SnapshotChunk__Output>
      SnapshotSummary: MessageTypeDefinition<_kubecycle_v1_SnapshotSummary, _kubecycle_v1_SnapshotSummary__Output>
      StartUnitsRequest: MessageTypeDefinition<_kubecycle_v1_StartUnitsRequest, _kubecycle_v1_StartUnitsRequest__Output>
      StopPodSandboxesRequest: MessageTypeDefinition<_kubecycle_v1_StopPodSandboxesRequest, _kubecycle_v1_StopPodSandboxesRequest__Output>
      StopUnitsRequest: MessageTypeDefinition<_kubecycle_v1_StopUnitsRequest, _kubecycle_v1_StopUnitsRequest__Output>
      UnitOutcome: MessageTypeDefinition<_kubecycle_v1_UnitOutcome, _kubecycle_v1_UnitOutcome__Output>
      UnitRequest: MessageTypeDefinition<_kubecycle_v1_UnitRequest, _kubecycle_v1_UnitRequest__Output>
      UnitStatus: MessageTypeDefinition<_kubecycle_v1_UnitStatus, _kubecycle_v1_UnitStatus__Output>
      UnitsResult: MessageTypeDefinition<_kubecycle_v1_UnitsResult, _kubecycle_v1_UnitsResult__Output>
      WatchStatusRequest: MessageTypeDefinition<_kubecycle_v1_WatchStatusRequest, _kubecycle_v1_WatchStatusRequest__Output>
    }
  }
}

