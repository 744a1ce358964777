// Original file: proto/kubecycle/v1/agent.proto


export interface JournalLines {
  'unit'?: (string);
  'lines'?: (string)[];
}

export interface JournalLines__Output {
  'unit': (string);
  'lines': (string)[];
}
