export {
  AGENT_ORGANIZATION,
  SERVE_ORGANIZATION,
  issueServeCert,
  type ServeCertOptions,
  createCa,
  issueAgentCert,
  issueClientCert,
  type AgentCertOptions,
  type CaOptions,
  type ClientCertOptions,
  type PkiOptions,
  type WrittenFiles,
} from "./pki.js";
