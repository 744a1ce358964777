import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Address as _kubecycle_v1_Address, Address__Output as _kubecycle_v1_Address__Output } from './kubecycle/v1/Address';
import type { AgentClient as _kubecycle_v1_AgentClient, AgentDefinition as _kubecycle_v1_AgentDefinition } from './kubecycle/v1/Agent';
import type { Disk as _kubecycle_v1_Disk, Disk__Output as _kubecycle_v1_Disk__Output } from './kubecycle/v1/Disk';
import type { GetStatusRequest as _kubecycle_v1_GetStatusRequest, GetStatusRequest__Output as _kubecycle_v1_GetStatusRequest__Output } from './kubecycle/v1/GetStatusRequest';
import type { HealthRequest as _kubecycle_v1_HealthRequest, HealthRequest__Output as _kubecycle_v1_HealthRequest__Output } from './kubecycle/v1/HealthRequest';
import type { HealthResponse as _kubecycle_v1_HealthResponse, HealthResponse__Output as _kubecycle_v1_HealthResponse__Output } from './kubecycle/v1/HealthResponse';
import type { NodeFacts as _kubecycle_v1_NodeFacts, NodeFacts__Output as _kubecycle_v1_NodeFacts__Output } from './kubecycle/v1/NodeFacts';
import type { NodeStatus as _kubecycle_v1_NodeStatus, NodeStatus__Output as _kubecycle_v1_NodeStatus__Output } from './kubecycle/v1/NodeStatus';
import type { SetAutoStartRequest as _kubecycle_v1_SetAutoStartRequest, SetAutoStartRequest__Output as _kubecycle_v1_SetAutoStartRequest__Output } from './kubecycle/v1/SetAutoStartRequest';
import type { StartUnitsRequest as _kubecycle_v1_StartUnitsRequest, StartUnitsRequest__Output as _kubecycle_v1_StartUnitsRequest__Output } from './kubecycle/v1/StartUnitsRequest';
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
      GetStatusRequest: MessageTypeDefinition<_kubecycle_v1_GetStatusRequest, _kubecycle_v1_GetStatusRequest__Output>
      HealthRequest: MessageTypeDefinition<_kubecycle_v1_HealthRequest, _kubecycle_v1_HealthRequest__Output>
      HealthResponse: MessageTypeDefinition<_kubecycle_v1_HealthResponse, _kubecycle_v1_HealthResponse__Output>
      NodeFacts: MessageTypeDefinition<_kubecycle_v1_NodeFacts, _kubecycle_v1_NodeFacts__Output>
      NodeStatus: MessageTypeDefinition<_kubecycle_v1_NodeStatus, _kubecycle_v1_NodeStatus__Output>
      Outcome: EnumTypeDefinition
      Role: EnumTypeDefinition
      SetAutoStartRequest: MessageTypeDefinition<_kubecycle_v1_SetAutoStartRequest, _kubecycle_v1_SetAutoStartRequest__Output>
      StartUnitsRequest: MessageTypeDefinition<_kubecycle_v1_StartUnitsRequest, _kubecycle_v1_StartUnitsRequest__Output>
      StopUnitsRequest: MessageTypeDefinition<_kubecycle_v1_StopUnitsRequest, _kubecycle_v1_StopUnitsRequest__Output>
      UnitOutcome: MessageTypeDefinition<_kubecycle_v1_UnitOutcome, _kubecycle_v1_UnitOutcome__Output>
      UnitRequest: MessageTypeDefinition<_kubecycle_v1_UnitRequest, _kubecycle_v1_UnitRequest__Output>
      UnitStatus: MessageTypeDefinition<_kubecycle_v1_UnitStatus, _kubecycle_v1_UnitStatus__Output>
      UnitsResult: MessageTypeDefinition<_kubecycle_v1_UnitsResult, _kubecycle_v1_UnitsResult__Output>
      WatchStatusRequest: MessageTypeDefinition<_kubecycle_v1_WatchStatusRequest, _kubecycle_v1_WatchStatusRequest__Output>
    }
  }
}

