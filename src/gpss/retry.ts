// Retry policy for GPSS calls: exponential backoff with jitter and a cap (no reconnect storms),
// and a classification of failures into "try again", "the data is bad" and "give up".

/** gRPC status codes (kept local so this module stays pure). */
export const GrpcCode = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5,
  ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9,
  ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
  DATA_LOSS: 15, UNAUTHENTICATED: 16,
} as const;

/**
 * - transient: the server, network or session went away; the same batch may succeed later.
 * - data: the server rejected what we sent (type, constraint, error limit): retrying the same
 *   rows fails again, but a smaller batch without the bad message may succeed.
 * - fatal: configuration (credentials, permissions, missing table): nothing will succeed.
 */
export type FailureKind = 'transient' | 'data' | 'fatal';

export function classifyFailure(err: unknown): FailureKind {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code !== 'number') return 'transient'; // socket errors, timeouts of our own
  switch (code) {
    case GrpcCode.INVALID_ARGUMENT:
    case GrpcCode.ABORTED:
    case GrpcCode.OUT_OF_RANGE:
    case GrpcCode.ALREADY_EXISTS:
      return 'data';
    case GrpcCode.PERMISSION_DENIED:
    case GrpcCode.UNAUTHENTICATED:
    case GrpcCode.UNIMPLEMENTED:
      return 'fatal';
    default:
      return 'transient';
  }
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** 0..1: fraction of the delay that is randomised ("equal jitter" when 0.5). */
  jitter?: number;
}

/** Delay before retry number `attempt` (0 = first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  const jitter = Math.max(0, Math.min(1, options.jitter ?? 0.5));
  return Math.round(exp * (1 - jitter) + exp * jitter * random());
}
