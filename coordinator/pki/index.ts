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
export {
  ASIDE_DIR,
  daysLeft,
  expiryState,
  listPki,
  parseSubjectAltName,
  readCa,
  readPkiCertificate,
  type ExpiryState,
  type PkiCertificate,
  type PkiKind,
  type PkiRole,
} from "./inspect.js";
export {
  renewCa,
  renewCertificate,
  resolveLeaf,
  rolloutSteps,
  type RenewOptions,
  type Renewed,
  type RenewedCa,
} from "./renew.js";
