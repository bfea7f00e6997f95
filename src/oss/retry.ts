/**
 * Retry policy for OSS requests (spec/oss.md §2.4): ali-oss retries only socket errors, never
 * streams, 5xx or timeouts, so every request we make goes through `withRetry`: exponential
 * backoff with full jitter, a bounded number of attempts, `x-oss-qos-delay-time` honoured,
 * client errors (4xx) never retried, cancellation through an AbortSignal.
 */
import { OssAbortError, OssOperationError } from './errors';

export interface RetryOptions {
  /** Attempts in total, including the first. Default 6. */
  attempts?: number;
  /** First backoff in ms; doubled each attempt, with full jitter. Default 200. */
  baseDelayMs?: number;
  /** Cap of one backoff in ms. Default 10000. */
  maxDelayMs?: number;
}

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  status?: unknown;
  message?: unknown;
  requestId?: unknown;
  headers?: unknown;
  res?: { headers?: Record<string, unknown> };
}

const RETRY_NAMES = new Set([
  'ResponseTimeoutError', 'ConnectionTimeoutError', 'SocketAssignTimeoutError', 'RequestError', 'ResponseError',
  'RequestTimeoutError', 'TruncatedBodyError', 'InternalErrorError', 'ServiceUnavailableError',
]);
const RETRY_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'RequestTimeout', 'InternalError', 'ServiceUnavailable', 'TRUNCATED',
]);

/** HTTP status of an ali-oss error, if any (-1 network, -2 connect timeout, else HTTP). */
export function errorStatus(err: unknown): number | undefined {
  const s = (err as ErrorLike | null)?.status;
  return typeof s === 'number' ? s : undefined;
}

/**
 * Transient: network errors, timeouts, resets, truncated bodies, 5xx, 408/429 and OSS
 * `RequestTimeout`. Not transient: other 4xx (auth, missing key, bad request), cancellation.
 */
export function isRetryableOssError(err: unknown): boolean {
  if (!err || err instanceof OssAbortError) return false;
  const e = err as ErrorLike;
  if ((e as Error).name === 'AbortError') return false;
  const status = errorStatus(err);
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : '';
  if (RETRY_NAMES.has(name) || RETRY_CODES.has(code)) return true;
  // Client errors are final (auth, missing key, bad request). Everything else — network
  // errors, 5xx, and odd answers such as a 200 whose body was cut off — is transient; the
  // attempt count still bounds it.
  if (status !== undefined && status >= 400 && status < 500) return status === 408 || status === 429;
  return true;
}

/** Server-requested delay (`x-oss-qos-delay-time`, ms) when present. */
function qosDelay(err: unknown): number {
  const h = (err as ErrorLike | null)?.res?.headers ?? ((err as ErrorLike | null)?.headers as Record<string, unknown> | undefined);
  const v = h && (h['x-oss-qos-delay-time'] as unknown);
  const n = typeof v === 'string' || typeof v === 'number' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? Math.min(n, 30000) : 0;
}

export function ossRetryDelay(attempt: number, o: RetryOptions = {}): number {
  const base = o.baseDelayMs ?? 200;
  const cap = o.maxDelayMs ?? 10000;
  const exp = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  // Full jitter: spreads retries of parallel parts so they do not hit the server together.
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new OssAbortError());
    const onAbort = () => {
      clearTimeout(t);
      reject(new OssAbortError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Short, credential-free description of an ali-oss / network error. */
export function describeOssError(err: unknown): string {
  const e = (err ?? {}) as ErrorLike;
  const parts: string[] = [];
  if (typeof e.name === 'string' && e.name !== 'Error') parts.push(e.name);
  const status = errorStatus(err);
  if (status !== undefined) parts.push(`status ${status}`);
  if (typeof e.code === 'string' && e.code !== e.name) parts.push(`code ${e.code}`);
  if (typeof e.requestId === 'string' && e.requestId) parts.push(`requestId ${e.requestId}`);
  const msg = typeof e.message === 'string' ? e.message.split('\n')[0].slice(0, 300) : String(err).slice(0, 300);
  return `${parts.length ? parts.join(', ') + ': ' : ''}${msg}`;
}

export interface RetryContext {
  operation: string;
  key?: string;
  signal?: AbortSignal;
  /** Called before each retry (for logs/tests). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `fn(attempt)` until it succeeds, a non-retryable error occurs or attempts run out; the
 * final error is an `OssOperationError` naming the operation, key and attempt count.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, ctx: RetryContext, o: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, o.attempts ?? 6);
  for (let attempt = 1; ; attempt++) {
    if (ctx.signal?.aborted) throw new OssAbortError();
    try {
      return await fn(attempt);
    } catch (err) {
      if (err instanceof OssAbortError || ctx.signal?.aborted) throw err instanceof OssAbortError ? err : new OssAbortError();
      const retryable = isRetryableOssError(err);
      if (!retryable || attempt >= attempts) {
        const e = err as ErrorLike;
        throw new OssOperationError(
          `OSS ${ctx.operation}${ctx.key !== undefined ? ` of "${ctx.key}"` : ''} failed${retryable ? ` after ${attempt} attempts` : ''}: ${describeOssError(err)}`,
          {
            operation: ctx.operation, key: ctx.key, status: errorStatus(err), attempts: attempt, cause: err,
            ossCode: typeof e.code === 'string' ? e.code : undefined, requestId: typeof e.requestId === 'string' ? e.requestId : undefined,
          },
        );
      }
      const delay = Math.max(ossRetryDelay(attempt, o), qosDelay(err));
      ctx.onRetry?.(err, attempt, delay);
      await sleep(delay, ctx.signal);
    }
  }
}
