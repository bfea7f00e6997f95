// Throttled node status: at most one update per interval (2/s by default), always ending on the
// latest state. Heavy status traffic clogs the editor's comms (node-red#5280).
import type { Node, NodeStatus } from 'node-red';

export class ThrottledStatus {
  private last: string | null = null;
  private lastAt = 0;
  private next: NodeStatus | null = null;
  private timer: NodeJS.Timeout | null = null;
  private disposed = false;

  constructor(
    private readonly node: Pick<Node, 'status'>,
    private readonly intervalMs = 500,
  ) {}

  set(status: NodeStatus): void {
    if (this.disposed) return;
    const key = JSON.stringify(status);
    if (key === this.last && !this.timer) return;
    const now = Date.now();
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
        if (s && !this.disposed) this.emit(s, JSON.stringify(s), Date.now());
      }, Math.max(0, this.intervalMs - (now - this.lastAt)));
    }
  }

  private emit(status: NodeStatus, key: string, now: number): void {
    if (key === this.last) return;
    this.last = key;
    this.lastAt = now;
    this.node.status(status);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Short human rate: 1234567 → "1.2M". */
export function shortCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return String(Math.round(n));
}
