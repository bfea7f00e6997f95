// A GPSS session: one PostgreSQL connection, at most one open load, strictly ordered calls,
// and an idle timer (spec §3.1, §13).
import * as crypto from 'node:crypto';
import { Client } from 'pg';
import { Load } from './load';
import { MAX_TIMER_MS } from './session-limits';

export class Session {
  readonly id = crypto.randomUUID(); // 122 random bits: unguessable
  load: Load | null = null;
  closed = false;
  private tail: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private lastActivity = Date.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly client: Client,
    readonly label: string, // user@host:port/db, for logs (never the password)
    private readonly timeoutSec: number,
    private readonly onExpire: (s: Session) => void,
    private readonly onClosed: () => void = () => undefined, // when closing starts (may run twice)
  ) {
    this.armTimer();
  }

  /** Runs `fn` after every call queued before it (a concurrent Write waits its turn). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.busy++;
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => this.settle(),
      () => this.settle(),
    );
    return result;
  }

  private settle(): void {
    this.busy--;
    this.lastActivity = Date.now();
    this.armTimer();
  }

  private armTimer(): void {
    if (this.timeoutSec <= 0 || this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const due = this.lastActivity + this.timeoutSec * 1000 - Date.now();
    // Clamped so that a long timeout never overflows Node's timer (which would fire at once and spin).
    this.timer = setTimeout(() => this.checkIdle(), Math.min(Math.max(due, 10), MAX_TIMER_MS));
    this.timer.unref();
  }

  private checkIdle(): void {
    this.timer = null;
    if (this.closed) return;
    if (this.busy > 0) return; // settle() re-arms
    if (Date.now() - this.lastActivity >= this.timeoutSec * 1000) this.onExpire(this);
    else this.armTimer();
  }

  /** Shutdown: closes the connection at once; PostgreSQL aborts the open transaction. */
  async terminate(): Promise<void> {
    this.closed = true;
    this.onClosed();
    if (this.timer) clearTimeout(this.timer);
    this.load = null;
    await this.client.end().catch(() => undefined);
  }

  /** Rolls back an open load (if any) and closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
    if (this.timer) clearTimeout(this.timer);
    const load = this.load;
    this.load = null;
    if (load) {
      try {
        await load.rollback();
      } catch {
        // Closing the connection below rolls the transaction back anyway.
      }
    }
    await this.client.end().catch(() => undefined);
  }
}
