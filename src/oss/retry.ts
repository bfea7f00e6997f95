/**
 * Retry policy for OSS requests (spec/oss.md §2.4): ali-oss retries only socket errors, never
 * streams, 5xx or timeouts, so every request we make goes through `withRetry`.
 */
export interface RetryOptions {
  /** Attempts in total, including the first. Default 6. */
  attempts?: number;
  /** First backoff in ms; doubled each attempt, with full jitter. Default 200. */
  baseDelayMs?: number;
  /** Cap of one backoff in ms. Default 10000. */
  maxDelayMs?: number;
}
