// The gpss-server dialog's fields (and the Test connection's unsaved ones) → the endpoint and the
// limits of the node. Pure: unit-tested without Node-RED. Invalid values throw a SettingError
// naming the option (settings.ts).
import { gpssEndpoint, type EndpointTls, type GpssEndpoint } from '../../gpss';
import { boolSetting, intSetting, textSetting } from '../../shared/settings';

/** The node's credentials: TLS material for a remote endpoint. */
export type GpssServerCreds = { tlsCa?: string; tlsCert?: string; tlsKey?: string };

export interface GpssServerSettingsDef {
  mode?: unknown;
  host?: unknown;
  port?: unknown;
  tls?: unknown;
  embeddedPort?: unknown;
  rpcTimeout?: unknown;
  sessionTimeout?: unknown;
  closeTimeout?: unknown;
}

export interface GpssServerSettings {
  /** The remote endpoint; null: an embedded gpss-pg. */
  remote: GpssEndpoint | null;
  embeddedPort: number;
  rpcTimeoutMs: number;
  sessionTimeoutSec: number;
  closeTimeoutMs: number;
}

const tlsOf = (useTls: unknown, c: GpssServerCreds): EndpointTls | null => (boolSetting(useTls, false, 'TLS') ? { ca: c.tlsCa, cert: c.tlsCert, key: c.tlsKey } : null);

/** The remote endpoint of the fields (host, port, TLS); null in embedded mode. */
export function remoteEndpoint(def: GpssServerSettingsDef, creds: GpssServerCreds): GpssEndpoint | null {
  if (def.mode !== 'remote') return null;
  return gpssEndpoint(textSetting(def.host) || '127.0.0.1', intSetting(def.port, 5000, 1, 65535, 'port'), tlsOf(def.tls, creds));
}

export function readGpssServerSettings(def: GpssServerSettingsDef, creds: GpssServerCreds): GpssServerSettings {
  return {
    remote: remoteEndpoint(def, creds),
    embeddedPort: intSetting(def.embeddedPort, 0, 0, 65535, 'embedded port'),
    rpcTimeoutMs: intSetting(def.rpcTimeout, 60, 1, 3600, 'call timeout (s)') * 1000,
    sessionTimeoutSec: intSetting(def.sessionTimeout, 300, 0, 86400, 'session timeout (s)'),
    closeTimeoutMs: intSetting(def.closeTimeout, 12, 1, 14, 'close timeout (s)') * 1000,
  };
}
