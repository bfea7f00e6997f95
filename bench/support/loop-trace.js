'use strict';
// Where the event loop's longest stalls come from, for the benchmarks (BENCH_LOOP_TRACE=1):
// a 1 ms interval notices each stall (a tick that comes late), and splits it, from the main
// thread's /proc schedstat, into time the thread ran (our code, Node-RED's, or V8's GC on it)
// and time it waited for a CPU (the machine's load, nothing a code change removes), and lists
// the GC pauses (PerformanceObserver 'gc') and the callbacks (async_hooks, top level) that fell
// into it. Linux only for the run/wait split; elsewhere those read as NaN.
const fs = require('node:fs');
const { performance, PerformanceObserver, constants } = require('node:perf_hooks');
const asyncHooks = require('node:async_hooks');

const GC_KIND = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

/** Run and run-queue wait of the main thread so far, in ms (NaN where /proc is unavailable). */
function schedstat(fd) {
  if (fd < 0) return [NaN, NaN];
  const buf = Buffer.alloc(64);
  const n = fs.readSync(fd, buf, 0, 64, 0);
  const [run, wait] = buf.toString('latin1', 0, n).split(' ');
  return [Number(run) / 1e6, Number(wait) / 1e6];
}

class LoopTrace {
  /** `thresholdMs`: a tick later than this is a stall worth recording. */
  /** `tasks`: also time callbacks with async_hooks (which slows promises down a little). */
  constructor(thresholdMs = 8, tasks = false) {
    this.thresholdMs = thresholdMs;
    this.stalls = [];
    /** The main thread's CPU time between every two ticks (ms): the delay a quiet machine would show. */
    this.ranPerTick = [];
    this.gcs = [];
    this.tasks = [];
    try {
      this.fd = fs.openSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'r');
    } catch {
      this.fd = -1;
    }
    this.gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.gcs.push({ start: e.startTime, ms: e.duration, kind: GC_KIND[e.detail?.kind ?? e.kind] ?? String(e.detail?.kind) });
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
    // Top-level callbacks longer than 2 ms, with what they were (a timer's or an immediate's
    // function name, else the resource type).
    const open = new Map();
    let depth = 0;
    this.hook = tasks && asyncHooks.createHook({
      init: (id, type, _trigger, resource) => {
        if (type === 'Timeout' || type === 'Immediate') open.set(id, { type, resource });
        else if (type !== 'PROMISE') open.set(id, { type });
      },
      before: (id) => {
        if (depth++ === 0) this.taskStart = { id, t: performance.now() };
      },
      after: (id) => {
        if (--depth === 0 && this.taskStart && this.taskStart.id === id) {
          const ms = performance.now() - this.taskStart.t;
          if (ms >= 2) {
            const info = open.get(id);
            const fn = info?.resource && (info.resource._onTimeout || info.resource._onImmediate);
            this.tasks.push({ start: this.taskStart.t, ms, what: `${info?.type ?? 'PROMISE'}${fn && fn.name ? ` ${fn.name}` : ''}` });
          }
        }
        if (depth < 0) depth = 0;
      },
      destroy: (id) => open.delete(id),
    });
    if (this.hook) this.hook.enable();
    // performance.now() to the monotonic clock in µs (a --cpu-prof profile's time base).
    this.monoOffsetUs = Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000;
    this.last = performance.now();
    this.lastSched = schedstat(this.fd);
    this.timer = setInterval(() => this.tick(), 1);
  }

  tick() {
    const now = performance.now();
    const sched = schedstat(this.fd);
    const late = now - this.last - 1;
    this.ranPerTick.push(sched[0] - this.lastSched[0]);
    if (late >= this.thresholdMs) {
      this.stalls.push({ start: this.last, ms: late, ran: sched[0] - this.lastSched[0], waited: sched[1] - this.lastSched[1] });
    }
    this.last = now;
    this.lastSched = sched;
  }

  /** Stops tracing; the `top` longest stalls with the GC pauses and long callbacks inside each. */
  stop(top = 5) {
    clearInterval(this.timer);
    if (this.hook) this.hook.disable();
    this.gcObserver.disconnect();
    if (this.fd >= 0) fs.closeSync(this.fd);
    const self = this;
    const inside = (s, e, ms) => e.start < s.start + s.ms + 1 && e.start + ms > s.start;
    const gcTotal = (kind) => this.gcs.filter((g) => g.kind === kind).reduce((a, g) => a + g.ms, 0);
    return {
      stalls: this.stalls.length,
      // What a quiet machine would show at most (the longest stretch the main thread itself ran).
      ranMax: Math.max(0, ...this.stalls.map((s) => s.ran)),
      ranP99: [...this.ranPerTick].sort((a, b) => a - b)[Math.floor(this.ranPerTick.length * 0.99)] ?? NaN,
      raw: { monoOffsetUs: this.monoOffsetUs, stalls: this.stalls, gcs: this.gcs, tasks: this.tasks },
      gc: Object.fromEntries(['scavenge', 'mark-compact', 'incremental marking'].map((k) => [k, { n: this.gcs.filter((g) => g.kind === k).length, ms: Math.round(gcTotal(k)), max: Math.round(Math.max(0, ...this.gcs.filter((g) => g.kind === k).map((g) => g.ms)) * 10) / 10 }])),
      longest: [...this.stalls].sort((a, b) => b.ms - a.ms).slice(0, top).map(describe),
      // The stalls in which the main thread itself ran longest: what a quiet machine would show.
      mostRun: [...this.stalls].sort((a, b) => b.ran - a.ran).slice(0, top).map(describe),
    };
    function describe(s) {
      return {
        ms: +s.ms.toFixed(1),
        ran: +s.ran.toFixed(1),
        waited: +s.waited.toFixed(1),
        gc: self.gcs.filter((g) => inside(s, g, g.ms)).map((g) => `${g.kind} ${g.ms.toFixed(1)}`),
        tasks: self.tasks.filter((t) => inside(s, t, t.ms)).map((t) => `${t.what} ${t.ms.toFixed(1)}`),
      };
    }
  }
}

module.exports = { LoopTrace };
