'use strict';
// Unit tests of the pure parts behind the gpss nodes: batching, retry policy, the stream
// writer's delivery logic (commit then ack, retries, bisecting, buffer limit, close), the
// dialog → OpenOptions mapping, payload shapes. (The node kit's own parts: nodes-kit-units.)
const test = require('node:test');
const assert = require('node:assert/strict');
const { BufferAccount, WriteBufferFullError } = require('../dist/gpss/buffer-account');
const { classifyFailure } = require('../dist/gpss/failure-class');
const { backoffDelay } = require('../dist/gpss/backoff');
const { StreamWriter } = require('../dist/gpss/stream-writer');
const { buildOpenOptions, parseColumnList, SettingError } = require('../dist/nodes/kit');
const { encodePayload } = require('../dist/gpss');

const row = (n) => Buffer.alloc(n, 1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Waits for a condition (the machine may be busy: never a fixed sleep before a positive assertion). */
async function until(fn, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** What gpss-write's encodePayload counts for the buffer limit (bytes plus framing per row). */
const heldBytes = (rows) => rows.reduce((n, r) => n + r.length + 6, 0);

test('BufferAccount refuses beyond rows or bytes with a BUFFER_FULL error, and frees on release', () => {
  const a = new BufferAccount({ maxRows: 10, maxBytes: 1000 });
  a.reserve(6, 100);
  assert.throws(() => a.reserve(5, 10), (e) => e instanceof WriteBufferFullError && e.code === 'BUFFER_FULL' && e.name === 'BufferFullError' && /buffer full/.test(e.message));
  assert.throws(() => a.reserve(1, 950), WriteBufferFullError);
  a.release(6, 100);
  a.reserve(10, 1000);
  assert.equal(a.rows, 10);
});

test('classifyFailure: unavailable is transient, bad data is data, auth is fatal', () => {
  assert.equal(classifyFailure({ code: 14 }), 'transient');
  assert.equal(classifyFailure({ code: 4 }), 'transient');
  assert.equal(classifyFailure(new Error('socket hang up')), 'transient');
  assert.equal(classifyFailure({ code: 3 }), 'data');
  assert.equal(classifyFailure({ code: 10 }), 'data');
  assert.equal(classifyFailure({ code: 16 }), 'fatal');
  assert.equal(classifyFailure({ code: 7 }), 'fatal');
});

test('backoffDelay grows exponentially, is capped and jittered within bounds', () => {
  const o = { baseMs: 100, maxMs: 1000, jitter: 0.5 };
  assert.equal(backoffDelay(0, o, () => 0), 50);
  assert.equal(backoffDelay(0, o, () => 1), 100);
  assert.equal(backoffDelay(3, o, () => 1), 800);
  assert.equal(backoffDelay(10, o, () => 1), 1000);
  assert.equal(backoffDelay(10, o, () => 0), 500);
});

function writerOptions(over = {}) {
  return {
    commitRows: 100,
    commitIntervalMs: 50,
    buffer: { maxRows: 1000, maxBytes: 1e9 },
    maxRetries: 3,
    backoff: { baseMs: 5, maxMs: 20, jitter: 0 },
    ...over,
  };
}

function entry(n, log, tag) {
  const rows = Array.from({ length: n }, () => Buffer.from(tag));
  return {
    rows,
    bytes: heldBytes(rows),
    ack: (stats) => log.push(['ack', tag, stats.successCount]),
    fail: (err) => log.push(['fail', tag, err.message]),
  };
}

test('stream writer commits at the row threshold and acks only after the commit returned', async () => {
  const committed = [];
  const log = [];
  let release;
  const gate = new Promise((r) => (release = r));
  const w = new StreamWriter(writerOptions({ commitRows: 10, commitIntervalMs: 60000 }), async (batch) => {
    await gate;
    // One list of the batch's rows in message order: cutting it into Writes is the client's job.
    assert.ok(batch.every((r) => Buffer.isBuffer(r)), 'rows, not pre-cut Writes');
    const rows = batch;
    committed.push(rows.map((r) => r.toString()).join(''));
    return { successCount: rows.length, errorCount: 0, errorRows: [] };
  });
  w.accept(entry(4, log, 'a'));
  w.accept(entry(6, log, 'b'));
  await sleep(10);
  assert.deepEqual(log, [], 'nothing acked before the commit returned');
  release();
  await until(() => log.length === 2);
  assert.deepEqual(committed, ['aaaabbbbbb']);
  assert.deepEqual(log.map((l) => l[0] + l[1]), ['acka', 'ackb']);
  assert.equal(w.heldRows, 0);
});

test('stream writer commits by interval when the row threshold is not reached', async () => {
  const log = [];
  const times = [];
  const t0 = Date.now();
  const w = new StreamWriter(writerOptions({ commitRows: 1000, commitIntervalMs: 300 }), async (batch) => {
    times.push(Date.now() - t0);
    return { successCount: batch.length, errorCount: 0, errorRows: [] };
  });
  w.accept(entry(1, log, 'x'));
  await sleep(30);
  assert.equal(log.length, 0);
  await until(() => log.length === 1);
  assert.deepEqual(log.map((l) => l[0]), ['ack']);
  assert.ok(times[0] >= 290, `committed after ${times[0]} ms, before the interval`);
});

test('stream writer: one commit in flight; later messages form the next batch in order', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const batches = [];
  const w = new StreamWriter(writerOptions({ commitRows: 2, commitIntervalMs: 1 }), async (batch) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await sleep(15);
    batches.push(batch.map((b) => b.toString()).join(''));
    inFlight--;
    return { successCount: 1, errorCount: 0, errorRows: [] };
  });
  const log = [];
  for (const t of ['a', 'b', 'c', 'd', 'e']) w.accept(entry(1, log, t));
  await w.close(2000);
  assert.equal(maxInFlight, 1);
  assert.equal(batches.join(''), 'abcde');
  assert.equal(log.filter((l) => l[0] === 'ack').length, 5);
});

test('stream writer retries transient failures with backoff, then fails each message with its error', async () => {
  let calls = 0;
  const log = [];
  const w = new StreamWriter(writerOptions({ commitRows: 1, maxRetries: 2 }), async () => {
    calls++;
    throw Object.assign(new Error('GPSS server unavailable'), { code: 14 });
  });
  w.accept(entry(3, log, 'p'));
  await until(() => log.length === 1);
  assert.equal(calls, 3, 'first attempt + 2 retries');
  assert.equal(log.length, 1);
  assert.equal(log[0][0], 'fail');
  assert.match(log[0][2], /unavailable/);
  assert.equal(w.heldRows, 0);
});

test('stream writer succeeds on a later attempt: acked once, not failed', async () => {
  let calls = 0;
  const log = [];
  const w = new StreamWriter(writerOptions({ commitRows: 1 }), async () => {
    if (++calls < 3) throw Object.assign(new Error('down'), { code: 14 });
    return { successCount: 1, errorCount: 0, errorRows: [] };
  });
  w.accept(entry(1, log, 'r'));
  await until(() => log.length === 1);
  assert.deepEqual(log.map((l) => l[0]), ['ack']);
});

test('stream writer bisects a batch on a data error: good messages commit, the bad one fails alone', async () => {
  const log = [];
  const committed = [];
  const w = new StreamWriter(writerOptions({ commitRows: 100, commitIntervalMs: 5 }), async (batch) => {
    const tags = batch.map((b) => b.toString());
    if (tags.includes('X')) throw Object.assign(new Error('value too long for column "c"'), { code: 3 });
    committed.push(...tags);
    return { successCount: tags.length, errorCount: 0, errorRows: [] };
  });
  for (const t of ['a', 'b', 'X', 'c', 'd']) w.accept(entry(1, log, t));
  await w.close(2000);
  assert.deepEqual(committed.sort(), ['a', 'b', 'c', 'd']);
  const failed = log.filter((l) => l[0] === 'fail');
  assert.equal(failed.length, 1);
  assert.equal(failed[0][1], 'X');
  assert.match(failed[0][2], /column "c"/);
});

/** A packed message (what gpss-write holds): rows `tags` as one run of bytes. */
function packedEntry(tags, log, name) {
  const { PackedRows } = require('../dist/gpss/packed-rows');
  const buf = Buffer.from(tags.join(''));
  const ends = new Uint32Array(tags.length);
  let pos = 0;
  tags.forEach((t, i) => (ends[i] = pos += t.length));
  const rows = new PackedRows(buf, 0, buf.length, tags.length === 1 ? null : ends);
  return { rows, bytes: buf.length, ack: () => log.push(['ack', name]), fail: (err) => log.push(['fail', name, err.message]) };
}

test('stream writer with packed messages: the commit gets their runs, in order, through retries and bisection', async () => {
  const { RowRuns } = require('../dist/gpss/packed-rows');
  const log = [];
  const attempts = [];
  let transientLeft = 1;
  const w = new StreamWriter(writerOptions({ commitRows: 100, commitIntervalMs: 5 }), async (batch) => {
    assert.ok(batch instanceof RowRuns, 'packed messages are handed over as runs, not a list of views');
    const rows = batch.toArray().map((b) => b.toString());
    attempts.push(rows.join(','));
    if (transientLeft-- > 0) throw Object.assign(new Error('down'), { code: 14 });
    if (rows.includes('XX')) throw Object.assign(new Error('invalid input syntax for type integer: "XX"'), { code: 3 });
    return { successCount: rows.length, errorCount: 0, errorRows: [] };
  });
  w.accept(packedEntry(['a1', 'a2', 'a3'], log, 'A'));
  w.accept(packedEntry(['b1'], log, 'B'));
  w.accept(packedEntry(['c1', 'XX'], log, 'C'));
  w.accept(packedEntry(['d1', 'd2'], log, 'D'));
  await w.close(2000);
  // Retried whole after the transient failure, then bisected around the bad message.
  assert.equal(attempts[0], 'a1,a2,a3,b1,c1,XX,d1,d2');
  assert.equal(attempts[1], attempts[0]);
  assert.deepEqual(attempts.slice(2), ['a1,a2,a3,b1', 'c1,XX,d1,d2', 'c1,XX', 'd1,d2']);
  assert.deepEqual(log.map((l) => l.slice(0, 2).join(' ')), ['ack A', 'ack B', 'fail C', 'ack D']);
  assert.equal(w.heldRows, 0);
});

test('stream writer buffer limit: excess messages are refused synchronously, memory bounded', async () => {
  const log = [];
  const w = new StreamWriter(writerOptions({ commitRows: 1, buffer: { maxRows: 5, maxBytes: 1e9 } }), () => new Promise(() => {}));
  for (let i = 0; i < 5; i++) w.accept(entry(1, log, 's'));
  assert.throws(() => w.accept(entry(1, log, 't')), WriteBufferFullError);
  assert.equal(w.heldRows, 5);
  await w.close(50); // stalled: fails what it holds
  assert.equal(log.filter((l) => l[0] === 'fail').length, 5);
  assert.match(log[0][2], /close timeout/);
});

test('stream writer close commits what it holds immediately and refuses new messages', async () => {
  const log = [];
  const w = new StreamWriter(writerOptions({ commitRows: 1000, commitIntervalMs: 60000 }), async (batch) => ({
    successCount: batch.length, errorCount: 0, errorRows: [],
  }));
  w.accept(entry(2, log, 'k'));
  await w.close(1000);
  assert.deepEqual(log.map((l) => l[0]), ['ack']);
  assert.throws(() => w.accept(entry(1, log, 'z')), /closing/);
});

test('buildOpenOptions maps the dialog and validates modes and limits', () => {
  assert.deepEqual(buildOpenOptions({ table: ' t ', mode: 'insert' }), {
    schema: 'public', table: 't', mode: 'insert', truncate: false, errorLimitCount: 0, errorLimitPercentage: 0,
  });
  const m = buildOpenOptions({ schema: 's', table: 't', mode: 'merge', matchColumns: 'id', updateColumns: 'v, w', condition: 'x > 1', errorLimitCount: '5', truncate: 'true' });
  assert.deepEqual(m.matchColumns, ['id']);
  assert.deepEqual(m.updateColumns, ['v', 'w']);
  assert.equal(m.condition, 'x > 1');
  assert.equal(m.errorLimitCount, 5);
  assert.equal(m.truncate, true);
  assert.throws(() => buildOpenOptions({ table: '' }), (e) => e instanceof SettingError && e.option === 'table');
  assert.throws(() => buildOpenOptions({ table: 't', mode: 'update', updateColumns: 'v' }), /match columns/);
  assert.throws(() => buildOpenOptions({ table: 't', mode: 'upsert' }), /mode/);
  assert.throws(() => buildOpenOptions({ table: 't', errorLimitPercentage: 101 }), /error limit \(%\)/);
  assert.deepEqual(parseColumnList(['a', ' b ']), ['a', 'b']);
});

test('encodePayload accepts one object, objects and arrays; names the row and column on errors', () => {
  const enc = {
    encodeObject(o) {
      if ('bad' in o) throw Object.assign(new Error('column "n": expected int4, got "x"'), { column: 'n' });
      return Buffer.from(JSON.stringify(o));
    },
    encodeArray(a) {
      return Buffer.from(JSON.stringify(a));
    },
  };
  assert.equal(encodePayload({ a: 1 }, enc).rows.length, 1);
  assert.equal(encodePayload([{ a: 1 }, [1, 2]], enc).rows.length, 2);
  assert.equal(encodePayload([], enc).rows.length, 0);
  assert.throws(() => encodePayload('text', enc), /msg.payload must be/);
  assert.throws(() => encodePayload([{ a: 1 }, { bad: 1 }], enc), (e) => e.column === 'n' && /row 1/.test(e.message) && /column "n"/.test(e.message));
  assert.throws(() => encodePayload([{ a: 1 }, 5], enc), /row 1/);
});

test('stream writer: an ack callback that throws never causes a second commit of durable rows', async () => {
  let commits = 0;
  const failures = [];
  const w = new StreamWriter(
    writerOptions({ commitRows: 2 }),
    async (batch) => {
      commits++;
      return { successCount: batch.length, errorCount: 0, errorRows: [] };
    },
    { callbackFailed: (e) => failures.push(e.message) },
  );
  const log = [];
  const bad = entry(1, log, 'a');
  bad.ack = () => {
    throw new Error('downstream clone failed');
  };
  w.accept(bad);
  w.accept(entry(1, log, 'b'));
  await w.close(1000);
  assert.equal(commits, 1);
  assert.deepEqual(failures, ['downstream clone failed']);
  assert.deepEqual(log.map((l) => l[0] + l[1]), ['ackb'], 'the other message is still acknowledged, none failed');
});

const { LoadJob, findJob } = require('../dist/gpss/load-job');

function fakeApi(opts = {}) {
  const calls = [];
  return {
    calls,
    async write(session, rows, writeBytes) {
      calls.push(['write', rows.length]);
      if (writeBytes !== jobLimits.writeBytes) throw new Error(`write asked for ${writeBytes} bytes per Write`);
      await sleep(opts.writeDelay || 5);
      if (opts.failWrite) throw Object.assign(new Error('GPSS Write failed: INVALID_ARGUMENT: bad'), { code: 3 });
    },
    async close(session, o) {
      calls.push(['close', !!o.abort]);
      return { successCount: o.abort ? 0 : 7, errorCount: 0, errorRows: [] };
    },
    release: (s) => calls.push(['release', s]),
    discard: (s) => calls.push(['discard', s]),
    forget: () => calls.push(['forget']),
  };
}

const jobLimits = { writeBytes: 12345, buffer: { maxRows: 100, maxBytes: 1e6 } };

test('load job: writes are sequential, coalesced across messages, and close waits for them', async () => {
  const api = fakeApi();
  const job = new LoadJob(api, 'sess1', { table: 't', mode: 'insert' }, [], jobLimits);
  assert.equal(findJob(job.id), job);
  const rows = (n) => Array.from({ length: n }, () => Buffer.alloc(10));
  const p = [job.write(rows(3), 48), job.write(rows(2), 32), job.write(rows(2), 32)];
  const stats = await job.close();
  await Promise.all(p);
  // The first message goes alone (nothing else queued yet); the next two share one Write.
  assert.deepEqual(api.calls.filter((c) => c[0] === 'write'), [['write', 3], ['write', 4]]);
  assert.equal(stats.successCount, 7);
  assert.deepEqual(api.calls.slice(-3), [['close', false], ['release', 'sess1'], ['forget']]);
  assert.equal(findJob(job.id), undefined, 'a closed job is forgotten');
  await assert.rejects(job.write(rows(1), 16), /closed/);
});

test('load job: a failed Write fails the job; close rolls it back and reports the failure; buffer limit applies', async () => {
  const api = fakeApi({ failWrite: true });
  const job = new LoadJob(api, 'sess2', { table: 't', mode: 'insert' }, [], jobLimits);
  await assert.rejects(job.write([Buffer.alloc(4)], 10), /failed during Write/);
  await assert.rejects(job.write([Buffer.alloc(4)], 10), /failed during Write/);
  await assert.rejects(job.close(), /failed during Write/);
  assert.ok(api.calls.some((c) => c[0] === 'close' && c[1] === true), 'closed with abort');
  const job2 = new LoadJob(fakeApi({ writeDelay: 50 }), 's3', { table: 't', mode: 'insert' }, [], jobLimits);
  const first = job2.write(Array.from({ length: 90 }, () => Buffer.alloc(1)), 90);
  await assert.rejects(job2.write(Array.from({ length: 20 }, () => Buffer.alloc(1)), 20), /buffer full/);
  await first;
  await job2.abort();
});
