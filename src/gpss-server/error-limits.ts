// Greenplum single-row error isolation, applied per load (spec §5, from cdbsreh.c).
// Rejections must be fed in arrival order; each one is checked when it is counted.

/** Greenplum's gp_reject_percent_threshold: percentages count only after this many rows. */
export const PERCENT_THRESHOLD = 300;
/** Greenplum's gp_initial_bad_row_limit: the first 1000 rows all rejected aborts the load. */
export const INITIAL_BAD_ROW_LIMIT = 1000;

export interface ErrorLimitOptions {
  count: number; // ErrorLimitCount (0 = unset)
  percentage: number; // ErrorLimitPercentage (0 = unset)
}

/** Validates the Open options; returns a message for INVALID_ARGUMENT, or null. */
export function checkErrorLimitOptions(count: number, percentage: number): string | null {
  if (!Number.isFinite(count) || count < 0) return `ErrorLimitCount must be ≥ 0 (got ${count})`;
  if (!Number.isFinite(percentage) || percentage < 0 || percentage > 100) return `ErrorLimitPercentage must be 0..100 (got ${percentage})`;
  return null;
}

/**
 * Decides whether rejecting one more row breaches the limits. `rejected` is k (including this
 * row), `processed` is n (this row's 1-based arrival number). Returns the reason, or null.
 */
export function limitBreach(limits: ErrorLimitOptions, rejected: number, processed: number): string | null {
  const { count, percentage } = limits;
  if (count === 0 && percentage === 0) return 'a row was rejected and no error limit is set';
  if (count > 0 && rejected >= count) return `error limit reached: ${rejected} rejected rows ≥ ErrorLimitCount ${count}`;
  if (percentage > 0 && processed > PERCENT_THRESHOLD && Math.floor((100 * rejected) / processed) >= percentage) {
    return `error limit reached: ${rejected} of ${processed} rows rejected (${Math.floor((100 * rejected) / processed)}%) ≥ ErrorLimitPercentage ${percentage}`;
  }
  if (rejected === INITIAL_BAD_ROW_LIMIT && processed === INITIAL_BAD_ROW_LIMIT) return `all of the first ${INITIAL_BAD_ROW_LIMIT} rows were rejected`;
  return null;
}

/**
 * True when `rejected` rejections will breach the count limit whatever their order: rejected
 * rows only ever add to k, so this can be decided before their arrival order is known.
 */
export function countLimitCertain(limits: ErrorLimitOptions, rejected: number): boolean {
  if (rejected <= 0) return false;
  if (limits.count === 0 && limits.percentage === 0) return true;
  return limits.count > 0 && rejected >= limits.count;
}
