'use strict';
// Bursts of work cut into slices with turns of the event loop between them (src/shared/slices):
// the queue keeps order, shares one budget per turn between queues, lets I/O and timers run in
// the middle of a burst, and the stream writer settles a commit's messages that way, in order,
// with close() still waiting for every one of them.
const test = require('node:test');
const assert = require('node:assert/strict');
const { SliceQueue, SliceClock, OrderedLane, SLICE_MS, MAX_SLICE_MS } = require('../dist/shared/slices');
const { StreamWriter } = require('../dist/gpss/stream-writer');

/** What gpss-write's encodePayload counts for the buffer limit (bytes plus framing per row). */
const heldBytes = (rows) => rows.reduce((n, r) => n + r.length + 6, 0);

/** Busy work of about `us` microseconds (what a send + done + Complete node costs per message). */
function spin(us) {
  const end = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
  while (process.hrtime.bigint() < end);
}

test('SliceQueue handles items in order over several turns; a timer set at the start runs in between', async () => {
  const seen = [];
  let seenWhenTimerRan = -1;
  const q = new SliceQueue((i) => {
    if (i === 0) setTimeout(() => (seenWhenTimerRan = seen.length), 0);
    spin(20);
    seen.push(i);
  });
  const n = 2000; // ~40 ms of work: ten slices of SLICE_MS
  for (let i = 0; i < n; i++) q.push(i);
  assert.equal(q.size, n);
  assert.deepEqual(seen, [], 'nothing handled synchronously in push()');
  await q.whenDrained();
  assert.equal(q.size, 0);
  assert.deepEqual(seen, Array.from({ length: n }, (_, i) => i));
  assert.ok(seenWhenTimerRan > 0 && seenWhenTimerRan < n, `the timer ran after ${seenWhenTimerRan} of ${n} items: the burst did not yield`);
});

test('SliceQueue: two queues share one budget per turn; no turn runs past MAX_SLICE_MS', async () => {
  const perTurn = [];
  let turn = 0;
  let current = -1;
  const count = () => {
    if (current !== turn) {
      current = turn;
      perTurn.push(0);
    }
    perTurn[perTurn.length - 1]++;
  };
  const a = new SliceQueue(() => (spin(100), count()));
  const b = new SliceQueue(() => (spin(100), count()));
  for (let i = 0; i < 200; i++) a.push(i), b.push(i);
  // A turn counter that advances on every turn of the loop while the queues drain.
  const ticker = setInterval(() => turn++, 0);
  const tick = () => {
    turn++;
    if (a.size + b.size > 0) setImmediate(tick);
  };
  setImmediate(tick);
  await Promise.all([a.whenDrained(), b.whenDrained()]);
  clearInterval(ticker);
  assert.equal(perTurn.reduce((x, y) => x + y, 0), 400);
  // Items of 0.1 ms: a slice of SLICE_MS (more, up to MAX_SLICE_MS, when the rest of the loop was
  // busy, e.g. on a loaded machine) holds at most budget / 0.1 items for both queues together.
  const most = Math.max(...perTurn);
  assert.ok(SLICE_MS <= MAX_SLICE_MS);
  assert.ok(perTurn.length >= 400 / (MAX_SLICE_MS * 10 + 2), `only ${perTurn.length} turns for 40 ms of work`);
  assert.ok(most <= MAX_SLICE_MS * 10 + 2, `one turn handled ${most} items of 0.1 ms (budget at most ${MAX_SLICE_MS} ms for all queues)`);
});

test('SliceQueue: next to a busy loop (5 ms of other work per turn) the slices grow, so the queue is not starved', async () => {
  const perTurn = [];
  let inTurn = 0;
  let busy = true;
  // Another burst of work (a fast source) taking 5 ms every turn.
  const other = () => {
    if (inTurn) perTurn.push(inTurn);
    inTurn = 0;
    spin(5000);
    if (busy) setImmediate(other);
  };
  const q = new SliceQueue(() => (spin(100), inTurn++));
  for (let i = 0; i < 600; i++) q.push(i);
  setImmediate(other);
  await q.whenDrained();
  busy = false;
  perTurn.sort((x, y) => x - y);
  const median = perTurn[Math.floor(perTurn.length / 2)];
  // With a fixed SLICE_MS it would be ~10 items per turn (and 600 items would take 60 turns of
  // 6 ms); the slice grows toward the other work's 5 ms (up to MAX_SLICE_MS).
  assert.ok(median >= 25, `median ${median} items of 0.1 ms per turn next to 5 ms of other work (turns: ${perTurn.join(',')})`);
});

test('SliceQueue: one long gap (a garbage collection, a late timer) does not grow the next slice', async () => {
  const perTurn = [];
  let inTurn = 0;
  let turns = 0;
  let spikeAfterTurn = -1;
  // Light other work every turn, and once, 20 ms of it (what one long scavenge looks like).
  const other = () => {
    perTurn.push(inTurn);
    inTurn = 0;
    if (++turns === 10) {
      spin(20000);
      spikeAfterTurn = perTurn.length;
    }
    if (q.size > 0) setImmediate(other);
  };
  const q = new SliceQueue(() => (spin(100), inTurn++));
  for (let i = 0; i < 1000; i++) q.push(i);
  setImmediate(other);
  await q.whenDrained();
  perTurn.push(inTurn);
  assert.ok(spikeAfterTurn > 0, 'the queue drained before the spike');
  // The old rule (the next slice as long as the last gap, up to MAX_SLICE_MS) handled ~80 items
  // of 0.1 ms right after the spike: with the spike's GC on top, a stall of 15-20 ms.
  const after = perTurn[spikeAfterTurn];
  assert.ok(after <= 40, `${after} items of 0.1 ms in the turn after one 20 ms gap (turns: ${perTurn.join(',')})`);
});

test('SliceQueue: a throwing handler reaches onError and the queue carries on; drainNow finishes at once', async () => {
  const errors = [];
  const seen = [];
  const q = new SliceQueue(
    (i) => {
      if (i === 1) throw new Error('boom');
      seen.push(i);
    },
    (e) => errors.push(e.message),
  );
  q.push(0);
  q.push(1);
  q.push(2);
  q.drainNow();
  assert.deepEqual(seen, [0, 2]);
  assert.deepEqual(errors, ['boom']);
  assert.equal(q.size, 0);
  await q.whenDrained();
  // Still usable after drainNow, through the scheduler.
  q.push(3);
  await q.whenDrained();
  assert.deepEqual(seen, [0, 2, 3]);
});

test('SliceClock.pace yields once the slice is spent and not before', async () => {
  const clock = new SliceClock(2);
  let immediateRan = false;
  setImmediate(() => (immediateRan = true));
  await clock.pace();
  assert.equal(immediateRan, false, 'yielded before the slice was spent');
  spin(2500);
  assert.equal(clock.spent, true);
  await clock.pace();
  assert.equal(immediateRan, true);
  assert.equal(clock.spent, false);
});

function writerOptions(over = {}) {
  return {
    commitRows: 100,
    commitIntervalMs: 50,
    buffer: { maxRows: 1e6, maxBytes: 1e9 },
    maxRetries: 3,
    backoff: { baseMs: 5, maxMs: 20, jitter: 0 },
    ...over,
  };
}

/** A one-row message whose ack costs ~`us` µs, recording its order. */
function entry(i, log, us) {
  const rows = [Buffer.from(String(i))];
  return {
    rows,
    bytes: heldBytes(rows),
    ack: () => {
      spin(us);
      log.push(i);
    },
    fail: (err) => log.push(`fail ${i}: ${err.message}`),
  };
}

test('OrderedLane: synchronous and asynchronous tasks run in arrival order, never inside run(); whenIdle waits for what was queued before it', async () => {
  const lane = new OrderedLane();
  const ran = [];
  assert.equal(lane.idle, true);
  lane.run(() => void ran.push('sync 1'));
  assert.deepEqual(ran, [], 'a task never runs inside run()');
  assert.equal(lane.idle, false);
  lane.run(async () => {
    await new Promise((r) => setTimeout(r, 20));
    ran.push('async 2');
  });
  lane.run(() => {
    ran.push('sync 3 (throws)');
    throw new Error('a task settles its own errors');
  });
  lane.run(() => Promise.reject(new Error('nor does a rejection stop the lane')));
  const first = lane.whenIdle();
  let firstDone = false;
  void first.then(() => (firstDone = true));
  lane.run(() => void ran.push('sync 5'));
  await first;
  assert.deepEqual(ran, ['sync 1', 'async 2', 'sync 3 (throws)', 'sync 5'].slice(0, ran.length));
  assert.ok(ran.includes('sync 3 (throws)'), 'whenIdle resolved after the tasks queued before it');
  await lane.whenIdle();
  assert.equal(firstDone, true);
  assert.deepEqual(ran, ['sync 1', 'async 2', 'sync 3 (throws)', 'sync 5']);
  assert.equal(lane.idle, true);
  assert.equal(await Promise.race([lane.whenIdle().then(() => 'resolved'), new Promise((r) => setImmediate(() => r('pending')))]), 'resolved');
});

test('OrderedLane: 20,000 queued synchronous tasks drain in slices (a timer runs in between) and the lane goes idle', async () => {
  const lane = new OrderedLane();
  const n = 20000;
  let done = 0;
  let doneWhenTimerRan = -1;
  setTimeout(() => (doneWhenTimerRan = done), 0);
  for (let i = 0; i < n; i++) {
    lane.run(() => {
      spin(2);
      if (i !== done) throw new Error(`task ${i} ran as number ${done}`);
      done++;
    });
  }
  await lane.whenIdle();
  assert.equal(done, n);
  assert.equal(lane.idle, true);
  assert.ok(doneWhenTimerRan > 0 && doneWhenTimerRan < n, `the timer ran in the middle of the burst (after ${doneWhenTimerRan} of ${n})`);
});

test('stream writer settles a commit of 10,000 messages in slices, in order: a timer runs in the middle', async () => {
  const log = [];
  const n = 10000;
  let ackedWhenTimerRan = -1;
  const w = new StreamWriter(writerOptions({ commitRows: n, commitIntervalMs: 60000 }), async (rows) => {
    // The commit returned: a timer armed now must not wait for all 10,000 acks.
    setTimeout(() => (ackedWhenTimerRan = log.length), 0);
    return { successCount: rows.length, errorCount: 0, errorRows: [] };
  });
  for (let i = 0; i < n; i++) w.accept(entry(i, log, 5));
  await w.close(30000);
  assert.equal(log.length, n, 'close() resolved before every message was settled');
  assert.deepEqual(log.slice(0, 5), [0, 1, 2, 3, 4]);
  assert.ok(log.every((v, i) => v === i), 'acks out of order');
  assert.ok(ackedWhenTimerRan >= 0 && ackedWhenTimerRan < n, `the timer ran after ${ackedWhenTimerRan} of ${n} acks: settling did not yield`);
  assert.equal(w.heldRows, 0);
  assert.equal(w.heldMessages, 0);
});

test('stream writer: acks of consecutive commits stay in order; rows stay counted until settled', async () => {
  const log = [];
  const w = new StreamWriter(writerOptions({ commitRows: 1000, commitIntervalMs: 60000 }), async (rows) => ({
    successCount: rows.length,
    errorCount: 0,
    errorRows: [],
  }));
  for (let i = 0; i < 5000; i++) w.accept(entry(i, log, 2));
  assert.equal(w.heldRows, 5000);
  await w.close(30000);
  assert.equal(log.length, 5000);
  assert.ok(log.every((v, i) => v === i), 'acks out of order across commits');
  assert.equal(w.heldRows, 0);
});

test('stream writer close timeout: committed messages are still acked, the rest failed, before close resolves', async () => {
  const log = [];
  let calls = 0;
  const w = new StreamWriter(writerOptions({ commitRows: 500, commitIntervalMs: 60000 }), async (rows) => {
    calls++;
    if (calls === 1) return { successCount: rows.length, errorCount: 0, errorRows: [] };
    return new Promise(() => {}); // the second commit never returns
  });
  // Acks of 0.5 ms each: 500 of them take ~250 ms, longer than the close timeout below.
  for (let i = 0; i < 1000; i++) w.accept(entry(i, log, 500));
  await w.close(100);
  assert.equal(log.length, 1000, 'close() resolved before every message was settled');
  assert.ok(log.slice(0, 500).every((v, i) => v === i), 'the committed half was not acked in order');
  assert.ok(log.slice(500).every((v) => typeof v === 'string' && v.startsWith('fail')), 'the uncommitted half was not failed');
});

test('stream writer: a close timeout in the middle of a bisected batch settles every message exactly once, in order', async () => {
  const log = [];
  let release;
  const w = new StreamWriter(writerOptions({ commitRows: 8, commitIntervalMs: 60000 }), async (rows) => {
    const ids = rows.map((r) => Number(r.toString()));
    if (ids.includes(5)) {
      if (ids.length > 1) throw Object.assign(new Error('value too long for column "c"'), { code: 3 });
      // The bad message's own commit hangs until after the close timeout, then succeeds.
      return new Promise((r) => (release = () => r({ successCount: 1, errorCount: 0, errorRows: [] })));
    }
    return { successCount: rows.length, errorCount: 0, errorRows: [] };
  });
  for (let i = 0; i < 8; i++) w.accept(entry(i, log, 0));
  assert.equal(w.heldMessages, 8);
  await w.close(300);
  release(); // the hung commit returns after all: nothing may be settled twice
  await new Promise((r) => setTimeout(r, 50));
  const settled = log.map((v) => (typeof v === 'number' ? v : Number(/^fail (\d+)/.exec(v)[1])));
  assert.deepEqual(settled, [0, 1, 2, 3, 4, 5, 6, 7], `each message once, in order: ${JSON.stringify(log)}`);
  // [0..3] committed (the first half of the bisection), 4 committed alone, 5 hung, 6 and 7 never tried.
  assert.deepEqual(log.slice(0, 5), [0, 1, 2, 3, 4]);
  assert.ok(log.slice(5).every((v) => typeof v === 'string' && /closed before/.test(v)), JSON.stringify(log.slice(5)));
  assert.equal(w.heldMessages, 0);
  assert.equal(w.heldRows, 0);
});

const { encodePayload, encodePayloadInSlices, SLICED_PAYLOAD_ROWS } = require('../dist/gpss');
const { createRowEncoder } = require('../dist/gpss/value-mapping');

const column = (name, databaseType) => ({ name, databaseType, hasLength: false, length: 0, hasPrecisionScale: false, precision: 0, scale: 0, hasNullable: true, nullable: true });
const COLUMNS = [column('id', 'int4'), column('name', 'text')];

test('encodePayloadInSlices: same rows and bytes as encodePayload; a timer runs while 60,000 rows encode', async () => {
  const enc = createRowEncoder(COLUMNS);
  const payload = Array.from({ length: 60000 }, (_, i) => (i % 2 ? { id: i, name: `n${i}` } : [i, `n${i}`]));
  let timerRan = false;
  setTimeout(() => (timerRan = true), 0);
  const sliced = encodePayloadInSlices(payload, enc);
  const whole = encodePayload(payload, enc);
  const got = await sliced;
  assert.equal(got.bytes, whole.bytes);
  assert.equal(got.rows.length, 60000);
  assert.ok(got.rows.every((r, i) => r.equals(whole.rows[i])), 'rows differ');
  // encodePayload above ran synchronously for the same work: the timer could only have run
  // while the sliced encoding yielded.
  assert.equal(timerRan, true, 'the sliced encoding never yielded');
});

test('encodePayloadInSlices: a bad row fails with the error encodePayload gives, naming the row', async () => {
  const enc = createRowEncoder(COLUMNS);
  const payload = Array.from({ length: SLICED_PAYLOAD_ROWS * 3 }, (_, i) => ({ id: i, name: 'x' }));
  payload[5000] = { id: 'not a number', name: 'x' };
  let expected;
  assert.throws(() => encodePayload(payload, enc), (e) => ((expected = e), true));
  assert.match(expected.message, /row 5000/);
  await assert.rejects(encodePayloadInSlices(payload, enc), (e) => e.message === expected.message && e.code === 'BAD_PAYLOAD');
  // Small payloads and single objects take encodePayload's own path.
  assert.equal((await encodePayloadInSlices({ id: 1, name: 'a' }, enc)).rows.length, 1);
  await assert.rejects(encodePayloadInSlices('text', enc), /msg.payload must be/);
});

const { MessageObjectWriter, payloadToRows, payloadToRowsInSlices, encodeRowsInSlices } = require('../dist/oss');

test('oss-export messages writer (MessageObjectWriter): an object of 10,000 messages is acknowledged in slices, in order; flush resolves after the last', async () => {
  let finish;
  const sink = {
    key: 'obj-0',
    write() {},
    buffered: () => 0,
    end: () => new Promise((r) => (finish = r)),
    abort: async () => {},
  };
  const r = new MessageObjectWriter({ rollBytes: 1e12, rollMs: 0, maxBufferBytes: 1e12, header: '', open: () => sink });
  const acked = [];
  const n = 10000;
  for (let i = 0; i < n; i++) r.add(Buffer.from('x\n'), 1, () => (spin(5), acked.push(i)));
  const flushing = r.flush();
  let ackedWhenTimerRan = -1;
  finish({ bytes: 2 * n });
  setTimeout(() => (ackedWhenTimerRan = acked.length), 0);
  await flushing;
  assert.equal(acked.length, n, 'flush resolved before every message was acknowledged');
  assert.ok(acked.every((v, i) => v === i), 'acknowledged out of order');
  assert.ok(ackedWhenTimerRan >= 0 && ackedWhenTimerRan < n, `the timer ran after ${ackedWhenTimerRan} of ${n} acks: acknowledging did not yield`);
});

test('oss-export rows: a large payload converted and encoded in slices gives what the one-go path gives', async () => {
  const payload = Array.from({ length: 10000 }, (_, i) => (i % 3 ? { a: i, b: `s${i}` } : [i, `s${i}`]));
  const whole = payloadToRows(payload, ['a', 'b']);
  const sliced = await payloadToRowsInSlices(payload, ['a', 'b']);
  assert.deepEqual(sliced, whole);
  const objects = Array.from({ length: 5000 }, (_, i) => ({ b: `s${i}`, a: i }));
  assert.deepEqual(await payloadToRowsInSlices(objects, null), payloadToRows(objects, null), 'layout from the first object');
  const bad = Array.from({ length: 5000 }, (_, i) => ({ a: i, b: 'x' }));
  bad[4321] = { a: 1, zz: 2 };
  let expected;
  assert.throws(() => payloadToRows(bad, ['a', 'b']), (e) => ((expected = e), true));
  assert.match(expected.message, /row 4322 has "zz"/);
  await assert.rejects(payloadToRowsInSlices(bad, ['a', 'b']), (e) => e.message === expected.message && e.column === 'zz');
  const encode = (r) => r.join(',') + '\n';
  assert.equal(await encodeRowsInSlices(whole.rows, encode), whole.rows.map(encode).join(''));
});

test('OrderedLane: synchronous tasks queued behind a slow one run back to back in slices, and the lane goes idle while a source keeps feeding it', async () => {
  const lane = new OrderedLane();
  let done = 0;
  let turns = 0;
  lane.run(() => new Promise((r) => setTimeout(r, 20))); // e.g. a table being described
  // A fast source: 1,000 small tasks per turn of the event loop for as long as the lane is busy
  // (the way a flow's messages queue behind the first one). The old promise chain ran one task
  // per few microtasks and a slice per turn, so it never caught up with such a source.
  await new Promise((resolve) => {
    const feed = () => {
      // Idle when the source's next message comes: that one takes the direct path.
      if (lane.idle || turns > 500) return resolve();
      turns++;
      for (let i = 0; i < 1000; i++) lane.run(() => void done++);
      setImmediate(feed);
    };
    feed();
  });
  await lane.whenIdle();
  assert.ok(turns <= 500, `the lane went idle after ${turns} turns of feeding`);
  assert.equal(done, turns * 1000);
});
