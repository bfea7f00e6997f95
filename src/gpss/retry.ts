// Retry policy for GPSS calls: exponential backoff with jitter and a cap (no reconnect storms),
// and a classification of failures into "try again", "the data is bad" and "give up".

import { classifyError, type FailureKind } from './failure-class';

export { GrpcCode, type FailureKind } from './failure-class';

/**
 * - transient: the server, network or session went away; the same batch may succeed later.
 * - data: the server rejected what we sent (type, constraint, error limit): retrying the same
 *   rows fails again, but a smaller batch without the bad message may succeed.
 * - fatal: configuration (credentials, permissions, missing table): nothing will succeed.
 * By status code, and by text where the code is UNKNOWN/INTERNAL as a real GPSS sends them
 * (failure-class.ts).
 */
export function classifyFailure(err: unknown): FailureKind {
  return classifyError(err).kind;
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
