// Who may talk to gpss-pg: TLS (optionally mutual) on the gRPC listener, and the rule that a
// listener reachable from other hosts is not plaintext unless the operator says so.
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';

export interface ListenerTls {
  cert: Buffer;
  key: Buffer;
  /** When set, clients must present a certificate signed by this CA (mutual TLS). */
  clientCa?: Buffer;
}

/** True for addresses only this host can reach: 127.0.0.0/8, ::1 (also IPv4-mapped), localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (v4 && net.isIPv4(v4[1])) return v4[1].startsWith('127.');
  if (net.isIPv6(h)) return /^(?:0{0,4}:){1,7}0{0,3}1$|^::1$/.test(h);
  return false; // 0.0.0.0, ::, other addresses and host names: possibly reachable from elsewhere
}

/**
 * Refuses a plaintext listener on a non-loopback address unless `insecure` (the CLI's
 * --insecure); returns the warning to log loudly when it is allowed that way, else null.
 */
export function checkListener(host: string, tls: ListenerTls | undefined, insecure: boolean | undefined): string | null {
  if (tls || isLoopbackHost(host)) return null;
  if (!insecure) {
    throw new Error(
      `refusing to listen on ${host} without TLS: Connect requests carry database passwords, which would cross the network in clear text. ` +
        'Give --tls-cert/--tls-key (and --tls-client-ca to require client certificates), listen on 127.0.0.1, or pass --insecure to accept the risk',
    );
  }
  return `WARNING: INSECURE: gpss-pg listens on ${host} WITHOUT TLS (--insecure): database passwords in Connect requests and all rows travel in clear text, and any host that reaches this port can use it`;
}

/** grpc-js server credentials: plaintext, TLS, or mutual TLS when a client CA is given. */
export function listenerCredentials(tls: ListenerTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  // checkClientCertificate=true sets Node's `requestCert` with `ca` = the client CA (grpc-js
  // server-credentials.ts); Node's TLS server then rejects unauthorized clients by default
  // (`rejectUnauthorized` defaults to true), so a client without a certificate signed by the
  // CA fails the handshake.
  return grpc.ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], !!tls.clientCa);
}

/** What the startup log says about the listener's security. */
export function describeListener(tls: ListenerTls | undefined): string {
  if (!tls) return '';
  return tls.clientCa ? ' (TLS, client certificates required)' : ' (TLS)';
}
