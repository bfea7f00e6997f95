// Turning whatever a transfer threw into an Error fit for Catch nodes, logs and status:
// it names the operation, carries OSS's code/status/requestId when there is one, and never
// contains a secret (the AccessKey secret, the database password, or `key=` in LOCATION).
import { withDetails } from '../../shared/error-details';

export interface OssNodeErrorInfo {
  code?: string;
  status?: number;
  requestId?: string;
}

export class OssNodeError extends Error implements OssNodeErrorInfo {
  code: string;
  /** A short form for node status: the OSS/PG code, or the start of the cause. */
  brief = '';
  status?: number;
  requestId?: string;
  constructor(message: string, info: OssNodeErrorInfo = {}) {
    super(message);
    this.name = 'OssNodeError';
    this.code = info.code ?? 'OSS_NODE';
    if (info.status !== undefined) this.status = info.status;
    if (info.requestId) this.requestId = info.requestId;
  }
}

/** Replaces every occurrence of each secret (and `key=...`/`password=...` pairs) with XXX. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 3) out = out.split(s).join('XXX');
  }
  // LOCATION literals and connection strings, in case a library echoes SQL or a URL.
  // (`id=` only where it precedes `key=`, as in an oss:// LOCATION: the AccessKey ID.)
  out = out.replace(/\bid=[^\s'"]+(\s+key=)/g, 'id=XXX$1').replace(/\bkey=[^\s'"]+/g, 'key=XXX').replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1XXX@');
  return out;
}

function field(e: unknown, k: string): unknown {
  if (!e || typeof e !== 'object') return undefined;
  const v = (e as Record<string, unknown>)[k];
  if (v !== undefined) return v;
  // src/oss's OssOperationError keeps status/requestId/ossCode under `details`.
  const d = (e as { details?: unknown }).details;
  return d && typeof d === 'object' ? (d as Record<string, unknown>)[k === 'code' ? 'ossCode' : k] : undefined;
}

/**
 * Wraps `err` as an OssNodeError whose message starts with `context` (e.g. "export of
 * public.t to oss://bucket/prefix failed") and ends with the cause; secrets removed.
 */
export function toNodeError(err: unknown, context: string, secrets: readonly (string | undefined)[]): OssNodeError {
  const causeMsg = err instanceof Error ? err.message : String(err);
  const code = field(err, 'code');
  const status = field(err, 'status');
  const requestId = field(err, 'requestId');
  const parts: string[] = [];
  if (typeof code === 'string' && code && !causeMsg.includes(code)) parts.push(code);
  if (typeof status === 'number' && status > 0) parts.push(`HTTP ${status}`);
  const detail = parts.length ? ` (${parts.join(', ')})` : '';
  const msg = redact(`${context}: ${causeMsg}${detail}`, secrets);
  const e = new OssNodeError(msg, {
    code: typeof code === 'string' && code ? code : 'OSS_NODE',
    ...(typeof status === 'number' ? { status } : {}),
    ...(typeof requestId === 'string' ? { requestId } : {}),
  });
  const bare = typeof code === 'string' ? code.replace(/^OSS_/, '') : '';
  const ossCode = /^[A-Z][A-Za-z]+$/.test(bare) ? bare : '';
  const short = ossCode ? `${ossCode}${typeof status === 'number' && status > 0 ? ` (${status})` : ''}` : redact(causeMsg, secrets);
  e.brief = short.length > 40 ? `${short.slice(0, 39)}…` : short;
  // HTTP status, request id, OSS code, SQLSTATE as `cause`: Node-RED's Catch passes it on.
  return withDetails(e, err, (t) => redact(t, secrets));
}
