// Flow control for a node that sends a stream of messages paced by acknowledgements (oss-import's
// "wait for msg.tick"): at most `limit` messages are out without one; each ack returns a credit.
// Node-RED has no backpressure of its own (a sender never learns when downstream finished),
// so this is how a slow flow (e.g. one writing each batch to a database) paces the import.
export class Credits {
  private available: number;
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  constructor(readonly limit: number) {
    this.available = limit;
  }

  /**
   * Resolves when a credit is available (and takes it). There is no time limit (a slow flow may
   * take long), but `onSlow` is called once the wait passes `slowMs`, so a flow that never
   * acknowledges is not silently stuck.
   */
  acquire(onSlow?: () => void, slowMs = 1000): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return Promise.resolve();
    }
    const slow = onSlow ? setTimeout(onSlow, slowMs) : undefined;
    const waiting = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    return slow ? waiting.finally(() => clearTimeout(slow)) : waiting;
  }

  /** One acknowledgement: wakes a waiter or returns a credit (never above the limit). */
  release(): void {
    const w = this.waiters.shift();
    if (w) w.resolve();
    else if (this.available < this.limit) this.available++;
  }

  /** A new transfer starts with every credit back. */
  reset(): void {
    this.available = this.limit;
  }

  /** Fails every waiter (close or cancellation). */
  abort(err: Error): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(err);
  }

  get outstanding(): number {
    return this.limit - this.available;
  }
}
