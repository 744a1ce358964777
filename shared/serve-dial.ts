import { isIP } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { credentials, type ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";
import { SERVE_ORGANIZATION, hasOrganization, type TlsMaterial } from "./tls.js";

/** A name for TLS SNI when serve is dialled by address: RFC 6066 allows no IP there (Node warns and will drop it). */
const SNI_FOR_ADDRESS = "kubecycle-serve";

/** The host of `host:port` (`[v6]:port` too). */
export function endpointHost(endpoint: string): string {
  const m = /^\[([^\]]+)\]:\d+$/.exec(endpoint) ?? /^([^:]+):\d+$/.exec(endpoint);
  return m?.[1] ?? endpoint;
}

/**
 * How every client of `kubecycle serve` (the agents reporting, `kubecycle status` reading) dials it: mutual TLS with
 * its own certificate, and serve's checked twice, by the name dialled (`serverName`, else the endpoint's host, an IP
 * SAN for an address) and by its purpose: it must be serve's own (O=kubecycle:serve), not some other certificate of
 * the same CA that happens to carry the address (an agent's).
 */
export function serveDial(
  endpoint: string,
  tls: TlsMaterial,
  serverName?: string,
): { credentials: ChannelCredentials; options: ChannelOptions } {
  const expected = serverName ?? endpointHost(endpoint);
  const byAddress = isIP(expected) !== 0;
  return {
    credentials: credentials.createSsl(tls.ca, tls.key, tls.cert, {
      checkServerIdentity: (_host: string, cert: PeerCertificate) =>
        checkServerIdentity(expected, cert) ??
        (hasOrganization(cert.subject, SERVE_ORGANIZATION)
          ? undefined
          : new Error(`${expected}'s certificate is not kubecycle serve's (O=${SERVE_ORGANIZATION})`)),
    }),
    options: { "grpc.ssl_target_name_override": byAddress ? SNI_FOR_ADDRESS : expected },
  };
}
