// The one throttled node status: at most one update per interval (2/s by default), always
// ending on the latest state (a trailing update), repeats dropped. Heavy status traffic clogs
// the editor's comms (node-red#5280, spec/node-red.md §4.4). Final states (done, failed) may
// go out at once with setNow().
import type { Node, NodeStatus } from 'node-red';

/** A node (its status()) or a function that shows a status. */
export type StatusTarget = Pick<Node, 'status'> | ((status: NodeStatus) => void);

export class ThrottledStatus {
  private last: string | null = null;
  private lastAt = -Infinity;
  private next: NodeStatus | null = null;
  private timer: NodeJS.Timeout | null = null;
  private disposed = false;
  private readonly sink: (status: NodeStatus) => void;

  constructor(
    target: StatusTarget,
    private readonly intervalMs = 500,
    private readonly now: () => number = Date.now,
  ) {
    this.sink = typeof target === 'function' ? target : (s) => target.status(s);
  }

  /** Shows `status` now, or as the trailing update of this interval. */
  set(status: NodeStatus): void {
    if (this.disposed) return;
    const key = JSON.stringify(status);
    if (key === this.last && !this.timer) return;
    const now = this.now();
    if (now - this.lastAt >= this.intervalMs && !this.timer) {
      this.emit(status, key, now);
      return;
    }
    this.next = status;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        const s = this.next;
        this.next = null;
        if (s && !this.disposed) this.emit(s, JSON.stringify(s), this.now());
      }, Math.max(0, this.intervalMs - (now - this.lastAt)));
    }
  }

  /** Shows `status` at once (a final state), replacing a pending trailing update. */
  setNow(status: NodeStatus): void {
    if (this.disposed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.next = null;
    this.emit(status, JSON.stringify(status), this.now());
  }

  private emit(status: NodeStatus, key: string, now: number): void {
    if (key === this.last) return;
    this.last = key;
    this.lastAt = now;
    this.sink(status);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * The one short count of every status: 123456 → "123.5k", 2500000 → "2.50M"; below 10,000 the
 * whole number (a rate such as 12.7/s shows as 13).
 */
export function shortCount(n: number): string {
  if (n < 1e4) return String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(2)}M`;
  return `${(n / 1e9).toFixed(2)}G`;
}
