// Pure reading of a greenplum-db definition (the flow's strings, or the unsaved values the
// dialog posts to Test connection) into the pg client config and the postgres:// URL.
import type { ClientConfig } from 'pg';
import type { GreenplumDbCreds } from './types';

export interface DbSettings {
  host: string;
  port: number;
  database: string;
  user: string;
  tls: boolean;
  tlsRejectUnauthorized: boolean;
}

export function bool(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null || v === '') return dflt;
  return v === true || v === 'true';
}

export function int(v: unknown, dflt: number, min: number, max: number): number {
  const n = typeof v === 'number' ? v : parseInt(String(v ?? ''), 10);
  if (!Number.isFinite(n)) return dflt;
  return Math.min(max, Math.max(min, Math.trunc(n)));
}

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v).trim());

export function readDbSettings(def: Record<string, unknown>): DbSettings {
  return {
    host: str(def.host) || '127.0.0.1',
    port: int(def.port, 5432, 1, 65535),
    database: str(def.database) || 'postgres',
    user: str(def.user),
    tls: bool(def.tls, false),
    tlsRejectUnauthorized: bool(def.tlsRejectUnauthorized, true),
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
