// Runs tasks one at a time in arrival order (one export per node at a time keeps memory and
// database connections bounded), with a cap on waiting tasks so a burst fails fast instead
// of queueing without limit.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  readonly running = new Set<Promise<unknown>>();
  constructor(private readonly maxWaiting: number) {}

  get size(): number {
    return this.waiting;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.waiting >= this.maxWaiting) {
      return Promise.reject(new Error(`too many requests queued (${this.maxWaiting}); wait for the running ones to finish`));
    }
    this.waiting++;
    const p = this.tail.then(
      () => task(),
      () => task(),
    );
    const settled = p.finally(() => {
      this.waiting--;
      this.running.delete(settled);
    });
    this.running.add(settled);
    this.tail = settled.catch(() => undefined);
    return p;
  }

  /** Resolves when every queued task has settled. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }
}
