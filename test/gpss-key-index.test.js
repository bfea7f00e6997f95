'use strict';
// Job mode's repeated-key check (key-index.ts): SipHash-2-4 against the reference vectors and a
// BigInt oracle, the fingerprint set, the per-job index (collapse within a message, refusal of
// a message repeating an earlier key, the bound) and the key's wording in the error.
const test = require('node:test');
const assert = require('node:assert/strict');
const { sipHash24, sipKey, sipOut } = require('../dist/gpss/siphash');
const { JobKeyIndex, RepeatedKeyError, DEFAULT_JOB_KEY_LIMIT } = require('../dist/gpss/key-index');
const { FingerprintSet } = require('../dist/gpss/fingerprint-set');
const { describeKey } = require('../dist/gpss/key-text');
const { rowKeyReader } = require('../dist/gpss/collapse');
const { createRowEncoder } = require('../dist/gpss/value-mapping');
const { encodeRow } = require('./support/row-oracle');

const latin1 = (bytes) => Buffer.from(bytes).toString('latin1');
const hash = (key, bytes) => {
  sipHash24(key, latin1(bytes));
  return (BigInt(sipOut.hi) << 32n) | BigInt(sipOut.lo);
};

// Reference vectors (SipHash paper, veorq/SipHash vectors.h): key 00..0f, message 00..(n-1).
const REFERENCE_KEY = sipKey(Uint8Array.from({ length: 16 }, (_, i) => i));
const VECTORS = {
  0: '310e0edd47db6f72', 1: 'fd67dc93c539f874', 2: '5a4fa9d909806c0d', 3: '2d7efbd796666785', 4: 'b7877127e09427cf',
  5: '8da699cd64557618', 6: 'cee3fe586e46c9cb', 7: '37d1018bf50002ab', 8: '6224939a79f5f593', 9: 'b0e4a90bdf82009e',
  15: 'e545be4961ca29a1',
};

test('SipHash-2-4: the reference vectors (output bytes little-endian)', () => {
  for (const [n, hex] of Object.entries(VECTORS)) {
    const want = Buffer.from(hex, 'hex').readBigUInt64LE(0);
    assert.equal(hash(REFERENCE_KEY, Array.from({ length: Number(n) }, (_, i) => i)), want, `message of ${n} bytes`);
  }
});

// A straightforward BigInt SipHash-2-4: the oracle for random keys and messages of every length.
function sipOracle(k, m) {
  const M = (1n << 64n) - 1n;
  const rotl = (x, b) => ((x << BigInt(b)) | (x >> BigInt(64 - b))) & M;
  const k0 = Buffer.from(k).readBigUInt64LE(0);
  const k1 = Buffer.from(k).readBigUInt64LE(8);
  let v0 = k0 ^ 0x736f6d6570736575n, v1 = k1 ^ 0x646f72616e646f6dn, v2 = k0 ^ 0x6c7967656e657261n, v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & M; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 = (v2 + v3) & M; v3 = rotl(v3, 16); v3 ^= v2;
    v0 = (v0 + v3) & M; v3 = rotl(v3, 21); v3 ^= v0;
    v2 = (v2 + v1) & M; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  };
  const padded = Buffer.alloc(Math.floor(m.length / 8) * 8 + 8);
  Buffer.from(m).copy(padded);
  padded[padded.length - 1] = m.length & 0xff;
  for (let i = 0; i < padded.length; i += 8) {
    const w = padded.readBigUInt64LE(i);
    v3 ^= w; round(); round(); v0 ^= w;
  }
  v2 ^= 0xffn;
  round(); round(); round(); round();
  return v0 ^ v1 ^ v2 ^ v3;
}

test('SipHash-2-4: equal to a BigInt implementation for random keys and messages of 0–300 bytes', () => {
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (let n = 0; n <= 300; n++) {
    const k = Array.from({ length: 16 }, rnd);
    const m = Array.from({ length: n }, rnd);
    assert.equal(hash(sipKey(Uint8Array.from(k)), m), sipOracle(k, m), `message of ${n} bytes`);
  }
  assert.throws(() => sipKey(new Uint8Array(8)), /16 bytes, not 8/);
});

test('FingerprintSet: adds and finds 200,000 fingerprints across its growth, as a Set does; (0,0) is a value too', () => {
  const set = new FingerprintSet(16);
  const oracle = new Set();
  let seed = 7;
  const u32 = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
  for (let i = 0; i < 200000; i++) {
    // Few distinct hi values so that slots (chosen by lo) and pairs both repeat.
    const hi = u32() >>> 24;
    const lo = (u32() >>> 14) + 1; // never (0, 0): that pair is stored as (0, 1), tested below
    const key = `${hi}:${lo}`;
    assert.equal(set.add(hi, lo), !oracle.has(key));
    oracle.add(key);
  }
  assert.equal(set.size, oracle.size);
  for (const key of [...oracle].slice(0, 5000)) {
    const [hi, lo] = key.split(':').map(Number);
    assert.ok(set.has(hi, lo));
  }
  assert.equal(set.has(0x100, 0), false, 'a hi value never added');
  // At most half full, a power of two: 8 bytes a slot.
  const slots = set.bytes / 8;
  assert.equal(slots & (slots - 1), 0);
  assert.ok(set.size * 2 <= slots && set.size * 4 >= slots, `${set.size} in ${slots} slots`);
  assert.ok(set.size > 150000, `${set.size} distinct`);
  const zero = new FingerprintSet();
  assert.equal(zero.has(0, 0), false);
  assert.equal(zero.add(0, 0), true);
  assert.equal(zero.has(0, 0), true);
  assert.equal(zero.add(0, 0), false);
});

const columns = [
  { name: 'id', databaseType: 'int8' },
  { name: 'day', databaseType: 'timestamp' },
  { name: 'val', databaseType: 'text' },
];
const enc = createRowEncoder(columns);
const row = (id, val, day = '2024-01-02T03:04:05Z') => enc.encodeObject({ id, day, val });
const FIXED_KEY = Uint8Array.from({ length: 16 }, (_, i) => 255 - i);

function index(options = {}) {
  const stops = [];
  const keys = new JobKeyIndex({ keyOf: rowKeyReader([0]), matchColumns: ['id'], limit: 1000, hashKey: FIXED_KEY, stopped: (t) => stops.push(t), ...options });
  return { keys, stops };
}

test('JobKeyIndex: rows of one message collapse to the last per key; a later message repeating a key is refused whole, naming it', () => {
  const { keys, stops } = index();
  const m1 = [row(1, 'a'), row(2, 'b'), row(1, 'a2'), row(null, 'n'), row(null, 'n2')];
  const a1 = keys.admit(m1);
  assert.deepEqual(a1.rows, [m1[1], m1[2], m1[3], m1[4]], 'the last row of key 1 in its place; NULL keys all kept');
  assert.equal(a1.collapsed, 1);
  a1.record();
  assert.equal(keys.keys, 2);
  // Message 2 repeats key 2 (its row 1) among new keys: nothing of it is remembered.
  const m2 = [row(3, 'c'), row(2, 'b2'), row(4, 'd')];
  assert.throws(
    () => keys.admit(m2),
    (err) => {
      assert.ok(err instanceof RepeatedKeyError);
      assert.equal(err.code, 'KEY_ALREADY_WRITTEN');
      assert.equal(err.key, '(id)=(2)');
      assert.deepEqual(err.rows, [1]);
      assert.match(err.message, /^key \(id\)=\(2\) was already written in this job; Merge\/Update in job mode updates a key once per job — commit in between .* or use stream mode\. No row of this message was written$/);
      return true;
    },
  );
  assert.equal(keys.keys, 2);
  // Its new keys were not taken: a later message may write them.
  const a3 = keys.admit([row(3, 'c'), row(4, 'd')]);
  a3.record();
  assert.equal(keys.keys, 4);
  // The rows reported are the message's own indexes, also through a collapse.
  const m4 = [row(9, 'x'), row(1, 'again'), row(9, 'y'), row(3, 'again')];
  assert.throws(() => keys.admit(m4), (err) => err.key === '(id)=(1)' && err.rows.join() === '1,3' && /\(2 of its rows repeat keys/.test(err.message));
  // NULL keys are never refused, however often they come.
  keys.admit([row(null, 'n3')]).record();
  assert.deepEqual(stops, []);
  // record() belongs to its own admit().
  const stale = keys.admit([row(20, 'x')]);
  keys.admit([row(21, 'y')]);
  assert.throws(() => stale.record(), /after another admit/);
});

test('JobKeyIndex: a repeat within one message is no error (the last row wins); a fingerprint per key, random per job', () => {
  const a = new JobKeyIndex({ keyOf: rowKeyReader([0]), matchColumns: ['id'], limit: 10 });
  const b = new JobKeyIndex({ keyOf: rowKeyReader([0]), matchColumns: ['id'], limit: 10 });
  const rows = [row(5, 'x'), row(5, 'y'), row(5, 'z')];
  const got = a.admit(rows);
  assert.deepEqual(got.rows, [rows[2]]);
  got.record();
  b.admit([row(5, 'other')]).record();
  assert.throws(() => a.admit([row(5, 'w')]), RepeatedKeyError);
  assert.throws(() => b.admit([row(5, 'w')]), RepeatedKeyError);
});

test('JobKeyIndex: past the limit the check stops once, says so, and later repeats are written', () => {
  const { keys, stops } = index({ limit: 3 });
  keys.admit([row(1, 'a'), row(2, 'b')]).record();
  assert.ok(keys.checking);
  keys.admit([row(3, 'c'), row(4, 'd')]).record(); // 3 fills the index, 4 is past it
  assert.equal(keys.checking, false);
  assert.equal(keys.bytes, 0, 'the fingerprints are let go');
  assert.equal(stops.length, 1);
  assert.match(stops[0], /stopped at 3 keys .*written unchecked.*gpss-pg keeps the last row; Greenplum may fail the commit/);
  const again = keys.admit([row(1, 'a2'), row(1, 'a3')]);
  assert.equal(again.rows.length, 1, 'rows of one message still collapse');
  again.record();
  keys.admit([row(1, 'a4')]).record();
  assert.equal(stops.length, 1, 'said once');
  // Limit 0: no check at all, and that is said too (once, when the job opens).
  const off = index({ limit: 0 });
  assert.equal(off.stops.length, 1);
  assert.match(off.stops[0], /stopped at 0 keys/);
  off.keys.admit([row(1, 'a')]).record();
  off.keys.admit([row(1, 'b')]).record();
  assert.equal(off.stops.length, 1);
  assert.equal(DEFAULT_JOB_KEY_LIMIT, 2000000);
});

test('JobKeyIndex: 100,000 keys in 1,000 messages, every repeat refused and no new key refused', () => {
  const { keys } = index({ limit: 200000 });
  let refused = 0;
  for (let m = 0; m < 1000; m++) {
    const ids = Array.from({ length: 100 }, (_, k) => m * 100 + k);
    keys.admit(ids.map((id) => row(id, 'v'))).record();
    if (m % 10 === 9) {
      try {
        keys.admit([row(m * 100 + 99 + 1_000_000, 'new'), row(m * 37, 'old')]);
      } catch (err) {
        if (err instanceof RepeatedKeyError) refused++;
      }
    }
  }
  assert.equal(refused, 100);
  assert.equal(keys.keys, 100000);
  assert.ok(keys.bytes <= 32 * 100000 && keys.bytes >= 16 * 100000, `${keys.bytes} bytes`);
});

test('describeKey words keys as PostgreSQL does, for every wire type', () => {
  const key = (values, idx) => rowKeyReader(idx)(encodeRow(values));
  assert.equal(describeKey(key([{ Int32Value: -5 }], [0]), ['id']), '(id)=(-5)');
  assert.equal(describeKey(key([{ Int64Value: '-9223372036854775808' }], [0]), ['id']), '(id)=(-9223372036854775808)');
  assert.equal(
    describeKey(key([{ Int64Value: '7' }, { StringValue: 'Zürich "north"' }, { TimeStampValue: { seconds: '1704164645', nanos: 120000000 } }], [0, 1, 2]), ['id', 'region', 'at']),
    '(id, region, at)=(7, "Zürich \\"north\\"", 2024-01-02T03:04:05.12Z)',
  );
  assert.equal(describeKey(key([{ TimeStampValue: { seconds: '0', nanos: 0 } }], [0]), ['t']), '(t)=(1970-01-01T00:00:00Z)');
  assert.equal(describeKey(key([{ Float64Value: 1.5 }, { Float32Value: 0.5 }], [0, 1]), ['a', 'b']), '(a, b)=(1.5, 0.5)');
  assert.equal(describeKey(key([{ BytesValue: Buffer.from([0xde, 0xad]) }], [0]), ['b']), '(b)=(\\xdead)');
  assert.equal(describeKey(key([{ StringValue: 'x'.repeat(40) }], [0]), ['s']), `(s)=("${'x'.repeat(32)}…")`);
  assert.equal(describeKey(key([{ OtherValue: '{"a":1}' }], [0]), ['j']), '(j)=("{\\"a\\":1}")');
});
