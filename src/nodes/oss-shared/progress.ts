// Progress status for the OSS nodes: bytes, rows and MB/s, at most one update per second
// (spec/node-red.md §4.4: status traffic floods the editor's comms otherwise).

export interface ProgressCounters {
  bytes: number; // bytes moved so far (uncompressed side)
  rows: number;
}

export interface StatusObject {
  fill: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape: 'ring' | 'dot';
  text: string;
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

/** Calls `emit` at most once per `intervalMs`; `force` bypasses the throttle (final states). */
export class ThrottledStatus {
  private last = 0;
  constructor(
    private readonly emit: (s: StatusObject | Record<string, never>) => void,
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  progress(c: ProgressCounters, startedAt: number, label = ''): void {
    const t = this.now();
    if (t - this.last < this.intervalMs) return;
    this.last = t;
    this.emit({ fill: 'blue', shape: 'dot', text: `${label}${progressText(c, t - startedAt)}` });
  }

  set(s: StatusObject | Record<string, never>): void {
    this.last = this.now();
    this.emit(s);
  }
}
