'use strict';
// gpss-pg's hot-path readers on unusual but valid wire data: the WriteRequest decoder's fast
// path (RowData with a one- or two-byte length) must agree with protobufjs on every row length
// and fall back correctly on other shapes; the binary renderer's ASCII fast loop must still
// reject NUL bytes and invalid UTF-8 wherever they sit in a string, and copy valid UTF-8 as is.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const protobuf = require('protobufjs');
const { encodeRow } = require('./support/row-oracle');
const { decodeWriteRequest } = require('../dist/gpss-server/write-request');
const ct = { ...require('../dist/gpss-server/copy-values'), ...require('../dist/gpss-server/row-renderer') };
const { buildLayout } = require('../dist/gpss-server/load');

const root = protobuf.loadSync(path.join(__dirname, '../proto/gpss.proto'));
const WriteRequest = root.lookupType('api.WriteRequest');

function varint(n) {
  const out = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

test('decodeWriteRequest: rows of every length class (0..70000 bytes) as protobufjs encodes them', () => {
  const lengths = [0, 1, 2, 125, 126, 127, 128, 129, 16379, 16380, 16381, 16382, 16383, 16384, 16385, 70000];
  const rows = [];
  for (let k = 0; k < 40000; k++) rows.push(Buffer.alloc(lengths[k % lengths.length] && (k % 97 === 0 ? lengths[k % lengths.length] : 3 + (k % 40)), k & 0xff));
  for (const n of lengths) rows.push(Buffer.alloc(n, n & 0xff));
  const buf = Buffer.from(WriteRequest.encode({ Session: { ID: 'sess-1' }, Rows: rows.map((Data) => ({ Data })) }).finish());
  const w = decodeWriteRequest(buf);
  assert.equal(w.sessionId, 'sess-1');
  assert.equal(w.count, rows.length);
  for (let i = 0; i < rows.length; i++) assert.ok(w.buf.subarray(w.starts[i], w.ends[i]).equals(rows[i]), `row ${i} (${rows[i].length} bytes)`);
});

test('decodeWriteRequest: RowData shapes off the fast path decode as protobuf says', () => {
  const a = Buffer.from('first');
  const b = Buffer.from('second');
  // RowData with an unknown varint field before Data; RowData with Data twice (last wins);
  // a non-minimal (padded) length varint; an empty RowData (empty Data); session last.
  const unknownThenData = [0x18, 0x05, 0x0a, a.length, ...a];
  const dataTwice = [0x0a, a.length, ...a, 0x0a, b.length, ...b];
  const padded = [0x0a, 0x80 | b.length, 0x00, ...b];
  const parts = [
    [0x12, unknownThenData.length, ...unknownThenData],
    [0x12, dataTwice.length, ...dataTwice],
    [0x12, 0x80 | padded.length, 0x00, ...padded],
    [0x12, 0x00],
    [0x0a, 0x03, 0x0a, 0x01, 0x7a],
  ];
  const w = decodeWriteRequest(Buffer.from(parts.flat()));
  assert.equal(w.sessionId, 'z');
  assert.equal(w.count, 4);
  const got = Array.from({ length: w.count }, (_, i) => w.buf.toString('utf8', w.starts[i], w.ends[i]));
  assert.deepEqual(got, ['first', 'second', 'second', '']);
  // Cross-check with protobufjs on the same bytes.
  const pb = WriteRequest.decode(Buffer.from(parts.flat()));
  assert.deepEqual(pb.Rows.map((r) => Buffer.from(r.Data).toString()), got);
});

test('decodeWriteRequest: truncated and overrunning RowData are errors, not misreads', () => {
  for (const bytes of [
    [0x12, 0x10, 0x0a],
    [0x12, 0x03, 0x0a, 0x05, 0x61],
    [0x12, 0x82],
    [0x12, 0x05, 0x0a, 0x85, 0x80, 0x80],
    [0x12, 0x80, 0x01, 0x0a, 0x7e],
  ]) {
    assert.throws(() => decodeWriteRequest(Buffer.from(bytes)), /past the end|truncated/, Buffer.from(bytes).toString('hex'));
  }
  // Lengths that fit one or two bytes followed by exactly that much data are fine.
  const row = Buffer.alloc(200, 0x41);
  const w = decodeWriteRequest(Buffer.from([0x12, ...varint(203), 0x0a, ...varint(200), ...row]));
  assert.equal(w.count, 1);
  assert.equal(w.ends[0] - w.starts[0], 200);
});

test('renderBinary text values: NUL or invalid UTF-8 anywhere rejects the row; valid UTF-8 copied as is', () => {
  const layout = buildLayout([{ name: 'c0', kind: 0, baseOid: 25, databaseType: 'TEXT' }], ['c0'], []);
  assert.ok(layout.binKinds && layout.binKinds.length === 1, 'text column has a binary form');
  const renderer = new ct.RowRenderer(layout);
  const out = new ct.CopyTextBuffer(64);
  const render = (bytes) => {
    const row = encodeRow([{ BytesValue: Buffer.from(bytes) }]);
    // BytesValue into text stores the bytes' UTF-8 text: the same check as StringValue.
    out.reset();
    renderer.renderBinary(row, 0, row.length, out);
    return out.buf.subarray(0, out.pos);
  };
  for (const len of [1, 2, 5, 17, 40, 100]) {
    for (let at = 0; at < len; at++) {
      const ascii = Buffer.alloc(len, 0x61);
      const withNul = Buffer.from(ascii);
      withNul[at] = 0;
      assert.throws(() => render(withNul), (e) => e instanceof ct.ValueFormatError && /0x00/.test(e.message), `NUL at ${at}/${len}`);
      const invalid = Buffer.from(ascii);
      invalid[at] = 0xff;
      assert.throws(() => render(invalid), (e) => e instanceof ct.ValueFormatError && /UTF8/.test(e.message), `0xff at ${at}/${len}`);
      const del = Buffer.from(ascii);
      del[at] = 0x7f; // DEL and 0x01 are valid text bytes
      if (at > 0) del[at - 1] = 0x01;
      const okOut = render(del);
      assert.ok(okOut.subarray(okOut.length - len).equals(del), `0x7f at ${at}/${len} copied`);
    }
  }
  const text = Buffer.from('aé€😀 tail');
  const r = render(text);
  assert.ok(r.subarray(r.length - text.length).equals(text));
  assert.equal(r.readInt32BE(r.length - text.length - 4), text.length, 'field length');
});

test('RowRenderer: varint values are delimited exactly (10 bytes fine, 11 or truncated a protocol error)', () => {
  const layout = buildLayout([{ name: 'n', kind: 0, baseOid: 20, databaseType: 'INT8' }], ['n'], []);
  const renderer = new ct.RowRenderer(layout);
  const out = new ct.CopyTextBuffer(64);
  const row = (hex) => Buffer.from(hex, 'hex');
  // Int64Value -1: ten bytes.
  const minusOne = row('0a0b10' + 'ff'.repeat(9) + '01');
  out.reset();
  assert.equal(renderer.renderBinary(minusOne, 0, minusOne.length, out), true);
  assert.equal(out.buf.readBigInt64BE(out.pos - 8), -1n);
  out.reset();
  renderer.render(minusOne, 0, minusOne.length, out);
  assert.equal(out.buf.toString('utf8', 0, out.pos), '-1\n');
  for (const [hex, re] of [
    ['0a0c10' + 'ff'.repeat(10) + '01', /longer than 10 bytes/],
    ['0a0210ff', /truncated varint/],
    ['0a0310ffff', /truncated varint/],
  ]) {
    const r = row(hex);
    out.reset();
    assert.throws(() => renderer.renderBinary(r, 0, r.length, out), (e) => e instanceof ct.RowProtocolError && re.test(e.message), hex);
    assert.equal(out.pos, 0, 'nothing written');
    assert.throws(() => renderer.render(r, 0, r.length, out), (e) => e instanceof ct.RowProtocolError && re.test(e.message), hex);
  }
  // 300 → two-byte varint, rendered as such.
  const three = row('0a0310ac02');
  out.reset();
  renderer.renderBinary(three, 0, three.length, out);
  assert.equal(out.buf.readBigInt64BE(out.pos - 8), 300n);
});
