// Original file: proto/kubecycle/v1/agent.proto


export interface ReadJournalRequest {
  'unit'?: (string);
  'lines'?: (number);
}

export interface ReadJournalRequest__Output {
  'unit': (string);
  'lines': (number);
}
