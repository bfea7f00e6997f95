'use strict';
// Rows are encoded in place into shared slabs and returned as views (row-codec.ts RowWriter):
// every returned row must stay byte-for-byte what it was whatever is encoded afterwards, and
// the in-place string writer must produce exactly protobufjs's bytes at every length/content.
const test = require('node:test');
const assert = require('node:assert/strict');
const { RowWriter, ROW_SLAB_BYTES } = require('../dist/gpss/row-codec.js');
const { encodeRow, decodeRow } = require('./support/row-oracle');
const { createRowEncoder } = require('../dist/gpss/value-mapping.js');
const { encodeWriteRequest } = require('../dist/gpss/write-request.js');
const { pbEncode } = require('./support/gpss-client-protobufjs.js');

const COLUMNS = [
  ['id', 'INT8'],
  ['ts', 'TIMESTAMP'],
  ['device', 'TEXT'],
  ['value', 'FLOAT8'],
  ['payload', 'TEXT'],
].map(([name, databaseType]) => ({ name, databaseType, hasLength: false, length: 0, hasPrecisionScale: false, precision: 0, scale: 0, hasNullable: true, nullable: true }));

// Characters of every UTF-8 width, and surrogates paired and lone.
const PIECES = ['a', '\t', '\\', 'é', 'ß', '€', '中', '😀', '\ud800', '\udfff', '\u007f', '\u0080', '\u07ff', '\u0800', '\uffff'];

test('strings of every length 0..300 and every UTF-8 width: bytes equal protobufjs, decode back', () => {
  for (let len = 0; len <= 300; len++) {
    for (const piece of PIECES) {
      // Mostly ASCII with the piece at the start, middle or end: exercises the ASCII loop's bail-out.
      for (const at of [0, len >> 1, len - 1]) {
        if (len === 0 && at !== 0) continue;
        const chars = Array.from({ length: len }, (_, i) => String.fromCharCode(97 + (i % 26)));
        if (len > 0) chars[Math.max(0, at)] = piece;
        const s = chars.join('');
        const values = [{ StringValue: s }, { OtherValue: s }];
        const ours = encodeRow(values);
        // Lone surrogates are written as U+FFFD, like Buffer.from(s) (protobufjs writes them raw).
        const want = Buffer.from(s, 'utf8').toString('utf8');
        const anchor = pbEncode([{ StringValue: want }, { OtherValue: want }]);
        assert.equal(ours.toString('hex'), anchor.toString('hex'), `length ${len}, ${JSON.stringify(piece)} at ${at}`);
        assert.deepStrictEqual(decodeRow(ours), [{ StringValue: want }, { OtherValue: want }], `length ${len}: decode`);
      }
    }
  }
});

test('rows handed out stay unchanged while many slabs of later rows are encoded', () => {
  const encoder = createRowEncoder(COLUMNS);
  const T0 = Date.UTC(2026, 0, 1);
  const row = (i) => [i, T0 + i * 10, 'device-' + (i % 1000), i * 0.5, 'payload-' + 'x'.repeat(i % 97) + '-é-' + i];
  const kept = [];
  const hex = [];
  // Enough rows to fill several slabs.
  for (let i = 0; kept.length < 30000; i++) {
    const r = encoder.encodeArray(row(i));
    kept.push(r);
    hex.push(r.toString('hex'));
  }
  let bytes = 0;
  for (const r of kept) bytes += r.length;
  assert.ok(bytes > 4 * ROW_SLAB_BYTES, `the test spans several slabs (${bytes} bytes)`);
  // Encode more (including rows that fail half-way) and check nothing written before changed.
  for (let i = 0; i < 5000; i++) {
    encoder.encodeArray(row(i + 1e6));
    assert.throws(() => encoder.encodeArray([i, 'not a timestamp', 'x'.repeat(i % 200), 1, 'y']), /ts/);
  }
  for (let i = 0; i < kept.length; i++) assert.equal(kept[i].toString('hex'), hex[i], `row ${i} unchanged`);
  // And each row decodes to its own values.
  for (const i of [0, 1, 12345, kept.length - 1]) {
    const v = decodeRow(kept[i]);
    assert.equal(v[0].Int64Value, String(i));
    assert.equal(v[4].StringValue, row(i)[4]);
  }
  // A WriteRequest built from the views carries exactly those bytes.
  const req = encodeWriteRequest('s', kept.slice(0, 100));
  const joined = Buffer.concat(kept.slice(0, 100));
  assert.ok(req.length > joined.length);
  for (const r of kept.slice(0, 100)) assert.ok(req.includes(r), 'request holds each row');
});

test('a row larger than a slab, a failed row, then more rows: all intact', () => {
  const big = 'z'.repeat(ROW_SLAB_BYTES * 3 + 17);
  const before = encodeRow([{ StringValue: 'before' }]);
  const huge = encodeRow([{ StringValue: big }, { BytesValue: Buffer.alloc(ROW_SLAB_BYTES, 7) }]);
  assert.throws(() => encodeRow([{ StringValue: 'half' }, { Int32Value: 2 ** 40 }]), /Int32Value/);
  const after = encodeRow([{ StringValue: 'after' }]);
  assert.deepStrictEqual(decodeRow(before), [{ StringValue: 'before' }]);
  const h = decodeRow(huge);
  assert.equal(h[0].StringValue, big);
  assert.ok(h[1].BytesValue.equals(Buffer.alloc(ROW_SLAB_BYTES, 7)));
  assert.deepStrictEqual(decodeRow(after), [{ StringValue: 'after' }]);
  assert.equal(huge.toString('hex'), pbEncode([{ StringValue: big }, { BytesValue: Buffer.alloc(ROW_SLAB_BYTES, 7) }]).toString('hex'));
});

test('RowWriter with a tiny slab: rows crossing slab ends are moved whole', () => {
  const w = new RowWriter(16);
  const rows = [];
  for (let i = 0; i < 200; i++) {
    w.begin();
    w.string('row-' + i);
    w.int32(i);
    if (i % 7 === 0) {
      w.abort(); // discarded: must not leak into the next row
      continue;
    }
    rows.push([i, w.finish()]);
  }
  for (const [i, r] of rows) assert.deepStrictEqual(decodeRow(r), [{ StringValue: 'row-' + i }, { Int32Value: i }], `row ${i}`);
});

test('GpssClient.write grouping: nextWriteEnd + encodeWriteRequestRange equal the cut model + encodeWriteRequest', () => {
  const { nextWriteEnd, encodeWriteRequestRange } = require('../dist/gpss/write-request.js');
  const { splitIntoWrites } = require('./support/write-cut-oracle');
  const rows = [];
  for (let i = 0; i < 3000; i++) rows.push(encodeRow([{ Int32Value: i }, { StringValue: 'r'.repeat((i * 37) % 300) }, ...(i % 500 === 0 ? [{ BytesValue: Buffer.alloc(9000, 1) }] : [])]));
  for (const maxBytes of [65, 100, 4096, 10000, 65536, 1 << 22]) {
    const groups = splitIntoWrites(rows, maxBytes);
    let from = 0;
    for (const g of groups) {
      const to = nextWriteEnd(rows, from, maxBytes);
      assert.equal(to - from, g.length, `maxBytes ${maxBytes}: group at ${from}`);
      const mod = require('../dist/gpss/write-request.js');
      const bytes = encodeWriteRequestRange('sess', rows, from, to, mod.WRITE_GROUP_BYTES);
      assert.ok(bytes.equals(encodeWriteRequest('sess', g)), `maxBytes ${maxBytes}: request at ${from}`);
      from = to;
    }
    assert.equal(from, rows.length);
  }
  // A wrong size is an error, never a request with garbage bytes.
  assert.throws(() => encodeWriteRequestRange('sess', rows, 0, 2, 3), /out of bounds|rowsBytes/);
  assert.throws(() => encodeWriteRequestRange('sess', rows, 0, 2, 10000), /rowsBytes/);
});
