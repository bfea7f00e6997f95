// Transfers of a node, one at a time in arrival order (one transfer per node keeps memory and
// database connections bounded), with a cap on waiting ones so a burst fails fast instead of
// queueing without limit; close cancels the running ones and waits for all to settle.

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

/**
 * A SerialQueue of cancellable transfers: each task gets an AbortSignal that cancel()/close()
 * fires. A task still waiting then fails with "cancelled: the node was closed before this <what>
 * started"; a running one reports its cancellation through failure().
 */
export class TransferQueue {
  private readonly queue: SerialQueue;
  private readonly active = new Set<AbortController>();
  private closing = false;

  constructor(
    /** What a task is, in errors ("export", "import"). */
    private readonly what: string,
    maxWaiting = 100,
  ) {
    this.queue = new SerialQueue(maxWaiting);
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.closing;
  }

  run<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      // Queued behind a transfer that close cancelled: do not start a new one.
      if (this.closing) throw new Error(`cancelled: the node was closed before this ${this.what} started`);
      const ac = new AbortController();
      this.active.add(ac);
      try {
        return await task(ac.signal);
      } finally {
        this.active.delete(ac);
      }
    });
  }

  /** What a transfer failed with: its cancellation by close, said so, or `err` itself. */
  failure(signal: AbortSignal, err: unknown): unknown {
    return signal.aborted && this.closing ? new Error('cancelled: the node was closed during the transfer') : err;
  }

  /** Cancels the running transfers (their libraries abort uploads and statements). */
  cancel(): void {
    this.closing = true;
    for (const ac of this.active) ac.abort();
  }

  /** cancel(), then waits for every transfer, running or queued, to settle. */
  async close(): Promise<void> {
    this.cancel();
    await this.queue.idle();
  }
}
