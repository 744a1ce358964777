import { ServerCredentials } from "@grpc/grpc-js";
import type { TlsMaterial } from "./tls.js";

/**
 * The TLS kubecycle's servers accept (the agent's, and `kubecycle serve`'s): 1.2 or 1.3, authenticated encryption
 * only (GCM or ChaCha20-Poly1305: no CBC, no SHA-1 MACs), forward secrecy by ECDHE over X25519 or P-256. TLS 1.3's
 * suites must be named too: Node drops 1.3 altogether when a cipher list names none of them.
 */
export const TLS_SETTINGS = Object.freeze({
  minVersion: "TLSv1.2" as const,
  ciphers: [
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-GCM-SHA256",
  ].join(":"),
  ecdhCurve: "X25519:P-256",
});

/**
 * Server credentials carrying {@link TLS_SETTINGS}: grpc-js's createSsl takes no TLS options, but hands whatever its
 * credentials hold to http2.createSecureServer (constructor options) and the secure context (context options).
 * {@link MtlsServerCredentials.update} hands the listening servers a new secure context: new handshakes use it,
 * established connections keep the one they were made with.
 */
export class MtlsServerCredentials extends ServerCredentials {
  constructor(tls: TlsMaterial) {
    super(
      { requestCert: true, rejectUnauthorized: true, honorCipherOrder: true, ...TLS_SETTINGS },
      contextOptions(tls),
    );
  }

  /**
   * Serves `tls` from the next handshake on. The caller checks it first (agent/tls-identity.ts): grpc-js answers a
   * secure context it cannot build by refusing every new connection.
   */
  update(tls: TlsMaterial): void {
    this.updateSecureContextOptions(contextOptions(tls));
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

function contextOptions(tls: TlsMaterial) {
  return { ca: tls.ca, cert: tls.cert, key: tls.key, ...TLS_SETTINGS };
}

/** Server credentials: our own certificate, and client certificates required and checked against the CA. */
export function mtlsServerCredentials(tls: TlsMaterial): MtlsServerCredentials {
  return new MtlsServerCredentials(tls);
}
