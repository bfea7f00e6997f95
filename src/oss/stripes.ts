// How many objects a client-mode export writes side by side (exportQueryToOss `stripes`).
// On Greenplum the object count should be a multiple of the primary segment count, so a later
// oss_ext import spreads the objects evenly over the segments (DESIGN §6, spec/oss.md §1.8):
// one stripe per segment, all rolled over together. PostgreSQL (one "segment") keeps one
// stream of objects. Pure: unit-tested without a database.

/** exportQueryToOss accepts at most this many stripes. */
export const MAX_STRIPES = 1000;

export interface StripePlan {
  /** Objects written side by side; the object count is a multiple of it. */
  stripes: number;
  /** Multipart parts in flight per stripe: the total asked for, shared out, at least 1. */
  parallelParts: number;
}

/**
 * The stripes for `segments` primary segments (primarySegmentCount: 1 on PostgreSQL) and the
 * `parallelParts` asked for in all. Every stripe uploads its own object, so the parts in flight are
 * divided between them: memory stays near stripes × (parts per stripe + 1) × part size instead
 * of growing with the segment count times the setting. Beyond MAX_STRIPES segments
 * (no multiple is possible within the limit) the export falls back to one stream.
 */
export function exportStripePlan(segments: number, parallelParts: number): StripePlan {
  const parts = Number.isInteger(parallelParts) && parallelParts > 0 ? parallelParts : 1;
  if (!Number.isInteger(segments) || segments <= 1 || segments > MAX_STRIPES) return { stripes: 1, parallelParts: parts };
  return { stripes: segments, parallelParts: Math.max(1, Math.floor(parts / segments)) };
}
