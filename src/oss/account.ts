// An OSS account (endpoint or region, bucket, keys, timeouts): its settings read from a
// settings record (the oss-account dialog), turned into ali-oss client options and into the
// parts of an oss:// LOCATION, and validated with errors that name the field. Pure.

import { SettingError } from '../shared/settings';

export type SignatureVersion = 'v1' | 'v4';

/** The non-secret settings of an oss-account node, as stored in the flow. */
export interface OssAccountSettings {
  endpoint: string; // '' = derived from region; 'host[:port]' or 'http(s)://host[:port]'
  region: string; // e.g. 'oss-cn-hangzhou'
  internal: boolean; // use '<region>-internal.aliyuncs.com' when no endpoint is given
  bucket: string;
  secure: boolean; // https when the endpoint carries no scheme
  timeoutMs: number; // per request (ali-oss `timeout`)
  signature: SignatureVersion;
  maxSockets: number; // sockets of this account's own keep-alive agent
  extEndpoint: string; // host the Greenplum segments use in oss:// LOCATION ('' = derived)
}

export interface OssAccountCredentials {
  accessKeyId: string;
  accessKeySecret: string;
}

/** An account setting is invalid: `field` (also `option`) names it. Never mentions the secret's value. */
function accountError(field: string, message: string): SettingError {
  return new SettingError(field, message, 'OSS_ACCOUNT_CONFIG');
}

const REGION_RE = /^[a-z0-9][a-z0-9-]{1,62}$/;
// ali-oss's own bucket check (initOptions.js); stricter rules are OSS's, enforced server-side.
const BUCKET_RE = /^[a-z0-9_][a-z0-9-_]{1,61}[a-z0-9_]$/;
const HOST_RE = /^[a-z0-9.-]+$/i;

function num(value: unknown, fallback: number): number {
  const n = typeof value === 'number' ? value : Number(String(value ?? '').trim());
  return Number.isFinite(n) && String(value ?? '').trim() !== '' ? n : fallback;
}

/** Reads a settings record (strings, as the oss-account dialog stores them) into typed, defaulted settings. */
export function readAccountSettings(def: Record<string, unknown>): OssAccountSettings {
  const str = (k: string) => (typeof def[k] === 'string' ? (def[k] as string).trim() : '');
  const bool = (k: string, d: boolean) => (def[k] === undefined || def[k] === '' ? d : def[k] === true || def[k] === 'true');
  return {
    endpoint: str('endpoint'),
    region: str('region') || 'oss-cn-hangzhou',
    internal: bool('internal', false),
    bucket: str('bucket'),
    secure: bool('secure', true),
    timeoutMs: num(def.timeout, 60000),
    signature: str('signature') === 'v1' ? 'v1' : 'v4',
    maxSockets: num(def.maxSockets, 16),
    extEndpoint: str('extEndpoint'),
  };
}

/** Throws a SettingError (code OSS_ACCOUNT_CONFIG) naming the first invalid field. Never mentions the secret's value. */
export function validateAccount(s: OssAccountSettings, c: Partial<OssAccountCredentials>): void {
  if (!s.bucket) throw accountError('bucket', 'oss-account: bucket is required');
  if (!BUCKET_RE.test(s.bucket)) {
    throw accountError('bucket', `oss-account: bucket "${s.bucket}" is not a valid bucket name (3-63 of a-z 0-9 -)`);
  }
  if (!s.endpoint && !REGION_RE.test(s.region)) {
    throw accountError('region', `oss-account: region "${s.region}" is not valid (e.g. oss-cn-hangzhou)`);
  }
  if (s.endpoint) endpointUrl(s); // throws on a malformed endpoint
  if (!(s.timeoutMs >= 1000)) throw accountError('timeout', 'oss-account: timeout must be at least 1000 ms');
  if (!(s.maxSockets >= 1 && s.maxSockets <= 1024)) {
    throw accountError('maxSockets', 'oss-account: max sockets must be between 1 and 1024');
  }
  if (!c.accessKeyId) throw accountError('accessKeyId', 'oss-account: AccessKey ID is missing');
  if (!c.accessKeySecret) throw accountError('accessKeySecret', 'oss-account: AccessKey secret is missing');
}

/** The endpoint as a full URL ('' when the region is used). */
export function endpointUrl(s: OssAccountSettings): string {
  if (!s.endpoint) return '';
  const withScheme = /^https?:\/\//i.test(s.endpoint) ? s.endpoint : `${s.secure ? 'https' : 'http'}://${s.endpoint}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw accountError('endpoint', `oss-account: endpoint "${s.endpoint}" is not a host or URL`);
  }
  if ((u.pathname && u.pathname !== '/') || u.search || u.username || u.password) {
    throw accountError('endpoint', `oss-account: endpoint "${s.endpoint}" must be a host (and port) without a path`);
  }
  return `${u.protocol}//${u.host}`;
}

/** Options for `new OSS(...)`. The agent is injected by the caller (one per account). */
export function clientOptions(s: OssAccountSettings, c: OssAccountCredentials) {
  const endpoint = endpointUrl(s);
  const secure = endpoint ? endpoint.startsWith('https:') : s.secure;
  return {
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret,
    bucket: s.bucket,
    region: s.region,
    internal: s.internal,
    secure,
    timeout: s.timeoutMs,
    // An IP endpoint gets `Host: <bucket>.<region host>` from ali-oss whatever cname says;
    // cname: false keeps virtual-hosted addressing for real hostnames (spec/oss.md §2.2).
    cname: false,
    authorizationV4: s.signature === 'v4',
    ...(endpoint ? { endpoint } : {}),
  };
}

/**
 * The host the database segments put after `oss://`: the explicit extEndpoint, else the client
 * endpoint's host (scheme and port stripped), else `<region>[-internal].aliyuncs.com`.
 */
export function locationEndpoint(s: OssAccountSettings): string {
  let host = s.extEndpoint;
  if (!host && s.endpoint) host = new URL(endpointUrl(s)).hostname;
  if (!host) host = `${s.region}${s.internal ? '-internal' : ''}.aliyuncs.com`;
  host = host.replace(/^https?:\/\//i, '').replace(/\/+$/, '');
  if (!HOST_RE.test(host)) {
    throw accountError('extEndpoint', `oss-account: external-table endpoint "${host}" must be a bare host name`);
  }
  return host.toLowerCase();
}

/** A one-line description safe for logs and status (no key id, no secret). */
export function describeAccount(s: OssAccountSettings): string {
  const where = endpointUrl(s) || `${s.region}${s.internal ? '-internal' : ''}`;
  return `oss://${s.bucket} @ ${where}`;
}
