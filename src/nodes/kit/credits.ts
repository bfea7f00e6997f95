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

  /** Resolves when a credit is available (and takes it). */
  acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
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
