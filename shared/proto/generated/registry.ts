import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Address as _kubecycle_v1_Address, Address__Output as _kubecycle_v1_Address__Output } from './kubecycle/v1/Address';
import type { AgentClient as _kubecycle_v1_AgentClient, AgentDefinition as _kubecycle_v1_AgentDefinition } from './kubecycle/v1/Agent';
import type { BootReport as _kubecycle_v1_BootReport, BootReport__Output as _kubecycle_v1_BootReport__Output } from './kubecycle/v1/BootReport';
import type { CertificateInfo as _kubecycle_v1_CertificateInfo, CertificateInfo__Output as _kubecycle_v1_CertificateInfo__Output } from './kubecycle/v1/CertificateInfo';
import type { CertificatesResult as _kubecycle_v1_CertificatesResult, CertificatesResult__Output as _kubecycle_v1_CertificatesResult__Output } from './kubecycle/v1/CertificatesResult';
import type { Clock as _kubecycle_v1_Clock, Clock__Output as _kubecycle_v1_Clock__Output } from './kubecycle/v1/Clock';
import type { ComponentHealth as _kubecycle_v1_ComponentHealth, ComponentHealth__Output as _kubecycle_v1_ComponentHealth__Output } from './kubecycle/v1/ComponentHealth';
import type { ComponentsHealth as _kubecycle_v1_ComponentsHealth, ComponentsHealth__Output as _kubecycle_v1_ComponentsHealth__Output } from './kubecycle/v1/ComponentsHealth';
import type { Disk as _kubecycle_v1_Disk, Disk__Output as _kubecycle_v1_Disk__Output } from './kubecycle/v1/Disk';
import type { DiskUsage as _kubecycle_v1_DiskUsage, DiskUsage__Output as _kubecycle_v1_DiskUsage__Output } from './kubecycle/v1/DiskUsage';
import type { EtcdLayout as _kubecycle_v1_EtcdLayout, EtcdLayout__Output as _kubecycle_v1_EtcdLayout__Output } from './kubecycle/v1/EtcdLayout';
import type { EtcdMember as _kubecycle_v1_EtcdMember, EtcdMember__Output as _kubecycle_v1_EtcdMember__Output } from './kubecycle/v1/EtcdMember';
import type { EtcdMemberStatus as _kubecycle_v1_EtcdMemberStatus, EtcdMemberStatus__Output as _kubecycle_v1_EtcdMemberStatus__Output } from './kubecycle/v1/EtcdMemberStatus';
import type { EtcdRejoinRequest as _kubecycle_v1_EtcdRejoinRequest, EtcdRejoinRequest__Output as _kubecycle_v1_EtcdRejoinRequest__Output } from './kubecycle/v1/EtcdRejoinRequest';
import type { EtcdRejoinResult as _kubecycle_v1_EtcdRejoinResult, EtcdRejoinResult__Output as _kubecycle_v1_EtcdRejoinResult__Output } from './kubecycle/v1/EtcdRejoinResult';
import type { EtcdReplaceMemberRequest as _kubecycle_v1_EtcdReplaceMemberRequest, EtcdReplaceMemberRequest__Output as _kubecycle_v1_EtcdReplaceMemberRequest__Output } from './kubecycle/v1/EtcdReplaceMemberRequest';
import type { EtcdReplaceMemberResult as _kubecycle_v1_EtcdReplaceMemberResult, EtcdReplaceMemberResult__Output as _kubecycle_v1_EtcdReplaceMemberResult__Output } from './kubecycle/v1/EtcdReplaceMemberResult';
import type { EtcdRestoreRequest as _kubecycle_v1_EtcdRestoreRequest, EtcdRestoreRequest__Output as _kubecycle_v1_EtcdRestoreRequest__Output } from './kubecycle/v1/EtcdRestoreRequest';
import type { EtcdRestoreResult as _kubecycle_v1_EtcdRestoreResult, EtcdRestoreResult__Output as _kubecycle_v1_EtcdRestoreResult__Output } from './kubecycle/v1/EtcdRestoreResult';
import type { EtcdSnapshotRequest as _kubecycle_v1_EtcdSnapshotRequest, EtcdSnapshotRequest__Output as _kubecycle_v1_EtcdSnapshotRequest__Output } from './kubecycle/v1/EtcdSnapshotRequest';
import type { EtcdStatusRequest as _kubecycle_v1_EtcdStatusRequest, EtcdStatusRequest__Output as _kubecycle_v1_EtcdStatusRequest__Output } from './kubecycle/v1/EtcdStatusRequest';
import type { GetCertificatesRequest as _kubecycle_v1_GetCertificatesRequest, GetCertificatesRequest__Output as _kubecycle_v1_GetCertificatesRequest__Output } from './kubecycle/v1/GetCertificatesRequest';
import type { GetClockRequest as _kubecycle_v1_GetClockRequest, GetClockRequest__Output as _kubecycle_v1_GetClockRequest__Output } from './kubecycle/v1/GetClockRequest';
import type { GetDiskUsageRequest as _kubecycle_v1_GetDiskUsageRequest, GetDiskUsageRequest__Output as _kubecycle_v1_GetDiskUsageRequest__Output } from './kubecycle/v1/GetDiskUsageRequest';
import type { GetNodeLayoutRequest as _kubecycle_v1_GetNodeLayoutRequest, GetNodeLayoutRequest__Output as _kubecycle_v1_GetNodeLayoutRequest__Output } from './kubecycle/v1/GetNodeLayoutRequest';
import type { GetStatusRequest as _kubecycle_v1_GetStatusRequest, GetStatusRequest__Output as _kubecycle_v1_GetStatusRequest__Output } from './kubecycle/v1/GetStatusRequest';
import type { HealthRequest as _kubecycle_v1_HealthRequest, HealthRequest__Output as _kubecycle_v1_HealthRequest__Output } from './kubecycle/v1/HealthRequest';
import type { HealthResponse as _kubecycle_v1_HealthResponse, HealthResponse__Output as _kubecycle_v1_HealthResponse__Output } from './kubecycle/v1/HealthResponse';
import type { JournalLines as _kubecycle_v1_JournalLines, JournalLines__Output as _kubecycle_v1_JournalLines__Output } from './kubecycle/v1/JournalLines';
import type { KeptReport as _kubecycle_v1_KeptReport, KeptReport__Output as _kubecycle_v1_KeptReport__Output } from './kubecycle/v1/KeptReport';
import type { ListReportsRequest as _kubecycle_v1_ListReportsRequest, ListReportsRequest__Output as _kubecycle_v1_ListReportsRequest__Output } from './kubecycle/v1/ListReportsRequest';
import type { MissingNode as _kubecycle_v1_MissingNode, MissingNode__Output as _kubecycle_v1_MissingNode__Output } from './kubecycle/v1/MissingNode';
import type { NetworkProbe as _kubecycle_v1_NetworkProbe, NetworkProbe__Output as _kubecycle_v1_NetworkProbe__Output } from './kubecycle/v1/NetworkProbe';
import type { NetworkProbes as _kubecycle_v1_NetworkProbes, NetworkProbes__Output as _kubecycle_v1_NetworkProbes__Output } from './kubecycle/v1/NetworkProbes';
import type { NodeFacts as _kubecycle_v1_NodeFacts, NodeFacts__Output as _kubecycle_v1_NodeFacts__Output } from './kubecycle/v1/NodeFacts';
import type { NodeLayout as _kubecycle_v1_NodeLayout, NodeLayout__Output as _kubecycle_v1_NodeLayout__Output } from './kubecycle/v1/NodeLayout';
import type { NodeStatus as _kubecycle_v1_NodeStatus, NodeStatus__Output as _kubecycle_v1_NodeStatus__Output } from './kubecycle/v1/NodeStatus';
import type { PathUsage as _kubecycle_v1_PathUsage, PathUsage__Output as _kubecycle_v1_PathUsage__Output } from './kubecycle/v1/PathUsage';
import type { PodSandbox as _kubecycle_v1_PodSandbox, PodSandbox__Output as _kubecycle_v1_PodSandbox__Output } from './kubecycle/v1/PodSandbox';
import type { PodSandboxesResult as _kubecycle_v1_PodSandboxesResult, PodSandboxesResult__Output as _kubecycle_v1_PodSandboxesResult__Output } from './kubecycle/v1/PodSandboxesResult';
import type { PowerOffRequest as _kubecycle_v1_PowerOffRequest, PowerOffRequest__Output as _kubecycle_v1_PowerOffRequest__Output } from './kubecycle/v1/PowerOffRequest';
import type { PowerOffResult as _kubecycle_v1_PowerOffResult, PowerOffResult__Output as _kubecycle_v1_PowerOffResult__Output } from './kubecycle/v1/PowerOffResult';
import type { ProbeComponentsRequest as _kubecycle_v1_ProbeComponentsRequest, ProbeComponentsRequest__Output as _kubecycle_v1_ProbeComponentsRequest__Output } from './kubecycle/v1/ProbeComponentsRequest';
import type { ProbeNetworkRequest as _kubecycle_v1_ProbeNetworkRequest, ProbeNetworkRequest__Output as _kubecycle_v1_ProbeNetworkRequest__Output } from './kubecycle/v1/ProbeNetworkRequest';
import type { ReadJournalRequest as _kubecycle_v1_ReadJournalRequest, ReadJournalRequest__Output as _kubecycle_v1_ReadJournalRequest__Output } from './kubecycle/v1/ReadJournalRequest';
import type { RegistryClient as _kubecycle_v1_RegistryClient, RegistryDefinition as _kubecycle_v1_RegistryDefinition } from './kubecycle/v1/Registry';
import type { ReportAck as _kubecycle_v1_ReportAck, ReportAck__Output as _kubecycle_v1_ReportAck__Output } from './kubecycle/v1/ReportAck';
import type { ReportList as _kubecycle_v1_ReportList, ReportList__Output as _kubecycle_v1_ReportList__Output } from './kubecycle/v1/ReportList';
import type { RuntimeLayout as _kubecycle_v1_RuntimeLayout, RuntimeLayout__Output as _kubecycle_v1_RuntimeLayout__Output } from './kubecycle/v1/RuntimeLayout';
import type { RuntimeUnit as _kubecycle_v1_RuntimeUnit, RuntimeUnit__Output as _kubecycle_v1_RuntimeUnit__Output } from './kubecycle/v1/RuntimeUnit';
import type { SetAutoStartRequest as _kubecycle_v1_SetAutoStartRequest, SetAutoStartRequest__Output as _kubecycle_v1_SetAutoStartRequest__Output } from './kubecycle/v1/SetAutoStartRequest';
import type { SnapshotChunk as _kubecycle_v1_SnapshotChunk, SnapshotChunk__Output as _kubecycle_v1_SnapshotChunk__Output } from './kubecycle/v1/SnapshotChunk';
import type { SnapshotSummary as _kubecycle_v1_SnapshotSummary, SnapshotSummary__Output as _kubecycle_v1_SnapshotSummary__Output } from './kubecycle/v1/SnapshotSummary';
import type { SnapshotUpload as _kubecycle_v1_SnapshotUpload, SnapshotUpload__Output as _kubecycle_v1_SnapshotUpload__Output } from './kubecycle/v1/SnapshotUpload';
import type { SnapshotUploadHeader as _kubecycle_v1_SnapshotUploadHeader, SnapshotUploadHeader__Output as _kubecycle_v1_SnapshotUploadHeader__Output } from './kubecycle/v1/SnapshotUploadHeader';
import type { StagedSnapshot as _kubecycle_v1_StagedSnapshot, StagedSnapshot__Output as _kubecycle_v1_StagedSnapshot__Output } from './kubecycle/v1/StagedSnapshot';
import type { StartOnBoot as _kubecycle_v1_StartOnBoot, StartOnBoot__Output as _kubecycle_v1_StartOnBoot__Output } from './kubecycle/v1/StartOnBoot';
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
      BootReport: MessageTypeDefinition<_kubecycle_v1_BootReport, _kubecycle_v1_BootReport__Output>
      CertificateInfo: MessageTypeDefinition<_kubecycle_v1_CertificateInfo, _kubecycle_v1_CertificateInfo__Output>
      CertificatesResult: MessageTypeDefinition<_kubecycle_v1_CertificatesResult, _kubecycle_v1_CertificatesResult__Output>
      Clock: MessageTypeDefinition<_kubecycle_v1_Clock, _kubecycle_v1_Clock__Output>
      ComponentHealth: MessageTypeDefinition<_kubecycle_v1_ComponentHealth, _kubecycle_v1_ComponentHealth__Output>
      ComponentsHealth: MessageTypeDefinition<_kubecycle_v1_ComponentsHealth, _kubecycle_v1_ComponentsHealth__Output>
      Disk: MessageTypeDefinition<_kubecycle_v1_Disk, _kubecycle_v1_Disk__Output>
      DiskUsage: MessageTypeDefinition<_kubecycle_v1_DiskUsage, _kubecycle_v1_DiskUsage__Output>
      EtcdLayout: MessageTypeDefinition<_kubecycle_v1_EtcdLayout, _kubecycle_v1_EtcdLayout__Output>
      EtcdMember: MessageTypeDefinition<_kubecycle_v1_EtcdMember, _kubecycle_v1_EtcdMember__Output>
      EtcdMemberStatus: MessageTypeDefinition<_kubecycle_v1_EtcdMemberStatus, _kubecycle_v1_EtcdMemberStatus__Output>
      EtcdMode: EnumTypeDefinition
      EtcdRejoinRequest: MessageTypeDefinition<_kubecycle_v1_EtcdRejoinRequest, _kubecycle_v1_EtcdRejoinRequest__Output>
      EtcdRejoinResult: MessageTypeDefinition<_kubecycle_v1_EtcdRejoinResult, _kubecycle_v1_EtcdRejoinResult__Output>
      EtcdReplaceMemberRequest: MessageTypeDefinition<_kubecycle_v1_EtcdReplaceMemberRequest, _kubecycle_v1_EtcdReplaceMemberRequest__Output>
      EtcdReplaceMemberResult: MessageTypeDefinition<_kubecycle_v1_EtcdReplaceMemberResult, _kubecycle_v1_EtcdReplaceMemberResult__Output>
      EtcdRestoreRequest: MessageTypeDefinition<_kubecycle_v1_EtcdRestoreRequest, _kubecycle_v1_EtcdRestoreRequest__Output>
      EtcdRestoreResult: MessageTypeDefinition<_kubecycle_v1_EtcdRestoreResult, _kubecycle_v1_EtcdRestoreResult__Output>
      EtcdSnapshotRequest: MessageTypeDefinition<_kubecycle_v1_EtcdSnapshotRequest, _kubecycle_v1_EtcdSnapshotRequest__Output>
      EtcdStatusRequest: MessageTypeDefinition<_kubecycle_v1_EtcdStatusRequest, _kubecycle_v1_EtcdStatusRequest__Output>
      GetCertificatesRequest: MessageTypeDefinition<_kubecycle_v1_GetCertificatesRequest, _kubecycle_v1_GetCertificatesRequest__Output>
      GetClockRequest: MessageTypeDefinition<_kubecycle_v1_GetClockRequest, _kubecycle_v1_GetClockRequest__Output>
      GetDiskUsageRequest: MessageTypeDefinition<_kubecycle_v1_GetDiskUsageRequest, _kubecycle_v1_GetDiskUsageRequest__Output>
      GetNodeLayoutRequest: MessageTypeDefinition<_kubecycle_v1_GetNodeLayoutRequest, _kubecycle_v1_GetNodeLayoutRequest__Output>
      GetStatusRequest: MessageTypeDefinition<_kubecycle_v1_GetStatusRequest, _kubecycle_v1_GetStatusRequest__Output>
      HealthRequest: MessageTypeDefinition<_kubecycle_v1_HealthRequest, _kubecycle_v1_HealthRequest__Output>
      HealthResponse: MessageTypeDefinition<_kubecycle_v1_HealthResponse, _kubecycle_v1_HealthResponse__Output>
      JournalLines: MessageTypeDefinition<_kubecycle_v1_JournalLines, _kubecycle_v1_JournalLines__Output>
      KeptReport: MessageTypeDefinition<_kubecycle_v1_KeptReport, _kubecycle_v1_KeptReport__Output>
      ListReportsRequest: MessageTypeDefinition<_kubecycle_v1_ListReportsRequest, _kubecycle_v1_ListReportsRequest__Output>
      MissingNode: MessageTypeDefinition<_kubecycle_v1_MissingNode, _kubecycle_v1_MissingNode__Output>
      NetworkProbe: MessageTypeDefinition<_kubecycle_v1_NetworkProbe, _kubecycle_v1_NetworkProbe__Output>
      NetworkProbes: MessageTypeDefinition<_kubecycle_v1_NetworkProbes, _kubecycle_v1_NetworkProbes__Output>
      NodeFacts: MessageTypeDefinition<_kubecycle_v1_NodeFacts, _kubecycle_v1_NodeFacts__Output>
      NodeLayout: MessageTypeDefinition<_kubecycle_v1_NodeLayout, _kubecycle_v1_NodeLayout__Output>
      NodeStatus: MessageTypeDefinition<_kubecycle_v1_NodeStatus, _kubecycle_v1_NodeStatus__Output>
      Outcome: EnumTypeDefinition
      PathUsage: MessageTypeDefinition<_kubecycle_v1_PathUsage, _kubecycle_v1_PathUsage__Output>
      PodSandbox: MessageTypeDefinition<_kubecycle_v1_PodSandbox, _kubecycle_v1_PodSandbox__Output>
      PodSandboxesResult: MessageTypeDefinition<_kubecycle_v1_PodSandboxesResult, _kubecycle_v1_PodSandboxesResult__Output>
      PodScope: EnumTypeDefinition
      PowerOffRequest: MessageTypeDefinition<_kubecycle_v1_PowerOffRequest, _kubecycle_v1_PowerOffRequest__Output>
      PowerOffResult: MessageTypeDefinition<_kubecycle_v1_PowerOffResult, _kubecycle_v1_PowerOffResult__Output>
      ProbeComponentsRequest: MessageTypeDefinition<_kubecycle_v1_ProbeComponentsRequest, _kubecycle_v1_ProbeComponentsRequest__Output>
      ProbeNetworkRequest: MessageTypeDefinition<_kubecycle_v1_ProbeNetworkRequest, _kubecycle_v1_ProbeNetworkRequest__Output>
      ReadJournalRequest: MessageTypeDefinition<_kubecycle_v1_ReadJournalRequest, _kubecycle_v1_ReadJournalRequest__Output>
      Registry: SubtypeConstructor<typeof grpc.Client, _kubecycle_v1_RegistryClient> & { service: _kubecycle_v1_RegistryDefinition }
      RejoinPhase: EnumTypeDefinition
      ReportAck: MessageTypeDefinition<_kubecycle_v1_ReportAck, _kubecycle_v1_ReportAck__Output>
      ReportList: MessageTypeDefinition<_kubecycle_v1_ReportList, _kubecycle_v1_ReportList__Output>
      ReportReason: EnumTypeDefinition
      Role: EnumTypeDefinition
      RuntimeLayout: MessageTypeDefinition<_kubecycle_v1_RuntimeLayout, _kubecycle_v1_RuntimeLayout__Output>
      RuntimeUnit: MessageTypeDefinition<_kubecycle_v1_RuntimeUnit, _kubecycle_v1_RuntimeUnit__Output>
      SetAutoStartRequest: MessageTypeDefinition<_kubecycle_v1_SetAutoStartRequest, _kubecycle_v1_SetAutoStartRequest__Output>
      SnapshotChunk: MessageTypeDefinition<_kubecycle_v1_SnapshotChunk, _kubecycle_v1_SnapshotChunk__Output>
      SnapshotSummary: MessageTypeDefinition<_kubecycle_v1_SnapshotSummary, _kubecycle_v1_SnapshotSummary__Output>
      SnapshotUpload: MessageTypeDefinition<_kubecycle_v1_SnapshotUpload, _kubecycle_v1_SnapshotUpload__Output>
      SnapshotUploadHeader: MessageTypeDefinition<_kubecycle_v1_SnapshotUploadHeader, _kubecycle_v1_SnapshotUploadHeader__Output>
      StagedSnapshot: MessageTypeDefinition<_kubecycle_v1_StagedSnapshot, _kubecycle_v1_StagedSnapshot__Output>
      StartOnBoot: MessageTypeDefinition<_kubecycle_v1_StartOnBoot, _kubecycle_v1_StartOnBoot__Output>
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

