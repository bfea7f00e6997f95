// A GPSS endpoint from its settings, and the one bounded check of an endpoint and a login that
// the gpss-server dialog's Test connection runs: Connect, ListSchema, Disconnect on a client of
// its own (never the shared channel), closed in every case.
import { GpssClient, type GpssEndpoint, type GpssLogin } from './client';

/** PEM texts of a TLS endpoint (a client certificate and key for mutual TLS). */
export interface EndpointTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** The endpoint at host:port, with TLS when `tls` is given; a client certificate needs its key. */
export function gpssEndpoint(host: string, port: number, tls: EndpointTls | null): GpssEndpoint {
  if (!tls) return { host, port };
  // A client certificate without its key (or the reverse) cannot do mutual TLS: say so here
  // rather than let the TLS library fail with a less helpful message.
  if (!!tls.cert !== !!tls.key) throw new Error('gpss-server: TLS client certificate and client key go together (mutual TLS): give both or neither');
  const pem = (s: string | undefined): Buffer | undefined => (s ? Buffer.from(s) : undefined);
  return { host, port, tls: { ca: pem(tls.ca), cert: pem(tls.cert), key: pem(tls.key) } };
}

/** Connects with `login` and lists the schemas; every call bounded by `deadlineMs`. */
export async function checkGpssEndpoint(endpoint: GpssEndpoint, login: GpssLogin, deadlineMs: number): Promise<{ schemas: string[] }> {
  const client = new GpssClient(endpoint, { deadlineMs });
  try {
    const session = await client.connect(login);
    try {
      const schemas = await client.listSchemas(session);
      return { schemas: schemas.map((x) => x.name) };
    } finally {
      await client.disconnect(session).catch(() => undefined);
    }
  } finally {
    client.shutdown();
  }
}
