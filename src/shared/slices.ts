// Bursts of synchronous work cut into short slices, with a turn of the event loop between
// slices, so that Node-RED keeps reading its sockets while we work.
//
// Why: settling a commit of 10,000 messages (send, done, and whatever a Complete node does with
// them) in one go held the loop for a quarter of a second; a broker (mosquitto) queues a
// subscriber's messages while it does not read, and drops them once its per-client queue is full
// ("Outgoing messages are being dropped for client"). Node-RED has no flow control, so not
// holding the loop is the only way not to make a user lose messages upstream of our node.
//
// All queues share one scheduler: the slice budget holds for the sum of their work per turn,
// however many nodes (and targets) settle at the same time.
//
// A slice is SLICE_MS when the rest of the loop is light, and grows with the work the rest of the
// loop did between our slices (up to MAX_SLICE_MS): a busy flow then still gives our bursts
// about half of the loop, so that a fast source cannot starve the acknowledgements (which would
// cut throughput), while a light one (an MQTT subscription) gets a turn every millisecond or so.
// "Busy" must be sustained (the least of the last few gaps), not one long gap: a garbage
// collection, one late timer, or the deliveries our own previous slice caused would otherwise
// grow the next slice to MAX_SLICE_MS, and that slice plus the next collection is a stall of
// 15-20 ms at 10,000 msgs/s (measured with bench/gpss-nodes, BENCH_LOOP_TRACE=1).
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/**
 * Work done per turn of the event loop before yielding (ms). Small, because what matters is how
 * often Node-RED reads its sockets, not only the longest stall: a broker hands a QoS 1
 * subscriber at most `max_inflight_messages` (mosquitto: 20) unacknowledged messages, and
 * Node-RED acknowledges them once per turn, so 10,000 msgs/s need a turn every 2 ms or less on
 * average (the broker queues 1,000 more by default, ~100 ms of slack). A turn costs a few µs.
 */
export const SLICE_MS = 1;
/** The longest slice, however busy the rest of the loop is (ms). */
export const MAX_SLICE_MS = 8;

/** How many of the last gaps between slices must all have been busy for a slice to grow. */
const SUSTAINED_GAPS = 3;
/** The rest of the loop's active time in the last SUSTAINED_GAPS gaps between slices (ms), a ring. */
const recentGaps: number[] = [];
let nextGap = 0;

/**
 * The budget of the next slice: SLICE_MS, or as long as the rest of the loop was busy in each
 * of the last SUSTAINED_GAPS gaps between slices, the gap since `since` included (event-loop
 * utilization: time spent waiting for I/O does not count), up to MAX_SLICE_MS.
 */
function budgetSince(since: EventLoopUtilization | null): number {
  if (!since) return SLICE_MS;
  recentGaps[nextGap] = performance.eventLoopUtilization(since).active;
  nextGap = (nextGap + 1) % SUSTAINED_GAPS;
  if (recentGaps.length < SUSTAINED_GAPS) return SLICE_MS;
  return Math.min(MAX_SLICE_MS, Math.max(SLICE_MS, Math.min(...recentGaps)));
}

/** Resolves on the next turn of the event loop (after pending I/O callbacks had their turn). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Time spent since the start of the current slice, for loops that yield between steps. */
export class SliceClock {
  private start = performance.now();
  private budget: number;
  /** `sliceMs`: a fixed budget per slice; by default SLICE_MS, growing when the loop is busy. */
  constructor(private readonly sliceMs?: number) {
    this.budget = sliceMs ?? SLICE_MS;
  }

  /** True when this slice is used up. */
  get spent(): boolean {
    return performance.now() - this.start >= this.budget;
  }

  /** Yields to the event loop when the slice is used up (then starts a new slice). */
  async pace(): Promise<void> {
    if (!this.spent) return;
    const yielded = this.sliceMs === undefined ? performance.eventLoopUtilization() : null;
    await yieldToEventLoop();
    this.start = performance.now();
    if (yielded) this.budget = budgetSince(yielded);
  }
}

/** Something the scheduler can run for a while. */
interface Runnable {
  /** Runs until done or `deadline` (performance.now() ms); true when nothing is left. */
  runUntil(deadline: number): boolean;
}

const ready: Runnable[] = [];
let turnScheduled = false;
/** The loop's utilization at the end of the last turn that left work (null: no burst going on). */
let lastTurnEnd: EventLoopUtilization | null = null;

function scheduleTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(runTurn);
}

function runTurn(): void {
  turnScheduled = false;
  const deadline = performance.now() + budgetSince(lastTurnEnd);
  // In arrival order: a queue that runs out of time stays first and goes on next turn.
  while (ready.length > 0) {
    if (!ready[0].runUntil(deadline)) break;
    ready.shift();
    if (performance.now() >= deadline) break;
  }
  if (ready.length > 0) {
    lastTurnEnd = performance.eventLoopUtilization();
    scheduleTurn();
  } else {
    // The burst is over: the next one starts small, whatever this one's neighbours did.
    lastTurnEnd = null;
    recentGaps.length = 0;
    nextGap = 0;
  }
}

/**
 * A FIFO of items handled one by one, one slice of them per turn of the event loop (the slice is
 * shared by every SliceQueue). Order is kept. `handle` must not throw; if it does, `onError`
 * gets the error and the queue carries on.
 */
export class SliceQueue<T> implements Runnable {
  private items: (T | undefined)[] = [];
  private head = 0;
  private queued = false;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly handle: (item: T) => void,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Items not handled yet. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Queues an item; it is handled on a later turn of the event loop, after earlier items. */
  push(item: T): void {
    this.items.push(item);
    if (!this.queued) {
      this.queued = true;
      ready.push(this);
      scheduleTurn();
    }
  }

  /** Resolves once every item queued so far (and any queued meanwhile) was handled. */
  whenDrained(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Handles everything left now, in one go: for a close that has run out of time (Node-RED
   * abandons a node's close after its own timeout), where finishing beats yielding.
   */
  drainNow(): void {
    if (!this.runUntil(Infinity)) return;
    const i = ready.indexOf(this);
    if (i >= 0) ready.splice(i, 1);
  }

  runUntil(deadline: number): boolean {
    const items = this.items;
    while (this.head < items.length) {
      const item = items[this.head] as T;
      items[this.head++] = undefined; // handled items are garbage at once, not at the end
      try {
        this.handle(item);
      } catch (err) {
        try {
          this.onError(err);
        } catch {
          /* nothing more to do */
        }
      }
      if (performance.now() >= deadline) break;
    }
    if (this.head < items.length) {
      if (this.head > 4096 && this.head * 2 > items.length) {
        this.items = items.slice(this.head);
        this.head = 0;
      }
      return false;
    }
    this.items = [];
    this.head = 0;
    this.queued = false; // the caller takes it off the ready list
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
    return true;
  }
}

/**
 * Runs tasks one after the other in arrival order. Lets a node keep its messages in order when
 * one of them needs turns of the event loop (e.g. a large payload encoded in slices): while
 * anything is queued (`idle` false) later messages queue behind it instead of overtaking it.
 *
 * A task may finish synchronously (returns nothing) or return a promise the lane waits for. The
 * queue is an array, not a promise chain: a chain cost four promises, their reactions and
 * closures per task (~500 bytes of heap and several microtasks), and a lane entered once (a
 * message before the table was described) stayed busy for as long as a fast source kept it fed,
 * so every later message paid that (measured: 50-75 % of the per-message benchmark's 200,000
 * messages went through the lane, 33,000 queued at once). Tasks that finish synchronously now
 * run back to back within a slice, so the lane drains and later messages take the direct path.
 */
export class OrderedLane {
  private tasks: ((() => Promise<void> | void) | undefined)[] = [];
  private head = 0;
  private running = false;
  private idleWaiters: (() => void)[] = [];
  // Thousands of messages can queue here (e.g. while a table is being described): running them
  // back to back would be one long burst, so the lane yields between tasks once a slice is spent.
  private readonly clock = new SliceClock();

  /** Nothing queued or running: a message may take the synchronous path. */
  get idle(): boolean {
    return !this.running;
  }

  /**
   * Queues a task; it starts on a later microtask at the earliest, never inside run(). It must
   * settle its own errors (a throw or rejection is dropped, the lane goes on).
   */
  run(task: () => Promise<void> | void): void {
    this.tasks.push(task);
    if (this.running) return;
    this.running = true;
    queueMicrotask(() => void this.drain());
  }

  /** Resolves when every task queued so far has finished (and any queued meanwhile). */
  whenIdle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async drain(): Promise<void> {
    while (this.head < this.tasks.length) {
      if (this.clock.spent) await this.clock.pace();
      const task = this.tasks[this.head] as () => Promise<void> | void;
      this.tasks[this.head++] = undefined; // done tasks are garbage at once, not at the end
      try {
        const pending = task();
        if (pending) await pending;
      } catch {
        /* the task's own business: the lane goes on */
      }
      if (this.head > 4096 && this.head * 2 > this.tasks.length) {
        this.tasks = this.tasks.slice(this.head);
        this.head = 0;
      }
    }
    this.tasks = [];
    this.head = 0;
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
