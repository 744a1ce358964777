// Original file: proto/kubecycle/v1/agent.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CertificatesResult as _kubecycle_v1_CertificatesResult, CertificatesResult__Output as _kubecycle_v1_CertificatesResult__Output } from '../../kubecycle/v1/CertificatesResult';
import type { Clock as _kubecycle_v1_Clock, Clock__Output as _kubecycle_v1_Clock__Output } from '../../kubecycle/v1/Clock';
import type { ComponentsHealth as _kubecycle_v1_ComponentsHealth, ComponentsHealth__Output as _kubecycle_v1_ComponentsHealth__Output } from '../../kubecycle/v1/ComponentsHealth';
import type { DiskUsage as _kubecycle_v1_DiskUsage, DiskUsage__Output as _kubecycle_v1_DiskUsage__Output } from '../../kubecycle/v1/DiskUsage';
import type { EtcdMemberStatus as _kubecycle_v1_EtcdMemberStatus, EtcdMemberStatus__Output as _kubecycle_v1_EtcdMemberStatus__Output } from '../../kubecycle/v1/EtcdMemberStatus';
import type { EtcdRejoinRequest as _kubecycle_v1_EtcdRejoinRequest, EtcdRejoinRequest__Output as _kubecycle_v1_EtcdRejoinRequest__Output } from '../../kubecycle/v1/EtcdRejoinRequest';
import type { EtcdRejoinResult as _kubecycle_v1_EtcdRejoinResult, EtcdRejoinResult__Output as _kubecycle_v1_EtcdRejoinResult__Output } from '../../kubecycle/v1/EtcdRejoinResult';
import type { EtcdReplaceMemberRequest as _kubecycle_v1_EtcdReplaceMemberRequest, EtcdReplaceMemberRequest__Output as _kubecycle_v1_EtcdReplaceMemberRequest__Output } from '../../kubecycle/v1/EtcdReplaceMemberRequest';
import type { EtcdReplaceMemberResult as _kubecycle_v1_EtcdReplaceMemberResult, EtcdReplaceMemberResult__Output as _kubecycle_v1_EtcdReplaceMemberResult__Output } from '../../kubecycle/v1/EtcdReplaceMemberResult';
import type { EtcdRestoreRequest as _kubecycle_v1_EtcdRestoreRequest, EtcdRestoreRequest__Output as _kubecycle_v1_EtcdRestoreRequest__Output } from '../../kubecycle/v1/EtcdRestoreRequest';
import type { EtcdRestoreResult as _kubecycle_v1_EtcdRestoreResult, EtcdRestoreResult__Output as _kubecycle_v1_EtcdRestoreResult__Output } from '../../kubecycle/v1/EtcdRestoreResult';
import type { EtcdSnapshotRequest as _kubecycle_v1_EtcdSnapshotRequest, EtcdSnapshotRequest__Output as _kubecycle_v1_EtcdSnapshotRequest__Output } from '../../kubecycle/v1/EtcdSnapshotRequest';
import type { EtcdStatusRequest as _kubecycle_v1_EtcdStatusRequest, EtcdStatusRequest__Output as _kubecycle_v1_EtcdStatusRequest__Output } from '../../kubecycle/v1/EtcdStatusRequest';
import type { GetCertificatesRequest as _kubecycle_v1_GetCertificatesRequest, GetCertificatesRequest__Output as _kubecycle_v1_GetCertificatesRequest__Output } from '../../kubecycle/v1/GetCertificatesRequest';
import type { GetClockRequest as _kubecycle_v1_GetClockRequest, GetClockRequest__Output as _kubecycle_v1_GetClockRequest__Output } from '../../kubecycle/v1/GetClockRequest';
import type { GetDiskUsageRequest as _kubecycle_v1_GetDiskUsageRequest, GetDiskUsageRequest__Output as _kubecycle_v1_GetDiskUsageRequest__Output } from '../../kubecycle/v1/GetDiskUsageRequest';
import type { GetNodeLayoutRequest as _kubecycle_v1_GetNodeLayoutRequest, GetNodeLayoutRequest__Output as _kubecycle_v1_GetNodeLayoutRequest__Output } from '../../kubecycle/v1/GetNodeLayoutRequest';
import type { GetStatusRequest as _kubecycle_v1_GetStatusRequest, GetStatusRequest__Output as _kubecycle_v1_GetStatusRequest__Output } from '../../kubecycle/v1/GetStatusRequest';
import type { HealthRequest as _kubecycle_v1_HealthRequest, HealthRequest__Output as _kubecycle_v1_HealthRequest__Output } from '../../kubecycle/v1/HealthRequest';
import type { HealthResponse as _kubecycle_v1_HealthResponse, HealthResponse__Output as _kubecycle_v1_HealthResponse__Output } from '../../kubecycle/v1/HealthResponse';
import type { JournalLines as _kubecycle_v1_JournalLines, JournalLines__Output as _kubecycle_v1_JournalLines__Output } from '../../kubecycle/v1/JournalLines';
import type { NetworkProbes as _kubecycle_v1_NetworkProbes, NetworkProbes__Output as _kubecycle_v1_NetworkProbes__Output } from '../../kubecycle/v1/NetworkProbes';
import type { NodeLayout as _kubecycle_v1_NodeLayout, NodeLayout__Output as _kubecycle_v1_NodeLayout__Output } from '../../kubecycle/v1/NodeLayout';
import type { NodeStatus as _kubecycle_v1_NodeStatus, NodeStatus__Output as _kubecycle_v1_NodeStatus__Output } from '../../kubecycle/v1/NodeStatus';
import type { PodSandboxesResult as _kubecycle_v1_PodSandboxesResult, PodSandboxesResult__Output as _kubecycle_v1_PodSandboxesResult__Output } from '../../kubecycle/v1/PodSandboxesResult';
import type { PowerOffRequest as _kubecycle_v1_PowerOffRequest, PowerOffRequest__Output as _kubecycle_v1_PowerOffRequest__Output } from '../../kubecycle/v1/PowerOffRequest';
import type { PowerOffResult as _kubecycle_v1_PowerOffResult, PowerOffResult__Output as _kubecycle_v1_PowerOffResult__Output } from '../../kubecycle/v1/PowerOffResult';
import type { ProbeComponentsRequest as _kubecycle_v1_ProbeComponentsRequest, ProbeComponentsRequest__Output as _kubecycle_v1_ProbeComponentsRequest__Output } from '../../kubecycle/v1/ProbeComponentsRequest';
import type { ProbeNetworkRequest as _kubecycle_v1_ProbeNetworkRequest, ProbeNetworkRequest__Output as _kubecycle_v1_ProbeNetworkRequest__Output } from '../../kubecycle/v1/ProbeNetworkRequest';
import type { ReadJournalRequest as _kubecycle_v1_ReadJournalRequest, ReadJournalRequest__Output as _kubecycle_v1_ReadJournalRequest__Output } from '../../kubecycle/v1/ReadJournalRequest';
import type { SetAutoStartRequest as _kubecycle_v1_SetAutoStartRequest, SetAutoStartRequest__Output as _kubecycle_v1_SetAutoStartRequest__Output } from '../../kubecycle/v1/SetAutoStartRequest';
import type { SnapshotChunk as _kubecycle_v1_SnapshotChunk, SnapshotChunk__Output as _kubecycle_v1_SnapshotChunk__Output } from '../../kubecycle/v1/SnapshotChunk';
import type { SnapshotUpload as _kubecycle_v1_SnapshotUpload, SnapshotUpload__Output as _kubecycle_v1_SnapshotUpload__Output } from '../../kubecycle/v1/SnapshotUpload';
import type { StagedSnapshot as _kubecycle_v1_StagedSnapshot, StagedSnapshot__Output as _kubecycle_v1_StagedSnapshot__Output } from '../../kubecycle/v1/StagedSnapshot';
import type { StartUnitsRequest as _kubecycle_v1_StartUnitsRequest, StartUnitsRequest__Output as _kubecycle_v1_StartUnitsRequest__Output } from '../../kubecycle/v1/StartUnitsRequest';
import type { StopPodSandboxesRequest as _kubecycle_v1_StopPodSandboxesRequest, StopPodSandboxesRequest__Output as _kubecycle_v1_StopPodSandboxesRequest__Output } from '../../kubecycle/v1/StopPodSandboxesRequest';
import type { StopUnitsRequest as _kubecycle_v1_StopUnitsRequest, StopUnitsRequest__Output as _kubecycle_v1_StopUnitsRequest__Output } from '../../kubecycle/v1/StopUnitsRequest';
import type { UnitsResult as _kubecycle_v1_UnitsResult, UnitsResult__Output as _kubecycle_v1_UnitsResult__Output } from '../../kubecycle/v1/UnitsResult';
import type { WatchStatusRequest as _kubecycle_v1_WatchStatusRequest, WatchStatusRequest__Output as _kubecycle_v1_WatchStatusRequest__Output } from '../../kubecycle/v1/WatchStatusRequest';

export interface AgentClient extends grpc.Client {
  EtcdRejoin(argument: _kubecycle_v1_EtcdRejoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdRejoinResult__Output>): grpc.ClientUnaryCall;
  EtcdRejoin(argument: _kubecycle_v1_EtcdRejoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_EtcdRejoinResult__Output>): grpc.ClientUnaryCall;
  EtcdRejoin(argument: _kubecycle_v1_EtcdRejoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdRejoinResult__Output>): grpc.ClientUnaryCall;
  EtcdRejoin(argument: _kubecycle_v1_EtcdRejoinRequest, callback: grpc.requestCallback<_kubecycle_v1_EtcdRejoinResult__Output>): grpc.ClientUnaryCall;
  etcdRejoin(argument: _kubecycle_v1_EtcdRejoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdRejoinResult__Output>): grpc.ClientUnaryCall;
  etcdRejoin(argument: _kubecycle_v1_EtcdRejoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_EtcdRejoinResult__Output>): grpc.ClientUnaryCall;
  etcdRejoin(argument: _kubecycle_v1_EtcdRejoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdRejoinResult__Output>): grpc.ClientUnaryCall;
  etcdRejoin(argument: _kubecycle_v1_EtcdRejoinRequest, callback: grpc.requestCallback<_kubecycle_v1_EtcdRejoinResult__Output>): grpc.ClientUnaryCall;
  
  EtcdReplaceMember(argument: _kubecycle_v1_EtcdReplaceMemberRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdReplaceMemberResult__Output>): grpc.ClientUnaryCall;
  EtcdReplaceMember(argument: _kubecycle_v1_EtcdReplaceMemberRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_EtcdReplaceMemberResult__Output>): grpc.ClientUnaryCall;
  EtcdReplaceMember(argument: _kubecycle_v1_EtcdReplaceMemberRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdReplaceMemberResult__Output>): grpc.ClientUnaryCall;
  EtcdReplaceMember(argument: _kubecycle_v1_EtcdReplaceMemberRequest, callback: grpc.requestCallback<_kubecycle_v1_EtcdReplaceMemberResult__Output>): grpc.ClientUnaryCall;
  etcdReplaceMember(argument: _kubecycle_v1_EtcdReplaceMemberRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdReplaceMemberResult__Output>): grpc.ClientUnaryCall;
  etcdReplaceMember(argument: _kubecycle_v1_EtcdReplaceMemberRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_EtcdReplaceMemberResult__Output>): grpc.ClientUnaryCall;
  etcdReplaceMember(argument: _kubecycle_v1_EtcdReplaceMemberRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdReplaceMemberResult__Output>): grpc.ClientUnaryCall;
  etcdReplaceMember(argument: _kubecycle_v1_EtcdReplaceMemberRequest, callback: grpc.requestCallback<_kubecycle_v1_EtcdReplaceMemberResult__Output>): grpc.ClientUnaryCall;
  
  EtcdRestore(argument: _kubecycle_v1_EtcdRestoreRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdRestoreResult__Output>): grpc.ClientUnaryCall;
  EtcdRestore(argument: _kubecycle_v1_EtcdRestoreRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_EtcdRestoreResult__Output>): grpc.ClientUnaryCall;
  EtcdRestore(argument: _kubecycle_v1_EtcdRestoreRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdRestoreResult__Output>): grpc.ClientUnaryCall;
  EtcdRestore(argument: _kubecycle_v1_EtcdRestoreRequest, callback: grpc.requestCallback<_kubecycle_v1_EtcdRestoreResult__Output>): grpc.ClientUnaryCall;
  etcdRestore(argument: _kubecycle_v1_EtcdRestoreRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdRestoreResult__Output>): grpc.ClientUnaryCall;
  etcdRestore(argument: _kubecycle_v1_EtcdRestoreRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_EtcdRestoreResult__Output>): grpc.ClientUnaryCall;
  etcdRestore(argument: _kubecycle_v1_EtcdRestoreRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdRestoreResult__Output>): grpc.ClientUnaryCall;
  etcdRestore(argument: _kubecycle_v1_EtcdRestoreRequest, callback: grpc.requestCallback<_kubecycle_v1_EtcdRestoreResult__Output>): grpc.ClientUnaryCall;
  
  EtcdSnapshot(argument: _kubecycle_v1_EtcdSnapshotRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kubecycle_v1_SnapshotChunk__Output>;
  EtcdSnapshot(argument: _kubecycle_v1_EtcdSnapshotRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kubecycle_v1_SnapshotChunk__Output>;
  etcdSnapshot(argument: _kubecycle_v1_EtcdSnapshotRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kubecycle_v1_SnapshotChunk__Output>;
  etcdSnapshot(argument: _kubecycle_v1_EtcdSnapshotRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kubecycle_v1_SnapshotChunk__Output>;
  
  EtcdStatus(argument: _kubecycle_v1_EtcdStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdMemberStatus__Output>): grpc.ClientUnaryCall;
  EtcdStatus(argument: _kubecycle_v1_EtcdStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_EtcdMemberStatus__Output>): grpc.ClientUnaryCall;
  EtcdStatus(argument: _kubecycle_v1_EtcdStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdMemberStatus__Output>): grpc.ClientUnaryCall;
  EtcdStatus(argument: _kubecycle_v1_EtcdStatusRequest, callback: grpc.requestCallback<_kubecycle_v1_EtcdMemberStatus__Output>): grpc.ClientUnaryCall;
  etcdStatus(argument: _kubecycle_v1_EtcdStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdMemberStatus__Output>): grpc.ClientUnaryCall;
  etcdStatus(argument: _kubecycle_v1_EtcdStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_EtcdMemberStatus__Output>): grpc.ClientUnaryCall;
  etcdStatus(argument: _kubecycle_v1_EtcdStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_EtcdMemberStatus__Output>): grpc.ClientUnaryCall;
  etcdStatus(argument: _kubecycle_v1_EtcdStatusRequest, callback: grpc.requestCallback<_kubecycle_v1_EtcdMemberStatus__Output>): grpc.ClientUnaryCall;
  
  GetCertificates(argument: _kubecycle_v1_GetCertificatesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_CertificatesResult__Output>): grpc.ClientUnaryCall;
  GetCertificates(argument: _kubecycle_v1_GetCertificatesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_CertificatesResult__Output>): grpc.ClientUnaryCall;
  GetCertificates(argument: _kubecycle_v1_GetCertificatesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_CertificatesResult__Output>): grpc.ClientUnaryCall;
  GetCertificates(argument: _kubecycle_v1_GetCertificatesRequest, callback: grpc.requestCallback<_kubecycle_v1_CertificatesResult__Output>): grpc.ClientUnaryCall;
  getCertificates(argument: _kubecycle_v1_GetCertificatesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_CertificatesResult__Output>): grpc.ClientUnaryCall;
  getCertificates(argument: _kubecycle_v1_GetCertificatesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_CertificatesResult__Output>): grpc.ClientUnaryCall;
  getCertificates(argument: _kubecycle_v1_GetCertificatesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_CertificatesResult__Output>): grpc.ClientUnaryCall;
  getCertificates(argument: _kubecycle_v1_GetCertificatesRequest, callback: grpc.requestCallback<_kubecycle_v1_CertificatesResult__Output>): grpc.ClientUnaryCall;
  
  GetClock(argument: _kubecycle_v1_GetClockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_Clock__Output>): grpc.ClientUnaryCall;
  GetClock(argument: _kubecycle_v1_GetClockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_Clock__Output>): grpc.ClientUnaryCall;
  GetClock(argument: _kubecycle_v1_GetClockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_Clock__Output>): grpc.ClientUnaryCall;
  GetClock(argument: _kubecycle_v1_GetClockRequest, callback: grpc.requestCallback<_kubecycle_v1_Clock__Output>): grpc.ClientUnaryCall;
  getClock(argument: _kubecycle_v1_GetClockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_Clock__Output>): grpc.ClientUnaryCall;
  getClock(argument: _kubecycle_v1_GetClockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_Clock__Output>): grpc.ClientUnaryCall;
  getClock(argument: _kubecycle_v1_GetClockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_Clock__Output>): grpc.ClientUnaryCall;
  getClock(argument: _kubecycle_v1_GetClockRequest, callback: grpc.requestCallback<_kubecycle_v1_Clock__Output>): grpc.ClientUnaryCall;
  
  GetDiskUsage(argument: _kubecycle_v1_GetDiskUsageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_DiskUsage__Output>): grpc.ClientUnaryCall;
  GetDiskUsage(argument: _kubecycle_v1_GetDiskUsageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_DiskUsage__Output>): grpc.ClientUnaryCall;
  GetDiskUsage(argument: _kubecycle_v1_GetDiskUsageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_DiskUsage__Output>): grpc.ClientUnaryCall;
  GetDiskUsage(argument: _kubecycle_v1_GetDiskUsageRequest, callback: grpc.requestCallback<_kubecycle_v1_DiskUsage__Output>): grpc.ClientUnaryCall;
  getDiskUsage(argument: _kubecycle_v1_GetDiskUsageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_DiskUsage__Output>): grpc.ClientUnaryCall;
  getDiskUsage(argument: _kubecycle_v1_GetDiskUsageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_DiskUsage__Output>): grpc.ClientUnaryCall;
  getDiskUsage(argument: _kubecycle_v1_GetDiskUsageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_DiskUsage__Output>): grpc.ClientUnaryCall;
  getDiskUsage(argument: _kubecycle_v1_GetDiskUsageRequest, callback: grpc.requestCallback<_kubecycle_v1_DiskUsage__Output>): grpc.ClientUnaryCall;
  
  GetNodeLayout(argument: _kubecycle_v1_GetNodeLayoutRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_NodeLayout__Output>): grpc.ClientUnaryCall;
  GetNodeLayout(argument: _kubecycle_v1_GetNodeLayoutRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_NodeLayout__Output>): grpc.ClientUnaryCall;
  GetNodeLayout(argument: _kubecycle_v1_GetNodeLayoutRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_NodeLayout__Output>): grpc.ClientUnaryCall;
  GetNodeLayout(argument: _kubecycle_v1_GetNodeLayoutRequest, callback: grpc.requestCallback<_kubecycle_v1_NodeLayout__Output>): grpc.ClientUnaryCall;
  getNodeLayout(argument: _kubecycle_v1_GetNodeLayoutRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_NodeLayout__Output>): grpc.ClientUnaryCall;
  getNodeLayout(argument: _kubecycle_v1_GetNodeLayoutRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_NodeLayout__Output>): grpc.ClientUnaryCall;
  getNodeLayout(argument: _kubecycle_v1_GetNodeLayoutRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_NodeLayout__Output>): grpc.ClientUnaryCall;
  getNodeLayout(argument: _kubecycle_v1_GetNodeLayoutRequest, callback: grpc.requestCallback<_kubecycle_v1_NodeLayout__Output>): grpc.ClientUnaryCall;
  
  GetStatus(argument: _kubecycle_v1_GetStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_NodeStatus__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _kubecycle_v1_GetStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_NodeStatus__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _kubecycle_v1_GetStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_NodeStatus__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _kubecycle_v1_GetStatusRequest, callback: grpc.requestCallback<_kubecycle_v1_NodeStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _kubecycle_v1_GetStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_NodeStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _kubecycle_v1_GetStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_NodeStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _kubecycle_v1_GetStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_NodeStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _kubecycle_v1_GetStatusRequest, callback: grpc.requestCallback<_kubecycle_v1_NodeStatus__Output>): grpc.ClientUnaryCall;
  
  Health(argument: _kubecycle_v1_HealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  Health(argument: _kubecycle_v1_HealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  Health(argument: _kubecycle_v1_HealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  Health(argument: _kubecycle_v1_HealthRequest, callback: grpc.requestCallback<_kubecycle_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _kubecycle_v1_HealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _kubecycle_v1_HealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _kubecycle_v1_HealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _kubecycle_v1_HealthRequest, callback: grpc.requestCallback<_kubecycle_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  
  PowerOff(argument: _kubecycle_v1_PowerOffRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_PowerOffResult__Output>): grpc.ClientUnaryCall;
  PowerOff(argument: _kubecycle_v1_PowerOffRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_PowerOffResult__Output>): grpc.ClientUnaryCall;
  PowerOff(argument: _kubecycle_v1_PowerOffRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_PowerOffResult__Output>): grpc.ClientUnaryCall;
  PowerOff(argument: _kubecycle_v1_PowerOffRequest, callback: grpc.requestCallback<_kubecycle_v1_PowerOffResult__Output>): grpc.ClientUnaryCall;
  powerOff(argument: _kubecycle_v1_PowerOffRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_PowerOffResult__Output>): grpc.ClientUnaryCall;
  powerOff(argument: _kubecycle_v1_PowerOffRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_PowerOffResult__Output>): grpc.ClientUnaryCall;
  powerOff(argument: _kubecycle_v1_PowerOffRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_PowerOffResult__Output>): grpc.ClientUnaryCall;
  powerOff(argument: _kubecycle_v1_PowerOffRequest, callback: grpc.requestCallback<_kubecycle_v1_PowerOffResult__Output>): grpc.ClientUnaryCall;
  
  ProbeComponents(argument: _kubecycle_v1_ProbeComponentsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_ComponentsHealth__Output>): grpc.ClientUnaryCall;
  ProbeComponents(argument: _kubecycle_v1_ProbeComponentsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_ComponentsHealth__Output>): grpc.ClientUnaryCall;
  ProbeComponents(argument: _kubecycle_v1_ProbeComponentsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_ComponentsHealth__Output>): grpc.ClientUnaryCall;
  ProbeComponents(argument: _kubecycle_v1_ProbeComponentsRequest, callback: grpc.requestCallback<_kubecycle_v1_ComponentsHealth__Output>): grpc.ClientUnaryCall;
  probeComponents(argument: _kubecycle_v1_ProbeComponentsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_ComponentsHealth__Output>): grpc.ClientUnaryCall;
  probeComponents(argument: _kubecycle_v1_ProbeComponentsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_ComponentsHealth__Output>): grpc.ClientUnaryCall;
  probeComponents(argument: _kubecycle_v1_ProbeComponentsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_ComponentsHealth__Output>): grpc.ClientUnaryCall;
  probeComponents(argument: _kubecycle_v1_ProbeComponentsRequest, callback: grpc.requestCallback<_kubecycle_v1_ComponentsHealth__Output>): grpc.ClientUnaryCall;
  
  ProbeNetwork(argument: _kubecycle_v1_ProbeNetworkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_NetworkProbes__Output>): grpc.ClientUnaryCall;
  ProbeNetwork(argument: _kubecycle_v1_ProbeNetworkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_NetworkProbes__Output>): grpc.ClientUnaryCall;
  ProbeNetwork(argument: _kubecycle_v1_ProbeNetworkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_NetworkProbes__Output>): grpc.ClientUnaryCall;
  ProbeNetwork(argument: _kubecycle_v1_ProbeNetworkRequest, callback: grpc.requestCallback<_kubecycle_v1_NetworkProbes__Output>): grpc.ClientUnaryCall;
  probeNetwork(argument: _kubecycle_v1_ProbeNetworkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_NetworkProbes__Output>): grpc.ClientUnaryCall;
  probeNetwork(argument: _kubecycle_v1_ProbeNetworkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_NetworkProbes__Output>): grpc.ClientUnaryCall;
  probeNetwork(argument: _kubecycle_v1_ProbeNetworkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_NetworkProbes__Output>): grpc.ClientUnaryCall;
  probeNetwork(argument: _kubecycle_v1_ProbeNetworkRequest, callback: grpc.requestCallback<_kubecycle_v1_NetworkProbes__Output>): grpc.ClientUnaryCall;
  
  ReadJournal(argument: _kubecycle_v1_ReadJournalRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_JournalLines__Output>): grpc.ClientUnaryCall;
  ReadJournal(argument: _kubecycle_v1_ReadJournalRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_JournalLines__Output>): grpc.ClientUnaryCall;
  ReadJournal(argument: _kubecycle_v1_ReadJournalRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_JournalLines__Output>): grpc.ClientUnaryCall;
  ReadJournal(argument: _kubecycle_v1_ReadJournalRequest, callback: grpc.requestCallback<_kubecycle_v1_JournalLines__Output>): grpc.ClientUnaryCall;
  readJournal(argument: _kubecycle_v1_ReadJournalRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_JournalLines__Output>): grpc.ClientUnaryCall;
  readJournal(argument: _kubecycle_v1_ReadJournalRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_JournalLines__Output>): grpc.ClientUnaryCall;
  readJournal(argument: _kubecycle_v1_ReadJournalRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_JournalLines__Output>): grpc.ClientUnaryCall;
  readJournal(argument: _kubecycle_v1_ReadJournalRequest, callback: grpc.requestCallback<_kubecycle_v1_JournalLines__Output>): grpc.ClientUnaryCall;
  
  SetAutoStart(argument: _kubecycle_v1_SetAutoStartRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  SetAutoStart(argument: _kubecycle_v1_SetAutoStartRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  SetAutoStart(argument: _kubecycle_v1_SetAutoStartRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  SetAutoStart(argument: _kubecycle_v1_SetAutoStartRequest, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  setAutoStart(argument: _kubecycle_v1_SetAutoStartRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  setAutoStart(argument: _kubecycle_v1_SetAutoStartRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  setAutoStart(argument: _kubecycle_v1_SetAutoStartRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  setAutoStart(argument: _kubecycle_v1_SetAutoStartRequest, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  
  StageSnapshot(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_StagedSnapshot__Output>): grpc.ClientWritableStream<_kubecycle_v1_SnapshotUpload>;
  StageSnapshot(metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_StagedSnapshot__Output>): grpc.ClientWritableStream<_kubecycle_v1_SnapshotUpload>;
  StageSnapshot(options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_StagedSnapshot__Output>): grpc.ClientWritableStream<_kubecycle_v1_SnapshotUpload>;
  StageSnapshot(callback: grpc.requestCallback<_kubecycle_v1_StagedSnapshot__Output>): grpc.ClientWritableStream<_kubecycle_v1_SnapshotUpload>;
  stageSnapshot(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_StagedSnapshot__Output>): grpc.ClientWritableStream<_kubecycle_v1_SnapshotUpload>;
  stageSnapshot(metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_StagedSnapshot__Output>): grpc.ClientWritableStream<_kubecycle_v1_SnapshotUpload>;
  stageSnapshot(options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_StagedSnapshot__Output>): grpc.ClientWritableStream<_kubecycle_v1_SnapshotUpload>;
  stageSnapshot(callback: grpc.requestCallback<_kubecycle_v1_StagedSnapshot__Output>): grpc.ClientWritableStream<_kubecycle_v1_SnapshotUpload>;
  
  StartUnits(argument: _kubecycle_v1_StartUnitsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  StartUnits(argument: _kubecycle_v1_StartUnitsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  StartUnits(argument: _kubecycle_v1_StartUnitsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  StartUnits(argument: _kubecycle_v1_StartUnitsRequest, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  startUnits(argument: _kubecycle_v1_StartUnitsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  startUnits(argument: _kubecycle_v1_StartUnitsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  startUnits(argument: _kubecycle_v1_StartUnitsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  startUnits(argument: _kubecycle_v1_StartUnitsRequest, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  
  StopPodSandboxes(argument: _kubecycle_v1_StopPodSandboxesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_PodSandboxesResult__Output>): grpc.ClientUnaryCall;
  StopPodSandboxes(argument: _kubecycle_v1_StopPodSandboxesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_PodSandboxesResult__Output>): grpc.ClientUnaryCall;
  StopPodSandboxes(argument: _kubecycle_v1_StopPodSandboxesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_PodSandboxesResult__Output>): grpc.ClientUnaryCall;
  StopPodSandboxes(argument: _kubecycle_v1_StopPodSandboxesRequest, callback: grpc.requestCallback<_kubecycle_v1_PodSandboxesResult__Output>): grpc.ClientUnaryCall;
  stopPodSandboxes(argument: _kubecycle_v1_StopPodSandboxesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_PodSandboxesResult__Output>): grpc.ClientUnaryCall;
  stopPodSandboxes(argument: _kubecycle_v1_StopPodSandboxesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_PodSandboxesResult__Output>): grpc.ClientUnaryCall;
  stopPodSandboxes(argument: _kubecycle_v1_StopPodSandboxesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_PodSandboxesResult__Output>): grpc.ClientUnaryCall;
  stopPodSandboxes(argument: _kubecycle_v1_StopPodSandboxesRequest, callback: grpc.requestCallback<_kubecycle_v1_PodSandboxesResult__Output>): grpc.ClientUnaryCall;
  
  StopUnits(argument: _kubecycle_v1_StopUnitsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  StopUnits(argument: _kubecycle_v1_StopUnitsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  StopUnits(argument: _kubecycle_v1_StopUnitsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  StopUnits(argument: _kubecycle_v1_StopUnitsRequest, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  stopUnits(argument: _kubecycle_v1_StopUnitsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  stopUnits(argument: _kubecycle_v1_StopUnitsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  stopUnits(argument: _kubecycle_v1_StopUnitsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  stopUnits(argument: _kubecycle_v1_StopUnitsRequest, callback: grpc.requestCallback<_kubecycle_v1_UnitsResult__Output>): grpc.ClientUnaryCall;
  
  WatchStatus(argument: _kubecycle_v1_WatchStatusRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kubecycle_v1_NodeStatus__Output>;
  WatchStatus(argument: _kubecycle_v1_WatchStatusRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kubecycle_v1_NodeStatus__Output>;
  watchStatus(argument: _kubecycle_v1_WatchStatusRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kubecycle_v1_NodeStatus__Output>;
  watchStatus(argument: _kubecycle_v1_WatchStatusRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kubecycle_v1_NodeStatus__Output>;
  
}

export interface AgentHandlers extends grpc.UntypedServiceImplementation {
  EtcdRejoin: grpc.handleUnaryCall<_kubecycle_v1_EtcdRejoinRequest__Output, _kubecycle_v1_EtcdRejoinResult>;
  
  EtcdReplaceMember: grpc.handleUnaryCall<_kubecycle_v1_EtcdReplaceMemberRequest__Output, _kubecycle_v1_EtcdReplaceMemberResult>;
  
  EtcdRestore: grpc.handleUnaryCall<_kubecycle_v1_EtcdRestoreRequest__Output, _kubecycle_v1_EtcdRestoreResult>;
  
  EtcdSnapshot: grpc.handleServerStreamingCall<_kubecycle_v1_EtcdSnapshotRequest__Output, _kubecycle_v1_SnapshotChunk>;
  
  EtcdStatus: grpc.handleUnaryCall<_kubecycle_v1_EtcdStatusRequest__Output, _kubecycle_v1_EtcdMemberStatus>;
  
  GetCertificates: grpc.handleUnaryCall<_kubecycle_v1_GetCertificatesRequest__Output, _kubecycle_v1_CertificatesResult>;
  
  GetClock: grpc.handleUnaryCall<_kubecycle_v1_GetClockRequest__Output, _kubecycle_v1_Clock>;
  
  GetDiskUsage: grpc.handleUnaryCall<_kubecycle_v1_GetDiskUsageRequest__Output, _kubecycle_v1_DiskUsage>;
  
  GetNodeLayout: grpc.handleUnaryCall<_kubecycle_v1_GetNodeLayoutRequest__Output, _kubecycle_v1_NodeLayout>;
  
  GetStatus: grpc.handleUnaryCall<_kubecycle_v1_GetStatusRequest__Output, _kubecycle_v1_NodeStatus>;
  
  Health: grpc.handleUnaryCall<_kubecycle_v1_HealthRequest__Output, _kubecycle_v1_HealthResponse>;
  
  PowerOff: grpc.handleUnaryCall<_kubecycle_v1_PowerOffRequest__Output, _kubecycle_v1_PowerOffResult>;
  
  ProbeComponents: grpc.handleUnaryCall<_kubecycle_v1_ProbeComponentsRequest__Output, _kubecycle_v1_ComponentsHealth>;
  
  ProbeNetwork: grpc.handleUnaryCall<_kubecycle_v1_ProbeNetworkRequest__Output, _kubecycle_v1_NetworkProbes>;
  
  ReadJournal: grpc.handleUnaryCall<_kubecycle_v1_ReadJournalRequest__Output, _kubecycle_v1_JournalLines>;
  
  SetAutoStart: grpc.handleUnaryCall<_kubecycle_v1_SetAutoStartRequest__Output, _kubecycle_v1_UnitsResult>;
  
  StageSnapshot: grpc.handleClientStreamingCall<_kubecycle_v1_SnapshotUpload__Output, _kubecycle_v1_StagedSnapshot>;
  
  StartUnits: grpc.handleUnaryCall<_kubecycle_v1_StartUnitsRequest__Output, _kubecycle_v1_UnitsResult>;
  
  StopPodSandboxes: grpc.handleUnaryCall<_kubecycle_v1_StopPodSandboxesRequest__Output, _kubecycle_v1_PodSandboxesResult>;
  
  StopUnits: grpc.handleUnaryCall<_kubecycle_v1_StopUnitsRequest__Output, _kubecycle_v1_UnitsResult>;
  
  WatchStatus: grpc.handleServerStreamingCall<_kubecycle_v1_WatchStatusRequest__Output, _kubecycle_v1_NodeStatus>;
  
}

export interface AgentDefinition extends grpc.ServiceDefinition {
  EtcdRejoin: MethodDefinition<_kubecycle_v1_EtcdRejoinRequest, _kubecycle_v1_EtcdRejoinResult, _kubecycle_v1_EtcdRejoinRequest__Output, _kubecycle_v1_EtcdRejoinResult__Output>
  EtcdReplaceMember: MethodDefinition<_kubecycle_v1_EtcdReplaceMemberRequest, _kubecycle_v1_EtcdReplaceMemberResult, _kubecycle_v1_EtcdReplaceMemberRequest__Output, _kubecycle_v1_EtcdReplaceMemberResult__Output>
  EtcdRestore: MethodDefinition<_kubecycle_v1_EtcdRestoreRequest, _kubecycle_v1_EtcdRestoreResult, _kubecycle_v1_EtcdRestoreRequest__Output, _kubecycle_v1_EtcdRestoreResult__Output>
  EtcdSnapshot: MethodDefinition<_kubecycle_v1_EtcdSnapshotRequest, _kubecycle_v1_SnapshotChunk, _kubecycle_v1_EtcdSnapshotRequest__Output, _kubecycle_v1_SnapshotChunk__Output>
  EtcdStatus: MethodDefinition<_kubecycle_v1_EtcdStatusRequest, _kubecycle_v1_EtcdMemberStatus, _kubecycle_v1_EtcdStatusRequest__Output, _kubecycle_v1_EtcdMemberStatus__Output>
  GetCertificates: MethodDefinition<_kubecycle_v1_GetCertificatesRequest, _kubecycle_v1_CertificatesResult, _kubecycle_v1_GetCertificatesRequest__Output, _kubecycle_v1_CertificatesResult__Output>
  GetClock: MethodDefinition<_kubecycle_v1_GetClockRequest, _kubecycle_v1_Clock, _kubecycle_v1_GetClockRequest__Output, _kubecycle_v1_Clock__Output>
  GetDiskUsage: MethodDefinition<_kubecycle_v1_GetDiskUsageRequest, _kubecycle_v1_DiskUsage, _kubecycle_v1_GetDiskUsageRequest__Output, _kubecycle_v1_DiskUsage__Output>
  GetNodeLayout: MethodDefinition<_kubecycle_v1_GetNodeLayoutRequest, _kubecycle_v1_NodeLayout, _kubecycle_v1_GetNodeLayoutRequest__Output, _kubecycle_v1_NodeLayout__Output>
  GetStatus: MethodDefinition<_kubecycle_v1_GetStatusRequest, _kubecycle_v1_NodeStatus, _kubecycle_v1_GetStatusRequest__Output, _kubecycle_v1_NodeStatus__Output>
  Health: MethodDefinition<_kubecycle_v1_HealthRequest, _kubecycle_v1_HealthResponse, _kubecycle_v1_HealthRequest__Output, _kubecycle_v1_HealthResponse__Output>
  PowerOff: MethodDefinition<_kubecycle_v1_PowerOffRequest, _kubecycle_v1_PowerOffResult, _kubecycle_v1_PowerOffRequest__Output, _kubecycle_v1_PowerOffResult__Output>
  ProbeComponents: MethodDefinition<_kubecycle_v1_ProbeComponentsRequest, _kubecycle_v1_ComponentsHealth, _kubecycle_v1_ProbeComponentsRequest__Output, _kubecycle_v1_ComponentsHealth__Output>
  ProbeNetwork: MethodDefinition<_kubecycle_v1_ProbeNetworkRequest, _kubecycle_v1_NetworkProbes, _kubecycle_v1_ProbeNetworkRequest__Output, _kubecycle_v1_NetworkProbes__Output>
  ReadJournal: MethodDefinition<_kubecycle_v1_ReadJournalRequest, _kubecycle_v1_JournalLines, _kubecycle_v1_ReadJournalRequest__Output, _kubecycle_v1_JournalLines__Output>
  SetAutoStart: MethodDefinition<_kubecycle_v1_SetAutoStartRequest, _kubecycle_v1_UnitsResult, _kubecycle_v1_SetAutoStartRequest__Output, _kubecycle_v1_UnitsResult__Output>
  StageSnapshot: MethodDefinition<_kubecycle_v1_SnapshotUpload, _kubecycle_v1_StagedSnapshot, _kubecycle_v1_SnapshotUpload__Output, _kubecycle_v1_StagedSnapshot__Output>
  StartUnits: MethodDefinition<_kubecycle_v1_StartUnitsRequest, _kubecycle_v1_UnitsResult, _kubecycle_v1_StartUnitsRequest__Output, _kubecycle_v1_UnitsResult__Output>
  StopPodSandboxes: MethodDefinition<_kubecycle_v1_StopPodSandboxesRequest, _kubecycle_v1_PodSandboxesResult, _kubecycle_v1_StopPodSandboxesRequest__Output, _kubecycle_v1_PodSandboxesResult__Output>
  StopUnits: MethodDefinition<_kubecycle_v1_StopUnitsRequest, _kubecycle_v1_UnitsResult, _kubecycle_v1_StopUnitsRequest__Output, _kubecycle_v1_UnitsResult__Output>
  WatchStatus: MethodDefinition<_kubecycle_v1_WatchStatusRequest, _kubecycle_v1_NodeStatus, _kubecycle_v1_WatchStatusRequest__Output, _kubecycle_v1_NodeStatus__Output>
}
