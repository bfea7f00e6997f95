// Retry pacing for GPSS calls: exponential backoff with jitter and a cap (no reconnect storms).
// Whether a failure is worth retrying at all is failure-class.ts's answer.

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
