'use strict';
// Unit tests of the pure delivery-guarantee parts behind gpss-write and gpss-close: the
// ErrorRows format and its mapping back to messages (error-rows.ts), collapsing Merge/Update
// rows by match key (collapse.ts), and the stream writer using both around a commit.
const test = require('node:test');
const assert = require('node:assert/strict');
const { parseErrorRow, formatErrorRow, mapRejections, messageOutcomes, describeRejected, errorRowsToAsk, MAX_ERROR_ROWS } = require('../dist/gpss/error-rows');
const { collapseByKey, rowKeyReader, matchColumnIndexes } = require('../dist/gpss/collapse');
const { StreamWriter } = require('../dist/gpss/stream-writer');
const { createRowEncoder } = require('../dist/gpss/value-mapping');
const { encodeRow } = require('./support/row-oracle');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(fn, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

// ---- ErrorRows format
test('parseErrorRow reads "row N: reason" (N ≥ 1) and keeps other texts whole with row null', () => {
  assert.deepEqual(parseErrorRow('row 17: column "d": invalid input syntax for type date: "2024-13-45"'), {
    row: 17,
    reason: 'column "d": invalid input syntax for type date: "2024-13-45"',
  });
  assert.deepEqual(parseErrorRow(formatErrorRow(3, 'multi\nline: reason')), { row: 3, reason: 'multi\nline: reason' });
  for (const other of ['line 3: bad', 'row 0: x', 'row -1: x', 'row 3 bad', 'row 99999999999999999999: x', '']) {
    assert.deepEqual(parseErrorRow(other), { row: null, reason: other }, other);
  }
});

test('mapRejections names each message\'s rejected rows by their index in the message', () => {
  // messages of 2, 0, 3 and 1 rows: load positions 1-2, -, 3-5, 6
  const r = mapRejections([2, 0, 3, 1], { errorCount: 3, errorRows: ['row 6: six', 'row 3: three', 'row 5: five'] });
  assert.equal(r.countsOnly, false);
  assert.equal(r.total, 3);
  assert.deepEqual(r.byMessage, [undefined, undefined, [{ index: 0, reason: 'three' }, { index: 2, reason: 'five' }], [{ index: 0, reason: 'six' }]]);
  assert.equal(mapRejections([2, 3], { errorCount: 0, errorRows: [] }), null, 'nothing rejected');
});

test('mapRejections maps through collapsed rows to the rows\' original indexes', () => {
  // message 0 had rows 0..3, rows 1 and 2 superseded: positions 1,2 are its rows 0 and 3
  const r = mapRejections([2, 1], { errorCount: 2, errorRows: ['row 2: x', 'row 3: y'] }, [[0, 3], null]);
  assert.deepEqual(r.byMessage, [[{ index: 3, reason: 'x' }], [{ index: 0, reason: 'y' }]]);
});

test('mapRejections falls back to counts when the rows are not all named exactly once in range', () => {
  const cases = [
    [{ errorCount: 2, errorRows: [] }, /did not name/],
    [{ errorCount: 2, errorRows: ['row 1: a'] }, /named 1 of 2/],
    [{ errorCount: 1, errorRows: ['bad data in line 1'] }, /not in the "row N: reason" format/],
    [{ errorCount: 1, errorRows: ['row 4: beyond'] }, /row 4 of a load of 3 rows/],
    [{ errorCount: 2, errorRows: ['row 1: a', 'row 1: again'] }, /twice/],
  ];
  for (const [stats, why] of cases) {
    const r = mapRejections([1, 2], stats);
    assert.equal(r.countsOnly, true, JSON.stringify(stats));
    assert.equal(r.total, stats.errorCount);
    assert.match(r.why, why);
  }
});

test('messageOutcomes: rows named → rowsRejected for their messages only; counts → every message told the total', () => {
  assert.equal(messageOutcomes(null, 3), null);
  const named = messageOutcomes(mapRejections([1, 1, 1], { errorCount: 1, errorRows: ['row 2: bad'] }), 3);
  assert.deepEqual(named.map((o) => o.kind), ['committed', 'rowsRejected', 'committed']);
  assert.deepEqual(named[1].rows, [{ index: 0, reason: 'bad' }]);
  const counts = messageOutcomes(mapRejections([1, 1, 1], { errorCount: 2, errorRows: [] }), 3);
  assert.deepEqual(counts.map((o) => [o.kind, o.rejected]), [['countsOnly', 2], ['countsOnly', 2], ['countsOnly', 2]]);
  assert.match(describeRejected([{ index: 1, reason: 'r1' }, { index: 4, reason: 'r4' }]), /2 rows of this message rejected.*row 1: r1; row 4: r4/);
  assert.equal(errorRowsToAsk(10), 10);
  assert.equal(errorRowsToAsk(1e7), MAX_ERROR_ROWS);
});

// ---- collapse by match key
const columns = [
  { name: 'id', databaseType: 'int4' },
  { name: 'Region', databaseType: 'text' },
  { name: 'ts', databaseType: 'timestamp' },
  { name: 'val', databaseType: 'text' },
  { name: 'blob', databaseType: 'bytea' },
];
const enc = createRowEncoder(columns);

test('matchColumnIndexes resolves like the server: exact names only, as Greenplum resolves quoted identifiers', () => {
  assert.deepEqual(matchColumnIndexes(enc.columnNames, ['id', 'Region']), [0, 1]);
  assert.equal(matchColumnIndexes(enc.columnNames, ['id', 'region']), null, 'no case-insensitive fallback: the server refuses "region" too');
  assert.equal(matchColumnIndexes(enc.columnNames, ['nope']), null);
  assert.deepEqual(matchColumnIndexes(['a', 'A'], ['A']), [1]);
  assert.equal(matchColumnIndexes(['a', 'A'], ['X']), null);
});

test('rowKeyReader: equal keys for values the encoder sends alike; NULL keys and other values differ', () => {
  const key = rowKeyReader([0, 2]);
  const k = (o) => key(enc.encodeObject(o));
  const when = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
  const base = k({ id: 1, ts: when, val: 'a' });
  assert.equal(typeof base, 'string');
  assert.equal(k({ id: '1', ts: '2024-01-02T03:04:05Z', val: 'other value' }), base, 'number vs string, Date vs ISO text');
  assert.equal(k({ id: 1, ts: when.getTime() }), base, 'epoch ms');
  assert.notEqual(k({ id: 2, ts: when }), base);
  assert.notEqual(k({ id: 1, ts: new Date(when.getTime() + 1) }), base);
  assert.equal(k({ id: null, ts: when }), null, 'a NULL key column matches nothing: never collapsed');
  assert.equal(k({ ts: when }), null, 'a missing key column is NULL');
  // Bytes keys: Buffers with the same bytes are the same key, others are not.
  const bkey = rowKeyReader([4]);
  assert.equal(bkey(enc.encodeObject({ blob: Buffer.from([1, 2]) })), bkey(enc.encodeObject({ blob: new Uint8Array([1, 2]) })));
  assert.notEqual(bkey(enc.encodeObject({ blob: Buffer.from([1, 2]) })), bkey(enc.encodeObject({ blob: Buffer.from([1, 2, 0]) })));
  // A key column beyond a short or malformed row: no key.
  assert.equal(rowKeyReader([5])(enc.encodeObject({ id: 1 })), null);
  assert.equal(key(Buffer.from([0x0a, 0x7f])), null);
  // Text keys: "1" and 1 are the same text; a prefix is not the same key.
  const tkey = rowKeyReader([1]);
  assert.equal(tkey(enc.encodeObject({ Region: 1 })), tkey(enc.encodeObject({ Region: '1' })));
  assert.notEqual(tkey(encodeRow([{ Int32Value: 1 }, { StringValue: 'ab' }])), tkey(encodeRow([{ Int32Value: 1 }, { StringValue: 'a' }])));
});

test('collapseByKey keeps the last row per key in its place, across messages; rows without a key stay', () => {
  const key = rowKeyReader([0]);
  const r = (id, val) => enc.encodeObject({ id, val });
  const m0 = [r(1, 'a'), r(2, 'b'), r(null, 'n1'), r(1, 'a2')];
  const m1 = [r(2, 'b2')];
  const m2 = [r(3, 'c'), r(null, 'n2')];
  const m3 = [r(1, 'a3')];
  const out = collapseByKey([{ rows: m0 }, { rows: m1 }, { rows: m2 }, { rows: m3 }], key);
  assert.equal(out.dropped, 3);
  assert.deepEqual(out.kept, [[2], null, null, null]);
  assert.deepEqual(out.rows[0], [m0[2]]);
  assert.equal(out.rows[1], m1, 'untouched messages keep their own array');
  assert.equal(out.rows[2], m2);
  assert.equal(out.rows[3], m3);
  const none = collapseByKey([{ rows: [r(1, 'x'), r(2, 'y')] }], key);
  assert.equal(none.dropped, 0);
});

// ---- the stream writer around a commit
function writerOptions(extra = {}) {
  return {
    commitRows: 100, commitIntervalMs: 20, buffer: { maxRows: 1000, maxBytes: 1e9 },
    maxRetries: 0, backoff: { baseMs: 1, maxMs: 5, jitter: 0 }, ...extra,
  };
}
function entry(rows, log, tag) {
  return {
    rows, bytes: rows.reduce((n, r) => n + r.length + 6, 0),
    ack: (stats, outcome) => log.push({ tag, kind: outcome.kind, rows: outcome.rows, rejected: outcome.rejected }),
    fail: (err) => log.push({ tag, kind: 'fail', message: err.message }),
  };
}

test('stream writer: Merge/Update rows collapse by key within a commit; every message is acked after it', async () => {
  const r = (id, val) => enc.encodeObject({ id, val });
  const written = [];
  const events = [];
  const log = [];
  const w = new StreamWriter(
    writerOptions({ collapseKey: rowKeyReader([0]) }),
    async (batch, info) => {
      const rows = batch;
      written.push(rows);
      assert.equal(info.rows, rows.length);
      return { successCount: rows.length, errorCount: 0, errorRows: [] };
    },
    { committed: (info) => events.push(info) },
  );
  const a = [r(1, 'first'), r(2, 'two')];
  const b = [r(1, 'second')];
  const c = [r(1, 'last')];
  w.accept(entry(a, log, 'a'));
  w.accept(entry(b, log, 'b'));
  w.accept(entry(c, log, 'c'));
  await until(() => log.length === 3);
  assert.deepEqual(written, [[a[1], c[0]]], 'only the last row of key 1, in its place');
  assert.deepEqual(log.map((l) => l.tag + ':' + l.kind), ['a:committed', 'b:committed', 'c:committed']);
  assert.equal(events[0].collapsed, 2);
  assert.equal(events[0].rows, 2);
  assert.equal(events[0].rejections, null);
});

test('stream writer: named rejected rows reach their messages (through the collapse); counts-only tells every message', async () => {
  const r = (id, val) => enc.encodeObject({ id, val });
  const log = [];
  const events = [];
  let mode = 'positions';
  const w = new StreamWriter(
    writerOptions({ collapseKey: rowKeyReader([0]) }),
    async (batch) => {
      const rows = batch;
      // The server rejects the row whose val is 'bad' (its 1-based position in this load).
      const bad = rows.map((row, i) => (row.includes(Buffer.from('bad')) ? i + 1 : 0)).filter(Boolean);
      return { successCount: rows.length - bad.length, errorCount: bad.length, errorRows: mode === 'positions' ? bad.map((p) => `row ${p}: column "val": nope`) : [] };
    },
    { committed: (info) => events.push(info) },
  );
  // m0: rows 0 (key 5, superseded by its row 2), 1 (bad), 2; m1: ok; m2: bad
  w.accept(entry([r(5, 'x'), r(6, 'bad'), r(5, 'y')], log, 'm0'));
  w.accept(entry([r(7, 'ok')], log, 'm1'));
  w.accept(entry([r(8, 'bad')], log, 'm2'));
  await until(() => log.length === 3);
  assert.deepEqual(log.map((l) => [l.tag, l.kind, l.rows]), [
    ['m0', 'rowsRejected', [{ index: 1, reason: 'column "val": nope' }]],
    ['m1', 'committed', undefined],
    ['m2', 'rowsRejected', [{ index: 0, reason: 'column "val": nope' }]],
  ]);
  assert.equal(events[0].rejections.total, 2);
  mode = 'counts';
  log.length = 0;
  w.accept(entry([r(1, 'bad')], log, 'n0'));
  w.accept(entry([r(2, 'fine')], log, 'n1'));
  await until(() => log.length === 2);
  assert.deepEqual(log.map((l) => [l.tag, l.kind, l.rejected]), [['n0', 'countsOnly', 1], ['n1', 'countsOnly', 1]]);
  assert.equal(events[1].rejections.countsOnly, true);
  await w.close(1000);
});

test('stream writer: a retried commit maps the positions of the attempt that succeeded', async () => {
  const log = [];
  let attempts = 0;
  const w = new StreamWriter(writerOptions({ maxRetries: 2 }), async (batch) => {
    attempts++;
    if (attempts === 1) throw Object.assign(new Error('connection reset during Close'), { code: 14 });
    // The second attempt is a new load: positions start at 1 again.
    return { successCount: 2, errorCount: 1, errorRows: ['row 3: bad'] };
  });
  w.accept(entry([Buffer.from([0x0a, 0]), Buffer.from([0x0a, 0])], log, 'a'));
  w.accept(entry([Buffer.from([0x0a, 0])], log, 'b'));
  await until(() => log.length === 2);
  assert.equal(attempts, 2);
  assert.deepEqual(log.map((l) => [l.tag, l.kind]), [['a', 'committed'], ['b', 'rowsRejected']]);
});
