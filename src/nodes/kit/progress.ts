// Progress texts of a transfer's status: bytes, rows and MB/s, kept short as the status
// guideline asks (the status itself is throttled by ThrottledStatus, status.ts).

export interface ProgressCounters {
  bytes: number; // bytes moved so far (uncompressed side)
  rows: number;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1048576).toFixed(1)} MB`;
  return `${(n / 1073741824).toFixed(2)} GB`;
}

export function formatCount(n: number): string {
  if (n < 10000) return String(n);
  if (n < 1e6) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1e6).toFixed(2)}M`;
}

/** "12.3 MB 45.6k rows 9.8 MB/s" — short, as the status guideline asks. */
export function progressText(c: ProgressCounters, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? c.bytes / 1048576 / (elapsedMs / 1000) : 0;
  return `${formatBytes(c.bytes)} ${formatCount(c.rows)} rows ${rate.toFixed(1)} MB/s`;
}
