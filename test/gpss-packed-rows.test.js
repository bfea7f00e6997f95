'use strict';
// Stream mode packs a message's rows (payload-rows.ts packPayload, row-codec.ts RowWriter runs,
// packed-rows.ts): the packed rows must be byte for byte what encodePayload gives row by row,
// stay so whatever is encoded afterwards (slab roll-overs mid-run, runs larger than a slab,
// sliced payloads interleaved with other messages), fail with the same errors, and leave the
// encoder usable after a failed row.
const test = require('node:test');
const assert = require('node:assert/strict');
const { encodePayload, packPayload, packPayloadInSlices, PackedRows, SLICED_PAYLOAD_ROWS, RowWriter } = require('../dist/gpss');
const { createRowEncoder } = require('../dist/gpss/value-mapping');

const column = (name, databaseType) => ({ name, databaseType, hasLength: false, length: 0, hasPrecisionScale: false, precision: 0, scale: 0, hasNullable: true, nullable: true });
const COLUMNS = [column('id', 'int8'), column('name', 'text'), column('v', 'float8')];

const hex = (rows) => rows.map((r) => Buffer.from(r).toString('hex'));

test('packPayload: same rows and bytes as encodePayload, one row and many, objects and arrays', () => {
  const enc = createRowEncoder(COLUMNS);
  const ref = createRowEncoder(COLUMNS);
  const one = { id: 7, name: 'x', v: 1.5 };
  const p1 = packPayload(one, enc);
  assert.ok(p1.rows instanceof PackedRows);
  assert.equal(p1.rows.length, 1);
  assert.equal(p1.rows.ends, null, 'a one-row message holds no ends');
  const e1 = encodePayload(one, ref);
  assert.deepEqual(hex(p1.rows.toArray()), hex(e1.rows));
  assert.equal(p1.bytes, e1.bytes);

  const many = Array.from({ length: 700 }, (_, i) => (i % 3 ? { id: i, name: 'n'.repeat(i % 50), v: i / 7 } : [i, `row ${i}`, null]));
  const pm = packPayload(many, enc);
  const em = encodePayload(many, ref);
  assert.equal(pm.rows.length, 700);
  assert.equal(pm.bytes, em.bytes);
  assert.deepEqual(hex(pm.rows.toArray()), hex(em.rows));
  for (const i of [0, 1, 350, 699]) assert.equal(pm.rows.at(i).toString('hex'), em.rows[i].toString('hex'), `row ${i}`);
  const empty = packPayload([], enc);
  assert.equal(empty.rows.length, 0);
  assert.equal(empty.bytes, 0);
});

test('packed runs stay intact across slab roll-overs, runs larger than a slab, and later encoding', () => {
  const enc = createRowEncoder(COLUMNS);
  const ref = createRowEncoder(COLUMNS);
  const kept = [];
  // 3,000 messages of 1..40 rows with long strings: many runs cross a 64 KiB slab's end, some
  // are larger than a slab.
  for (let m = 0; m < 300; m++) {
    const n = m % 10 === 9 ? 2000 : 1 + (m % 40);
    const payload = Array.from({ length: n }, (_, i) => ({ id: m * 10000 + i, name: `m${m} r${i} `.repeat(1 + ((m + i) % 9)), v: i }));
    kept.push([packPayload(payload, enc), encodePayload(payload, ref)]);
  }
  kept.forEach(([p, e], m) => {
    assert.equal(p.bytes, e.bytes, `message ${m}`);
    assert.deepEqual(hex(p.rows.toArray()), hex(e.rows), `message ${m}`);
  });
});

test('a failed row: the same error as encodePayload, and the encoder packs the next message cleanly', () => {
  const enc = createRowEncoder(COLUMNS);
  const ref = createRowEncoder(COLUMNS);
  const bad = [{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 'not a number', name: 'c' }];
  let expected;
  assert.throws(() => encodePayload(bad, ref), (e) => ((expected = e), true));
  assert.throws(() => packPayload(bad, enc), (e) => e.message === expected.message && e.code === 'BAD_PAYLOAD' && e.column === expected.column);
  assert.throws(() => packPayload('text', enc), /msg.payload must be/);
  assert.throws(() => packPayload([1], enc), /row 0: expected an object or an array, got number/);
  const good = [{ id: 3, name: 'd' }, [4, 'e', 2]];
  assert.deepEqual(hex(packPayload(good, enc).rows.toArray()), hex(encodePayload(good, ref).rows));
});

test('packPayloadInSlices: same rows as packPayload while another message is packed between slices', async () => {
  const enc = createRowEncoder(COLUMNS);
  const ref = createRowEncoder(COLUMNS);
  const payload = Array.from({ length: SLICED_PAYLOAD_ROWS * 3 + 17 }, (_, i) => (i % 2 ? { id: i, name: `n${i}` } : [i, `n${i}`, i / 3]));
  let timerRan = false;
  setTimeout(() => (timerRan = true), 0);
  const sliced = packPayloadInSlices(payload, enc);
  // Another message through the same encoder while the sliced one waits for its next slice.
  const other = packPayload([{ id: -1, name: 'between' }, { id: -2, name: 'slices' }], enc);
  const got = await sliced;
  const want = encodePayload(payload, ref);
  assert.equal(got.rows.length, payload.length);
  assert.equal(got.bytes, want.bytes);
  assert.deepEqual(hex(got.rows.toArray()), hex(want.rows));
  assert.deepEqual(hex(other.rows.toArray()), hex(encodePayload([{ id: -1, name: 'between' }, { id: -2, name: 'slices' }], ref).rows));
  assert.ok(timerRan, 'the sliced packing yielded to the event loop');
});

test('RowWriter runs do not nest', () => {
  const w = new RowWriter();
  w.beginRun();
  assert.throws(() => w.beginRun(), /already open/);
  w.abortRun();
  w.beginRun();
  assert.equal(w.endRun().length, 0);
});

// A commit hands its messages' packed runs to the client as one RowRuns (no view per row): the
// Writes cut and serialized from it must be byte for byte those of the same rows as a list,
// wherever a Write boundary falls (inside a run, at its end, with one-row and empty runs), and
// again when the commit is retried (the cursor starts over).
test('RowRuns: the same Write cut and bytes as the rows as a list, cut anywhere, retried', () => {
  const { RowRuns, nextWriteEnd, encodeWriteRequestRange } = require('../dist/gpss');
  const wr = require('../dist/gpss/write-request');
  const enc = createRowEncoder(COLUMNS);
  const runs = [];
  for (let m = 0; m < 120; m++) {
    const n = m % 17 === 5 ? 0 : m % 3 === 0 ? 1 : 1 + ((m * 7) % 60);
    // Short rows and rows over 32 bytes (copied two ways), some far longer than a Write.
    const payload = Array.from({ length: n }, (_, i) => ({ id: m * 1000 + i, name: 'x'.repeat((m * 13 + i * 29) % (m % 11 === 0 ? 9000 : 150)), v: i / 3 }));
    runs.push(packPayload(payload, enc).rows);
  }
  const list = runs.flatMap((r) => r.toArray());
  const rr = new RowRuns(runs);
  assert.equal(rr.length, list.length);
  assert.deepEqual(hex(rr.toArray()), hex(list));
  const cut = (rows, maxBytes) => {
    const out = [];
    for (let from = 0; from < rows.length; ) {
      const to = nextWriteEnd(rows, from, maxBytes);
      out.push(encodeWriteRequestRange('s-1', rows, from, to, wr.WRITE_GROUP_BYTES).toString('hex'));
      from = to;
    }
    return out;
  };
  for (const maxBytes of [200, 1000, 4096, 65536, 1 << 20]) {
    const want = cut(list, maxBytes);
    assert.ok(maxBytes > 4096 || want.length > 10, `cut in many Writes at ${maxBytes}`);
    assert.deepEqual(cut(rr, maxBytes), want, `Writes of at most ${maxBytes} bytes`);
    assert.deepEqual(cut(rr, maxBytes), want, `again (a retried commit) at ${maxBytes}`);
  }
  assert.equal(wr.encodeWriteRequest('s', rr).toString('hex'), wr.encodeWriteRequest('s', list).toString('hex'));
  assert.equal(new RowRuns([]).length, 0);
  assert.deepEqual(cut(new RowRuns([packPayload([], enc).rows]), 4096), []);
});
