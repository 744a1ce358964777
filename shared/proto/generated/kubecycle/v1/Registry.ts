// Original file: proto/kubecycle/v1/registry.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BootReport as _kubecycle_v1_BootReport, BootReport__Output as _kubecycle_v1_BootReport__Output } from '../../kubecycle/v1/BootReport';
import type { ListReportsRequest as _kubecycle_v1_ListReportsRequest, ListReportsRequest__Output as _kubecycle_v1_ListReportsRequest__Output } from '../../kubecycle/v1/ListReportsRequest';
import type { ReportAck as _kubecycle_v1_ReportAck, ReportAck__Output as _kubecycle_v1_ReportAck__Output } from '../../kubecycle/v1/ReportAck';
import type { ReportList as _kubecycle_v1_ReportList, ReportList__Output as _kubecycle_v1_ReportList__Output } from '../../kubecycle/v1/ReportList';

export interface RegistryClient extends grpc.Client {
  ListReports(argument: _kubecycle_v1_ListReportsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_ReportList__Output>): grpc.ClientUnaryCall;
  ListReports(argument: _kubecycle_v1_ListReportsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_ReportList__Output>): grpc.ClientUnaryCall;
  ListReports(argument: _kubecycle_v1_ListReportsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_ReportList__Output>): grpc.ClientUnaryCall;
  ListReports(argument: _kubecycle_v1_ListReportsRequest, callback: grpc.requestCallback<_kubecycle_v1_ReportList__Output>): grpc.ClientUnaryCall;
  listReports(argument: _kubecycle_v1_ListReportsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_ReportList__Output>): grpc.ClientUnaryCall;
  listReports(argument: _kubecycle_v1_ListReportsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_ReportList__Output>): grpc.ClientUnaryCall;
  listReports(argument: _kubecycle_v1_ListReportsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_ReportList__Output>): grpc.ClientUnaryCall;
  listReports(argument: _kubecycle_v1_ListReportsRequest, callback: grpc.requestCallback<_kubecycle_v1_ReportList__Output>): grpc.ClientUnaryCall;
  
  Report(argument: _kubecycle_v1_BootReport, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_ReportAck__Output>): grpc.ClientUnaryCall;
  Report(argument: _kubecycle_v1_BootReport, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_ReportAck__Output>): grpc.ClientUnaryCall;
  Report(argument: _kubecycle_v1_BootReport, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_ReportAck__Output>): grpc.ClientUnaryCall;
  Report(argument: _kubecycle_v1_BootReport, callback: grpc.requestCallback<_kubecycle_v1_ReportAck__Output>): grpc.ClientUnaryCall;
  report(argument: _kubecycle_v1_BootReport, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_ReportAck__Output>): grpc.ClientUnaryCall;
  report(argument: _kubecycle_v1_BootReport, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubecycle_v1_ReportAck__Output>): grpc.ClientUnaryCall;
  report(argument: _kubecycle_v1_BootReport, options: grpc.CallOptions, callback: grpc.requestCallback<_kubecycle_v1_ReportAck__Output>): grpc.ClientUnaryCall;
  report(argument: _kubecycle_v1_BootReport, callback: grpc.requestCallback<_kubecycle_v1_ReportAck__Output>): grpc.ClientUnaryCall;
  
}

export interface RegistryHandlers extends grpc.UntypedServiceImplementation {
  ListReports: grpc.handleUnaryCall<_kubecycle_v1_ListReportsRequest__Output, _kubecycle_v1_ReportList>;
  
  Report: grpc.handleUnaryCall<_kubecycle_v1_BootReport__Output, _kubecycle_v1_ReportAck>;
  
}

export interface RegistryDefinition extends grpc.ServiceDefinition {
  ListReports: MethodDefinition<_kubecycle_v1_ListReportsRequest, _kubecycle_v1_ReportList, _kubecycle_v1_ListReportsRequest__Output, _kubecycle_v1_ReportList__Output>
  Report: MethodDefinition<_kubecycle_v1_BootReport, _kubecycle_v1_ReportAck, _kubecycle_v1_BootReport__Output, _kubecycle_v1_ReportAck__Output>
}
