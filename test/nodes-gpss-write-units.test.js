'use strict';
// Unit tests of what gpss-write's wiring uses from the node kit and src/gpss, without Node-RED:
// the status composed from its progress, the stream-mode message entry (settled by its commit),
// job mode's commit at the end of a sequence, the warning about deliveries to stopped nodes.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const kit = require('../dist/nodes/kit');
const gpss = require('../dist/gpss');

// A translator like the node's: key and variables, so each assertion sees what was chosen.
const t = (key, vars) => `${key}${vars ? JSON.stringify(vars) : ''}`;
const progress = (over) => ({ lastError: '', heldRows: 0, waitingMs: 0, commitIntervalMs: 1000, committedRows: 0, rejectedRows: 0, ratePerSecond: () => 0, ...over });

test('writeStatus: error first, then waiting for the database, then writing, then committed; rejected rows as a suffix', () => {
  assert.equal(kit.writeStatus(progress({}), t), null, 'nothing written yet: the status is left alone');
  assert.deepEqual(kit.writeStatus(progress({ lastError: 'retrying: UNAVAILABLE', heldRows: 5, committedRows: 9 }), t), { fill: 'red', shape: 'ring', text: 'retrying: UNAVAILABLE' });
  // Held longer than the commit interval + 3 s: waiting, not writing.
  assert.deepEqual(kit.writeStatus(progress({ heldRows: 12345, waitingMs: 4001, ratePerSecond: () => assert.fail('rate not read while waiting') }), t), {
    fill: 'yellow',
    shape: 'ring',
    text: 'status.waiting{"seconds":4,"held":"12.3k"}',
  });
  assert.equal(kit.writeStatus(progress({ heldRows: 1, waitingMs: 4000 }), t).fill, 'blue', 'exactly interval + 3 s is still writing');
  assert.deepEqual(kit.writeStatus(progress({ heldRows: 7, waitingMs: 100, ratePerSecond: () => 2500000 }), t), { fill: 'blue', shape: 'dot', text: 'status.writing{"rate":"2.50M","held":"7"}' });
  let rateRead = false;
  assert.deepEqual(kit.writeStatus(progress({ committedRows: 42, ratePerSecond: () => (rateRead = true) }), t), { fill: 'green', shape: 'dot', text: 'status.committed{"count":"42"}' });
  assert.equal(rateRead, false, 'the rate window is read only while rows are held');
  assert.deepEqual(kit.writeStatus(progress({ committedRows: 42, rejectedRows: 3 }), t), { fill: 'yellow', shape: 'dot', text: 'status.committed{"count":"42"}status.rejected{"count":"3"}' });
  assert.equal(kit.writeStatus(progress({ heldRows: 2, rejectedRows: 3 }), t).text, 'status.writing{"rate":"0","held":"2"}status.rejected{"count":"3"}');
  assert.equal(kit.writeStatus(progress({ rejectedRows: 3 }), t), null, 'rejections alone, nothing committed: left alone');
});

test('MessageEntry: passed on after its commit, with msg.gpss.rejected for counts; to Catch naming its rejected rows', () => {
  const sent = [];
  const node = { send: (m) => sent.push(m) };
  const settled = [];
  const done = (err) => settled.push(err ?? null);

  const msg = { payload: [{ a: 1 }] };
  const entry = new gpss.MessageEntry(msg, node, done);
  assert.equal(entry.payload, msg.payload);
  assert.equal(entry.entry([Buffer.from('x')], 1), entry);
  entry.ack({ successCount: 1, errorCount: 0, errorRows: [] }, { kind: 'committed' });
  assert.deepEqual([sent, settled], [[msg], [null]]);
  assert.equal(msg.gpss, undefined, 'a clean commit leaves msg.gpss alone');

  const counted = { payload: [], gpss: { job: '' } };
  new gpss.MessageEntry(counted, node, done).ack({}, { kind: 'countsOnly', rejected: 4 });
  assert.equal(counted.gpss.rejected, 4);
  assert.equal(sent.at(-1), counted);

  const rejected = { payload: [] };
  const rows = [{ row: 2, reason: 'bad int' }];
  new gpss.MessageEntry(rejected, node, done).ack({}, { kind: 'rowsRejected', rows });
  const err = settled.at(-1);
  assert.ok(err instanceof gpss.RowsRejectedError);
  assert.equal(err.code, 'ROWS_REJECTED');
  assert.deepEqual(err.rows, rows);
  assert.match(err.message, /^gpss-write: /);
  assert.equal(rejected.gpss.rejectedRows, rows);
  assert.equal(sent.length, 2, 'a message with rejected rows is not passed on');

  const failed = new Error('commit failed');
  new gpss.MessageEntry({ payload: 1 }, node, done).fail(failed);
  assert.equal(settled.at(-1), failed);
  new gpss.MessageEntry({ payload: [] }, node, done).empty();
  assert.equal(sent.length, 3);
});

/** A load job stand-in with the parts SequenceCommit uses (target, close). */
function job(close) {
  const calls = [];
  return { target: 'public.t', calls, close: (o) => (calls.push(o), close()) };
}

function hooks() {
  const h = { statuses: [], warnings: [], rows: 0 };
  return Object.assign(h, { type: 'gpss-write', t, status: { set: (s) => h.statuses.push(s) }, warn: (w) => h.warnings.push(w), committed: (n) => (h.rows += n) });
}

function settle() {
  const out = { sent: [], done: [] };
  return Object.assign(out, { send: (m) => out.sent.push(m), finish: (e) => out.done.push(e ?? null) });
}

test('SequenceCommit off: each message is passed on or failed as its rows are written', () => {
  const h = hooks();
  const c = new kit.SequenceCommit(false, h);
  const j = job(() => assert.fail('no commit'));
  const s = settle();
  const msg = { parts: { id: 'a', index: 0, count: 1 } };
  c.messageDone(j, msg, s.send, s.finish, null);
  const err = new Error('bad row');
  c.messageDone(j, { parts: { id: 'b', index: 0, count: 1 } }, s.send, s.finish, err);
  assert.deepEqual(s.sent, [msg]);
  assert.deepEqual(s.done, [null, err]);
});

test('SequenceCommit on: the part that completes the count commits the job; msg.gpss.closed, status, rows', async () => {
  const h = hooks();
  const c = new kit.SequenceCommit(true, h);
  const j = job(async () => ({ successCount: 10, errorCount: 1, errorRows: [] }));
  const s = settle();
  const shared = { job: 'j1' };
  const first = { gpss: shared, parts: { id: 's', index: 1, count: 2 } };
  const last = { gpss: shared, parts: { id: 's', index: 0 } };
  const failure = new Error('part 0 failed');
  c.messageDone(j, first, s.send, s.finish, null);
  assert.deepEqual([s.sent, s.done], [[first], [null]]);
  c.messageDone(j, last, s.send, s.finish, failure);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(j.calls, [{ maxErrorRows: gpss.MAX_ERROR_ROWS }]);
  assert.deepEqual(s.done, [null, failure], 'the failed last part still commits the job, and goes to Catch');
  assert.deepEqual(last.gpss, { job: 'j1', closed: { successCount: 10, errorCount: 1, errorRows: [] } });
  assert.deepEqual(shared, { job: 'j1' }, 'a new msg.gpss: the parts may share one');
  assert.equal(h.rows, 10);
  assert.deepEqual(h.statuses, [{ fill: 'yellow', shape: 'dot', text: 'status.committedJob{"count":"10","target":"public.t"}' }]);
  assert.match(h.warnings[0], /^gpss-write: public\.t committed 10 rows at the end of the sequence; the server rejected 1/);
});

test('SequenceCommit on: a failed commit names the sequence; a bad part index fails the message; idle sequences are warned about once', async () => {
  const h = hooks();
  const c = new kit.SequenceCommit(true, h, 1000);
  const j = job(async () => {
    throw new Error('connection reset');
  });
  const s = settle();
  c.messageDone(j, { parts: { id: 'x', index: 0, count: 1 } }, s.send, s.finish, null);
  await new Promise((r) => setImmediate(r));
  assert.match(s.done[0].message, /^gpss-write: committing public\.t at the end of sequence x failed: connection reset$/);
  assert.equal(h.statuses[0].fill, 'red');
  assert.equal(h.rows, 0);

  c.messageDone(j, { parts: { id: 'y', index: 0, count: 2 } }, s.send, s.finish, null);
  c.messageDone(j, { parts: { id: 'y', index: 5 } }, s.send, s.finish, null);
  assert.match(s.done.at(-1).message, /msg\.parts\.index 5 is not below msg\.parts\.count 2/);

  c.messageDone(j, { parts: { id: 'z', index: 0 } }, s.send, s.finish, null);
  c.warnIdle(Date.now() + 500);
  assert.deepEqual(h.warnings, []);
  c.warnIdle(Date.now() + 1000);
  assert.deepEqual(h.warnings, [`gpss-write: sequence z stopped at 1 of an unknown number of parts for ${1000 / 60000} min; its job was not committed`]);
  c.warnIdle(Date.now() + 5000);
  assert.equal(h.warnings.length, 1, 'forgotten after the warning');
});

test('readWriteSettings: defaults, and a bad value names its option', () => {
  const s = kit.readWriteSettings({});
  assert.equal(s.mode, 'auto');
  assert.deepEqual(s.writer, { commitRows: 10000, commitIntervalMs: 200, buffer: { maxRows: 100000, maxBytes: 64 * 1024 * 1024 }, maxRetries: 5, backoff: { baseMs: 250, maxMs: 10000, jitter: 0.3 } });
  assert.deepEqual([s.closeTimeoutMs, s.commitOnSequenceEnd, s.tickOutput, s.encoder.ignoreUnknownKeys], [10000, false, false, false]);
  assert.throws(() => kit.readWriteSettings({ closeTimeout: '15' }), (e) => e instanceof kit.SettingError && e.option === 'close timeout (s)');
  assert.throws(() => kit.readWriteSettings({ writeMode: 'batch' }), /write into must be auto, stream or job/);
});

test("readWriteSettings: the dialog's defaults (nodes/gpss-write.html) are the runtime's defaults", () => {
  // A node dropped from the palette gets the html defaults; a flow written by hand or by an older
  // version may lack a property and gets the runtime's: both must mean the same commits.
  const html = fs.readFileSync(path.join(__dirname, '..', 'nodes', 'gpss-write.html'), 'utf8');
  const numbers = new Map([...html.matchAll(/(\w+): \{ value: (-?\d+),/g)].map((m) => [m[1], Number(m[2])]));
  const dialog = {};
  for (const key of ['commitRows', 'commitInterval', 'bufferRows', 'bufferMb', 'writeKb', 'maxRetries', 'retryDelay', 'closeTimeout']) {
    assert.ok(numbers.has(key), `the dialog has a numeric default for ${key}`);
    dialog[key] = numbers.get(key);
  }
  assert.equal(dialog.commitInterval, kit.DEFAULT_COMMIT_INTERVAL_MS);
  assert.deepEqual(kit.readWriteSettings(dialog), kit.readWriteSettings({}));
});

test('warnCommittedWhileClosing: only when rows were committed and a node wired after had stopped', () => {
  const running = new Set(['n2']);
  const RED = { nodes: { getNode: (id) => (running.has(id) ? {} : null) } };
  const warnings = [];
  const node = { type: 'gpss-write', wires: [['n1', 'n2']], warn: (w) => warnings.push(w) };
  assert.deepEqual(kit.stoppedReceivers(RED, node), ['n1']);
  kit.warnCommittedWhileClosing(RED, node, 0);
  assert.deepEqual(warnings, []);
  kit.warnCommittedWhileClosing(RED, node, 12);
  assert.match(warnings[0], /^gpss-write: 12 rows committed while closing; .* the nodes wired after gpss-write \(n1\) had already stopped/);
  running.add('n1');
  kit.warnCommittedWhileClosing(RED, node, 12);
  assert.equal(warnings.length, 1);
});
