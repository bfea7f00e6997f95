// Request authentication exactly as OSS verifies what ali-oss 6.23 signs
// (spec/oss.md §3.2 V1, §3.3 V4): Authorization headers and presigned URLs.
// Pure functions over the parsed request, so they can be unit-tested against vectors.
import * as crypto from 'node:crypto';
import { Errors, OssError } from './errors';

/** Query parameters that V1 signs (the "sub-resources"); everything else is unsigned. */
export const SIGNED_SUBRESOURCES: ReadonlySet<string> = new Set([
  'acl', 'uploads', 'location', 'cors', 'logging', 'website', 'referer', 'lifecycle', 'delete', 'append',
  'tagging', 'objectMeta', 'uploadId', 'partNumber', 'security-token', 'position', 'img', 'style',
  'styleName', 'replication', 'replicationProgress', 'replicationLocation', 'cname', 'bucketInfo', 'comp',
  'qos', 'live', 'status', 'vod', 'startTime', 'endTime', 'symlink', 'x-oss-process',
  'response-content-type', 'response-content-language', 'response-content-disposition',
  'response-content-encoding', 'response-expires', 'response-cache-control',
  'continuation-token', 'versionId', 'restore', 'versions', 'x-oss-traffic-limit', 'callback', 'callback-var',
]);

export interface AuthRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  bucket: string | undefined;
  key: string;
  /** Decoded query pairs in wire order. */
  query: ReadonlyArray<readonly [string, string]>;
}

export type SecretLookup = (accessKeyId: string) => string | undefined;

function header(req: AuthRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function queryValue(req: AuthRequest, name: string): string | undefined {
  const hit = req.query.find(([k]) => k === name);
  return hit ? hit[1] : undefined;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}

// ---- V1 ---------------------------------------------------------------------------

/** `/bucket/key?sub&sub=v` with raw (decoded) key and values, as ali-oss builds it. */
export function v1CanonicalResource(req: AuthRequest, excludeParams: ReadonlySet<string> = new Set()): string {
  let resource = '/';
  if (req.bucket) resource += `${req.bucket}/`;
  resource += req.key;
  const subs = req.query.filter(([k]) => SIGNED_SUBRESOURCES.has(k) && !excludeParams.has(k));
  if (subs.length) {
    const seen = new Set<string>();
    const parts: string[] = [];
    for (const [k, v] of subs) {
      if (seen.has(k)) continue;
      seen.add(k);
      parts.push(v === '' ? k : `${k}=${v}`);
    }
    // ali-oss sorts the keys with Array.prototype.sort (UTF-16 order); values follow keys.
    parts.sort((a, b) => {
      const ka = a.split('=', 1)[0];
      const kb = b.split('=', 1)[0];
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    resource += '?' + parts.join('&');
  }
  return resource;
}

export function v1StringToSign(req: AuthRequest, dateLine: string, excludeParams?: ReadonlySet<string>): string {
  const ossHeaders: string[] = [];
  for (const name of Object.keys(req.headers).sort()) {
    const lower = name.toLowerCase();
    if (!lower.startsWith('x-oss-')) continue;
    ossHeaders.push(`${lower}:${(header(req, name) ?? '').trim()}`);
  }
  return [
    req.method.toUpperCase(),
    header(req, 'content-md5') ?? '',
    header(req, 'content-type') ?? '',
    dateLine,
    ...ossHeaders,
    v1CanonicalResource(req, excludeParams),
  ].join('\n');
}

export function v1Signature(secret: string, stringToSign: string): string {
  return crypto.createHmac('sha1', secret).update(Buffer.from(stringToSign, 'utf8')).digest('base64');
}

// ---- V4 ---------------------------------------------------------------------------

/** encodeURIComponent plus `!'()*`, as ali-oss's encodeString. */
export function v4Encode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function v4CanonicalRequest(req: AuthRequest, additionalHeaders: string[], excludeParams: ReadonlySet<string>): string {
  const uri = v4Encode(`/${req.bucket ? `${req.bucket}/` : ''}${req.key}`).replace(/%2F/g, '/');
  const seen = new Set<string>();
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of req.query) {
    if (excludeParams.has(k) || seen.has(k)) continue;
    seen.add(k);
    pairs.push([k, v]);
  }
  // ali-oss: qs.stringify(..., { sort: localeCompare, strictNullHandling: true }). A valueless
  // sub-resource was signed as a bare key; an ordinary parameter with an empty value as `k=`.
  pairs.sort((a, b) => a[0].localeCompare(b[0]));
  const query = pairs
    .map(([k, v]) => (v === '' && SIGNED_SUBRESOURCES.has(k) ? v4Encode(k) : `${v4Encode(k)}=${v4Encode(v)}`))
    .join('&');

  const names = new Set<string>(additionalHeaders);
  for (const name of Object.keys(req.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'content-type' || lower === 'content-md5' || lower.startsWith('x-oss-')) names.add(lower);
  }
  const canonicalHeaders = [...names]
    .sort()
    .map((n) => `${n}:${(header(req, n) ?? '').trim()}\n`)
    .join('');
  return [
    req.method.toUpperCase(),
    uri,
    query,
    canonicalHeaders,
    additionalHeaders.join(';'),
    header(req, 'x-oss-content-sha256') ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
}

export function v4StringToSign(timestamp: string, scope: string, canonicalRequest: string): string {
  return ['OSS4-HMAC-SHA256', timestamp, scope, crypto.createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
}

export function v4Signature(secret: string, date: string, region: string, product: string, stringToSign: string): string {
  const kDate = crypto.createHmac('sha256', `aliyun_v4${secret}`).update(date).digest();
  const kRegion = crypto.createHmac('sha256', kDate).update(region).digest();
  const kProduct = crypto.createHmac('sha256', kRegion).update(product).digest();
  const kSigning = crypto.createHmac('sha256', kProduct).update('aliyun_v4_request').digest();
  return crypto.createHmac('sha256', kSigning).update(stringToSign).digest('hex');
}

interface V4Credential { accessKeyId: string; date: string; region: string; product: string }

function parseCredential(value: string): V4Credential {
  const parts = value.split('/');
  if (parts.length !== 5 || parts[4] !== 'aliyun_v4_request' || !/^\d{8}$/.test(parts[1])) {
    throw Errors.invalidArgument(`Invalid credential in authorization: ${value}`, 'Credential', value);
  }
  return { accessKeyId: parts[0], date: parts[1], region: parts[2], product: parts[3] };
}

function parseAdditional(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(';').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
}

/** The V4 scope's region for an OSS region name: `oss-cn-hangzhou` → `cn-hangzhou` (spec §3.3). */
export function v4Region(region: string): string {
  return region.replace(/^oss-/, '');
}

function verifyV4(
  req: AuthRequest, lookup: SecretLookup, cred: V4Credential, additional: string[], timestamp: string,
  provided: string, exclude: ReadonlySet<string>, region: string | undefined,
): void {
  const secret = lookup(cred.accessKeyId);
  if (secret === undefined) throw Errors.invalidAccessKeyId(cred.accessKeyId);
  // OSS refuses a scope naming another region (or `oss-cn-…` instead of `cn-…`) with
  // 400 InvalidArgument "Invalid signing region in Authorization header." (EC 0002-00000226,
  // Alibaba Cloud's error-code page; the Go SDK v2 issue #29 shows the answer).
  if (region !== undefined && cred.region !== v4Region(region)) {
    throw Errors.invalidArgument('Invalid signing region in Authorization header.', 'Credential', cred.region);
  }
  if (!timestamp.startsWith(cred.date + 'T')) {
    throw Errors.invalidArgument('x-oss-date does not match the date of the credential scope', 'x-oss-date', timestamp);
  }
  const canonical = v4CanonicalRequest(req, additional, exclude);
  const scope = `${cred.date}/${cred.region}/${cred.product}/aliyun_v4_request`;
  const sts = v4StringToSign(timestamp, scope, canonical);
  const expected = v4Signature(secret, cred.date, cred.region, cred.product, sts);
  if (!safeEqual(expected, provided.toLowerCase())) {
    const err = Errors.signatureDoesNotMatch(sts, provided, cred.accessKeyId);
    err.extra.CanonicalRequest = canonical;
    throw err;
  }
}

function parseV4Timestamp(ts: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(ts);
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

// ---- entry point ------------------------------------------------------------------

/** The request's signing time (x-oss-date in either format, else Date), in ms; NaN if none. */
export function requestTime(req: AuthRequest): number {
  const v = header(req, 'x-oss-date') ?? header(req, 'date');
  if (!v) return NaN;
  const v4 = parseV4Timestamp(v);
  return Number.isFinite(v4) ? v4 : Date.parse(v);
}

/** 403 RequestTimeTooSkewed when the signing time is more than maxSkewMs away from now. */
export function checkSkew(req: AuthRequest, maxSkewMs: number, now = Date.now()): void {
  if (header(req, 'authorization') === undefined) return; // presigned URLs carry their own expiry
  const t = requestTime(req);
  if (!Number.isFinite(t) || Math.abs(now - t) > maxSkewMs) {
    throw new OssError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
      RequestTime: header(req, 'x-oss-date') ?? header(req, 'date') ?? '', ServerTime: new Date(now).toISOString(), MaxAllowedSkewMilliseconds: String(maxSkewMs),
    });
  }
}

const PRESIGN_V1 = new Set(['OSSAccessKeyId', 'Expires', 'Signature']);
const PRESIGN_V4_SIG = new Set(['x-oss-signature']);

/**
 * Verifies the request's Authorization header or presigned query. Returns the access key id
 * used; throws OssError (403 AccessDenied / InvalidAccessKeyId / SignatureDoesNotMatch,
 * 400 InvalidArgument for a malformed header or, when `region` is given, a V4 scope signed
 * for another region).
 */
export function authenticate(req: AuthRequest, lookup: SecretLookup, now = Date.now(), region?: string): string {
  const auth = header(req, 'authorization');
  if (auth) {
    if (auth.startsWith('OSS ')) {
      const m = /^OSS ([^:\s]+):(\S+)$/.exec(auth.trim());
      if (!m) throw Errors.invalidArgument('Authorization header is invalid.', 'Authorization', auth);
      const [, id, provided] = m;
      const secret = lookup(id);
      if (secret === undefined) throw Errors.invalidAccessKeyId(id);
      const dateLine = header(req, 'x-oss-date') ?? header(req, 'date') ?? '';
      const sts = v1StringToSign(req, dateLine);
      if (!safeEqual(v1Signature(secret, sts), provided)) throw Errors.signatureDoesNotMatch(sts, provided, id);
      return id;
    }
    if (auth.startsWith('OSS4-HMAC-SHA256 ')) {
      const fields = new Map<string, string>();
      for (const part of auth.slice('OSS4-HMAC-SHA256 '.length).split(',')) {
        const eq = part.indexOf('=');
        if (eq < 0) throw Errors.invalidArgument('Authorization header is invalid.', 'Authorization', auth);
        fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
      }
      const credential = fields.get('Credential');
      const signature = fields.get('Signature');
      if (!credential || !signature) throw Errors.invalidArgument('Authorization header is invalid.', 'Authorization', auth);
      const timestamp = header(req, 'x-oss-date');
      if (!timestamp) throw Errors.accessDenied('V4 signature requires the x-oss-date header.');
      verifyV4(req, lookup, parseCredential(credential), parseAdditional(fields.get('AdditionalHeaders')), timestamp, signature, new Set(), region);
      return parseCredential(credential).accessKeyId;
    }
    throw Errors.invalidArgument('Authorization header is invalid: unsupported scheme.', 'Authorization', auth);
  }

  const v4Version = queryValue(req, 'x-oss-signature-version');
  if (v4Version !== undefined) {
    if (v4Version !== 'OSS4-HMAC-SHA256') throw Errors.invalidArgument('Unsupported x-oss-signature-version.', 'x-oss-signature-version', v4Version);
    const credential = queryValue(req, 'x-oss-credential');
    const signature = queryValue(req, 'x-oss-signature');
    const timestamp = queryValue(req, 'x-oss-date');
    const expires = Number(queryValue(req, 'x-oss-expires'));
    if (!credential || !signature || !timestamp) throw Errors.accessDenied('Presigned URL lacks x-oss-credential, x-oss-date or x-oss-signature.');
    const cred = parseCredential(credential);
    const signedAt = parseV4Timestamp(timestamp);
    if (!Number.isFinite(signedAt) || !Number.isFinite(expires)) throw Errors.invalidArgument('Invalid x-oss-date or x-oss-expires.', 'x-oss-expires', String(queryValue(req, 'x-oss-expires')));
    verifyV4(req, lookup, cred, parseAdditional(queryValue(req, 'x-oss-additional-headers')), timestamp, signature, PRESIGN_V4_SIG, region);
    if (now > signedAt + expires * 1000) throw Errors.requestExpired();
    return cred.accessKeyId;
  }

  const v1Id = queryValue(req, 'OSSAccessKeyId');
  if (v1Id !== undefined) {
    const provided = queryValue(req, 'Signature') ?? '';
    const expires = queryValue(req, 'Expires') ?? '';
    const secret = lookup(v1Id);
    if (secret === undefined) throw Errors.invalidAccessKeyId(v1Id);
    const sts = v1StringToSign(req, expires, PRESIGN_V1);
    if (!safeEqual(v1Signature(secret, sts), provided)) throw Errors.signatureDoesNotMatch(sts, provided, v1Id);
    if (!/^\d+$/.test(expires) || now > Number(expires) * 1000) throw Errors.requestExpired();
    return v1Id;
  }

  throw Errors.accessDenied();
}
