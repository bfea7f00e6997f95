// Pure reading of a greenplum-db definition (the flow's strings, or the unsaved values the
// dialog posts to Test connection) into the pg client config and the postgres:// URL. Invalid
// values throw a SettingError naming the option (src/shared/settings.ts).
import type { ClientConfig } from 'pg';
import type { GreenplumDbCreds } from './config-types';
import { boolSetting, intSetting, textSetting } from '../../shared/settings';

export interface DbSettings {
  host: string;
  port: number;
  database: string;
  user: string;
  tls: boolean;
  tlsRejectUnauthorized: boolean;
}

export function readDbSettings(def: Record<string, unknown>): DbSettings {
  return {
    host: textSetting(def.host) || '127.0.0.1',
    port: intSetting(def.port, 5432, 1, 65535, 'port'),
    database: textSetting(def.database) || 'postgres',
    user: textSetting(def.user),
    tls: boolSetting(def.tls, false, 'TLS'),
    tlsRejectUnauthorized: boolSetting(def.tlsRejectUnauthorized, true, 'verify server certificate'),
  };
}

export function dbClientConfig(s: DbSettings, creds: GreenplumDbCreds): ClientConfig {
  return {
    host: s.host,
    port: s.port,
    database: s.database,
    user: s.user || undefined,
    password: creds.password || undefined,
    ssl: s.tls ? { rejectUnauthorized: s.tlsRejectUnauthorized, ca: creds.tlsCa || undefined } : false,
    application_name: 'node-red-greenplum',
  };
}

/** postgres:// URL with the password (for the embedded GPSS server). Never log it. */
export function dbConnectionUrl(s: DbSettings, creds: GreenplumDbCreds): string {
  const u = new URL('postgres://localhost');
  u.hostname = s.host.includes(':') ? `[${s.host}]` : s.host;
  u.port = String(s.port);
  u.pathname = '/' + encodeURIComponent(s.database);
  if (s.user) u.username = encodeURIComponent(s.user);
  if (creds.password) u.password = encodeURIComponent(creds.password);
  if (s.tls) u.searchParams.set('sslmode', s.tlsRejectUnauthorized ? 'verify-full' : 'require');
  return u.toString();
}
