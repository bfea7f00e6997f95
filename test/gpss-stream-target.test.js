'use strict';
// Unit tests of stream mode's targets and job mode's message writes (src/gpss/stream-target.ts,
// job-messages.ts), with the GPSS service injected (describe and commit as plain functions, the
// way the stream writer's tests inject the commit); gpss-write runs them against gpss-pg in the
// nodes-gpss suites.
const test = require('node:test');
const assert = require('node:assert/strict');
const { StreamTargets, RoomPacer, RateWindow, JobMessages, jobOutcome, describeJobRejections, WriteBufferFullError, SLICED_PAYLOAD_ROWS } = require('../dist/gpss');

const column = (name, databaseType) => ({ name, databaseType, hasLength: false, length: 0, hasPrecisionScale: false, precision: 0, scale: 0, hasNullable: true, nullable: true });
const COLUMNS = [column('id', 'int4'), column('v', 'text')];
const { sleep, until } = require('./support/wait');

const settings = (over = {}) => ({
  writer: { commitRows: 1000, commitIntervalMs: 20, buffer: { maxRows: 10, maxBytes: 1 << 20 }, maxRetries: 2, backoff: { baseMs: 5, maxMs: 10, jitter: 0 }, ...over },
  writeBytes: 1 << 20,
});

/** A service whose describe waits for `release()`; commits are recorded. */
function service({ describeFailures = [] } = {}) {
  const s = { describes: 0, commits: [], gate: null };
  let open;
  s.gate = new Promise((r) => (open = r));
  s.release = () => open();
  s.describeTable = async () => {
    s.describes++;
    const failure = describeFailures.shift();
    if (failure) throw failure;
    await s.gate;
    return COLUMNS;
  };
  s.commitRows = async (options, rows) => {
    s.commits.push(rows.length);
    return { successCount: rows.length, errorCount: 0, errorRows: [] };
  };
  return s;
}

/** A message that records how it was settled. */
function message(payload, log, name) {
  const m = {
    payload,
    rows: [],
    bytes: 0,
    entry(rows, bytes) {
      m.rows = rows;
      m.bytes = bytes;
      return m;
    },
    empty: () => log.push(`${name} empty`),
    failed: (err) => log.push(`${name} failed: ${err.message}`),
    ack: () => log.push(`${name} ack`),
    fail: (err) => log.push(`${name} fail: ${err.message}`),
  };
  return m;
}

const OPTIONS = { schema: 'public', table: 't', mode: 'insert' };

test('before the description: messages wait in order, count against the buffer, then commit and ack in order', async () => {
  const svc = service();
  const handled = [];
  const targets = new StreamTargets(svc, settings(), { handled: (n) => handled.push(n) });
  const target = targets.target(OPTIONS);
  assert.equal(targets.target(OPTIONS), target, 'the same options object finds the same target');
  const log = [];
  target.write(message([{ id: 1, v: 'a' }, { id: 2, v: 'b' }], log, 'm1'));
  target.write(message({ id: 3, v: 'c' }, log, 'm2'));
  target.write(message([], log, 'm3'));
  assert.equal(targets.hasRoom(7), true);
  assert.equal(targets.hasRoom(8), false, '3 rows wait (2 + 1, the empty one counts 0) against a limit of 10');
  assert.throws(() => target.write(message(new Array(8).fill({ id: 9 }), log, 'big')), (e) => e instanceof WriteBufferFullError && /waiting for the description of public\.t/.test(e.message));
  svc.release();
  await until(() => log.length === 3);
  assert.deepEqual(log, ['m3 empty', 'm1 ack', 'm2 ack'], 'the empty one is settled at its turn; the others with their commit');
  assert.deepEqual(svc.commits, [3]);
  assert.deepEqual(handled, [2, 1, 0]);
  assert.equal(svc.describes, 1);
  // Described: the next message is taken at once (the hot path), no promise in between.
  target.write(message({ id: 4, v: 'd' }, log, 'm4'));
  assert.equal(targets.heldRows, 1);
  assert.ok(targets.rate.perSecond() > 0);
  await targets.close(1000);
  assert.ok(log.includes('m4 ack'));
});

test('a description that fails for good fails the waiting messages; the next message describes again', async () => {
  const notFound = Object.assign(new Error('table "public"."t" does not exist'), { code: 5 });
  const svc = service({ describeFailures: [notFound] });
  svc.release();
  const targets = new StreamTargets(svc, settings());
  const log = [];
  targets.target(OPTIONS).write(message({ id: 1 }, log, 'm1'));
  await until(() => log.length === 1);
  assert.match(log[0], /^m1 failed: table "public"\."t" does not exist/);
  assert.equal(svc.describes, 1, 'a missing table is not retried');
  assert.equal(targets.hasRoom(10), true, 'the failed message no longer counts against the buffer');
  targets.target(OPTIONS).write(message({ id: 2, v: 'x' }, log, 'm2'));
  await until(() => log.length === 2);
  assert.equal(svc.describes, 2);
  await targets.close(1000);
  assert.deepEqual(log.slice(1), ['m2 ack']);
});

test('a description that fails while the server starts is retried like a commit', async () => {
  const unavailable = Object.assign(new Error('connect ECONNREFUSED'), { code: 14 });
  const svc = service({ describeFailures: [unavailable, unavailable] });
  svc.release();
  const targets = new StreamTargets(svc, settings());
  const log = [];
  targets.target(OPTIONS).write(message({ id: 1 }, log, 'm1'));
  await until(() => log.length === 1);
  assert.equal(svc.describes, 3);
  assert.deepEqual(log, ['m1 ack']);
  await targets.close(1000);
  // A close ends the retrying: a target described while closing fails at its first failure.
  const again = service({ describeFailures: [unavailable] });
  again.release();
  const closing = new StreamTargets(again, settings());
  const closed = closing.close(1000);
  const late = [];
  closing.target(OPTIONS).write(message({ id: 2 }, late, 'm2'));
  await closed;
  await until(() => late.length === 1);
  assert.equal(again.describes, 1);
  assert.match(late[0], /^m2 failed: connect ECONNREFUSED/);
});

test('waitingMs: rows held with no commit since', async () => {
  const svc = service();
  svc.release();
  const targets = new StreamTargets(svc, settings({ commitIntervalMs: 60000 }));
  const target = targets.target(OPTIONS);
  await target.encoderReady;
  assert.equal(targets.waitingMs(), 0);
  target.write(message({ id: 1 }, [], 'm1'));
  const t0 = Date.now();
  targets.waitingMs(t0);
  assert.ok(targets.waitingMs(t0 + 5000) >= 5000);
  await targets.close(1000);
  assert.equal(targets.waitingMs(), 0);
});

test('RoomPacer: one go per handled message, in order, when there is room; none once stopped', () => {
  let room = 0;
  let gone = 0;
  const p = new RoomPacer((rows) => rows <= room, () => gone++);
  p.handled(3);
  p.handled(1);
  assert.equal(gone, 0);
  room = 2;
  p.flush();
  assert.equal(gone, 0, 'the first waits for room for its 3 rows, the second waits behind it');
  room = 3;
  p.flush();
  assert.equal(gone, 2);
  p.stopped = true;
  p.handled(0);
  assert.equal(gone, 2);
});

test('RateWindow: rows per second over the window', () => {
  const w = new RateWindow(2000);
  w.add(100, 0);
  w.add(300, 1000);
  assert.equal(w.perSecond(1500), 200);
  assert.equal(w.perSecond(2500), 150, 'the first mark left the window');
});

test('job messages: a large payload is encoded in slices and the messages behind it keep their order', async () => {
  const written = [];
  const job = { columns: COLUMNS, write: async (rows) => void written.push(rows.length) };
  const jobs = new JobMessages();
  const settled = [];
  const big = Array.from({ length: SLICED_PAYLOAD_ROWS + 10 }, (_, i) => ({ id: i, v: 'x' }));
  jobs.write(job, big, (err, rows) => settled.push(['big', err, rows]));
  jobs.write(job, { id: 1, v: 'y' }, (err, rows) => settled.push(['small', err, rows]));
  jobs.write(job, 'not rows', (err, rows) => settled.push(['bad', err && err.message, rows]));
  await until(() => settled.length === 3);
  // Rows reach the job in message order. The messages written are settled in that order too; a
  // payload that cannot be encoded is failed in its turn, without waiting for earlier writes
  // (as on the direct path).
  assert.deepEqual(written, [SLICED_PAYLOAD_ROWS + 10, 1]);
  assert.deepEqual(settled.filter((s) => s[0] !== 'bad').map((s) => s[0]), ['big', 'small']);
  const outcome = Object.fromEntries(settled.map((s) => [s[0], s]));
  assert.equal(outcome.big[1], null);
  assert.equal(outcome.small[1], null);
  assert.match(outcome.bad[1], /msg.payload must be/);
});

test('jobOutcome and describeJobRejections', () => {
  const o = jobOutcome({ successCount: 5, errorCount: 3, errorRows: ['row 2: bad date', 'odd entry'] });
  assert.deepEqual(o.errorRows, [{ row: 2, reason: 'bad date' }, { row: null, reason: 'odd entry' }]);
  assert.equal(describeJobRejections(o, 10), 'the server rejected 3 (under the error limit): row 2: bad date; odd entry (1 not named)');
  assert.match(describeJobRejections(jobOutcome({ successCount: 1, errorCount: 2, errorRows: [] }), 0), /2 not named: set "max error rows"/);
});
