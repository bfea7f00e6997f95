// Details of a failure in the shape Node-RED's Catch passes on. Flow.handleError copies only the
// Error's own `code`, `stack` and `cause` into msg.error (node-red runtime lib/flows/Flow.js), so
// the HTTP status, the OSS request id, the SQLSTATE and the gRPC status go into `cause` — a plain
// object, not the driver's error (which may hold request headers or SQL with secrets).

export interface ErrorCause {
  /** The underlying error's text, secrets removed. */
  message: string;
  /** HTTP status (OSS). */
  status?: number;
  /** OSS's x-oss-request-id, what Alibaba Cloud support asks for. */
  requestId?: string;
  /** OSS error code (AccessDenied, NoSuchKey, …). */
  ossCode?: string;
  /** PostgreSQL/Greenplum SQLSTATE (23505, 28P01, …). */
  sqlState?: string;
  /** gRPC status of a GPSS call (UNAVAILABLE, NOT_FOUND, …) and its number. */
  grpcStatus?: string;
  grpcCode?: number;
}

const GRPC_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

function get(e: unknown, k: string): unknown {
  if (!e || typeof e !== 'object') return undefined;
  const v = (e as Record<string, unknown>)[k];
  if (v !== undefined) return v;
  // src/oss's OssOperationError keeps status/requestId/ossCode under `details`.
  const d = (e as { details?: unknown }).details;
  return d && typeof d === 'object' ? (d as Record<string, unknown>)[k] : undefined;
}

/** SQLSTATE of a pg DatabaseError, or as gpss-pg/GPSS write it in a message ("ERROR 23505: …"). */
export function sqlStateOf(err: unknown): string | undefined {
  const code = get(err, 'code');
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && get(err, 'severity') !== undefined) return code;
  const sqlState = get(err, 'sqlState');
  if (typeof sqlState === 'string' && /^[0-9A-Z]{5}$/.test(sqlState)) return sqlState;
  const m = /\b(?:ERROR|SQLSTATE)[: ]\s*([0-9A-Z]{5})\b/.exec(err instanceof Error ? err.message : String(err ?? ''));
  return m ? m[1] : undefined;
}

/** The details of `err` worth a Catch node's attention (undefined fields left out). */
function causeOf(err: unknown, redact: (text: string) => string): ErrorCause {
  const out: ErrorCause = { message: redact(err instanceof Error ? err.message : String(err)) };
  const status = get(err, 'status');
  if (typeof status === 'number' && status > 0) out.status = status;
  const requestId = get(err, 'requestId');
  if (typeof requestId === 'string' && requestId) out.requestId = requestId;
  const ossCode = get(err, 'ossCode') ?? (out.status !== undefined ? get(err, 'code') : undefined);
  if (typeof ossCode === 'string' && /^[A-Z][A-Za-z]+$/.test(ossCode.replace(/^OSS_/, ''))) out.ossCode = ossCode.replace(/^OSS_/, '');
  const sqlState = sqlStateOf(err);
  if (sqlState) out.sqlState = sqlState;
  const code = get(err, 'code');
  if (typeof code === 'number' && Number.isInteger(code) && code >= 0 && code < GRPC_NAMES.length && (get(err, 'rpc') !== undefined || get(err, 'grpcCode') !== undefined)) {
    out.grpcCode = code;
    out.grpcStatus = GRPC_NAMES[code];
  }
  const grpcCode = get(err, 'grpcCode');
  if (out.grpcCode === undefined && typeof grpcCode === 'number' && grpcCode >= 0 && grpcCode < GRPC_NAMES.length) {
    out.grpcCode = grpcCode;
    out.grpcStatus = GRPC_NAMES[grpcCode];
  }
  return out;
}

const DETAIL_KEYS = ['status', 'requestId', 'ossCode', 'sqlState', 'grpcStatus', 'grpcCode'] as const;

/**
 * Gives `e` an own `cause` (and `code`, when it has none) from `source`, for Catch. The details
 * are also set on `e` itself, enumerable: an error that wraps this one (the stream writer's
 * CommitFailedError, a JobError) has it as its `cause`, and Catch then shows them there.
 */
export function withDetails<E extends Error>(e: E, source: unknown, redact: (text: string) => string): E {
  const cause = causeOf(source, redact);
  Object.defineProperty(e, 'cause', { value: cause, enumerable: false, writable: true, configurable: true });
  const rec = e as unknown as Record<string, unknown>;
  for (const k of DETAIL_KEYS) if (cause[k] !== undefined && rec[k] === undefined) rec[k] = cause[k];
  const own = e as E & { code?: unknown };
  if (own.code === undefined) {
    const code = cause.sqlState ?? cause.ossCode ?? cause.grpcStatus;
    if (code !== undefined) own.code = code;
  }
  return e;
}
