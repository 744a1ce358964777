export {
  AGENT_ORGANIZATION,
  createCa,
  issueAgentCert,
  issueClientCert,
  type AgentCertOptions,
  type CaOptions,
  type ClientCertOptions,
  type PkiOptions,
  type WrittenFiles,
} from "./pki.js";
