'use strict';
// Parallel gzip (pigz technique): the output must be ONE standard gzip member whose
// decompression is exactly the input, for edge sizes around the block size and multi-MB data.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const { pipeline } = require('node:stream/promises');
const { Readable, Writable } = require('node:stream');
const { ParallelGzip, GzipPool, crc32Combine } = require('../dist/oss/parallel-gzip');

const BLOCK = 64 * 1024;

function chunked(buf, size) {
  const parts = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return parts;
}

async function gzipWith(buf, opts, chunkSize = 10007) {
  const out = [];
  await pipeline(Readable.from(chunked(buf, chunkSize)), new ParallelGzip(opts), new Writable({ write(c, _e, cb) { out.push(c); cb(); } }));
  return Buffer.concat(out);
}

/** Parses the member: fixed 10-byte header, deflate data consumed exactly up to the 8-byte trailer. */
function assertSingleMember(gz, input) {
  assert.equal(gz[0], 0x1f);
  assert.equal(gz[1], 0x8b);
  assert.equal(gz[2], 8, 'CM = deflate');
  assert.equal(gz[3], 0, 'no optional header fields');
  const { buffer, engine } = zlib.inflateRawSync(gz.subarray(10), { info: true });
  assert.ok(buffer.equals(input), 'raw deflate body inflates to the input');
  assert.equal(engine.bytesWritten, gz.length - 18, 'the deflate stream ends exactly before the trailer: one member, nothing after it');
  assert.equal(gz.readUInt32LE(gz.length - 8), zlib.crc32(input), 'trailer CRC-32');
  assert.equal(gz.readUInt32LE(gz.length - 4), input.length % 2 ** 32, 'trailer ISIZE');
  assert.ok(zlib.gunzipSync(gz).equals(input), 'gunzip gives the input back');
}

function gzipT(gz) {
  const f = path.join(os.tmpdir(), `pgz-${process.pid}-${crypto.randomBytes(4).toString('hex')}.gz`);
  fs.writeFileSync(f, gz);
  try {
    return spawnSync('gzip', ['-t', f], { encoding: 'utf8' });
  } finally {
    fs.rmSync(f, { force: true });
  }
}

function compressible(n) {
  const words = ['alpha', 'beta', 'gamma', '"quoted, value"', '12345.678', '2026-11-22 10:00:00', 'ümlaut', 'NULL'];
  let s = '';
  let i = 0;
  while (s.length < n) s += `${i},${words[i % 8]},${words[(i * 7) % 8]},${i * 31}\n`, i++;
  return Buffer.from(s.slice(0, n));
}

for (const size of [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5]) {
  test(`size ${size}: single member, exact round trip, gzip -t passes`, async () => {
    const input = crypto.randomBytes(size);
    const gz = await gzipWith(input, { blockSize: BLOCK, workers: 2, level: 6 });
    assertSingleMember(gz, input);
    const r = gzipT(gz);
    assert.equal(r.status, 0, r.stderr);
  });
}

test('multi-MB random and compressible data at levels 1, 6 and 9', async () => {
  const pool = new GzipPool({ size: 2 });
  try {
    const random = crypto.randomBytes(5 * 1024 * 1024 + 123);
    const text = compressible(8 * 1024 * 1024 + 77);
    for (const level of [1, 6, 9]) {
      const gzR = await gzipWith(random, { pool, level }, 65536);
      assertSingleMember(gzR, random);
      const gzT = await gzipWith(text, { pool, level }, 65536);
      assertSingleMember(gzT, text);
      assert.equal(gzipT(gzT).status, 0);
      // Priming each block with the previous 32 KiB keeps the ratio close to single-stream gzip.
      const single = zlib.gzipSync(text, { level }).length;
      assert.ok(gzT.length < single * 1.03, `level ${level}: ${gzT.length} bytes vs ${single} for one zlib stream`);
    }
  } finally {
    await pool.close();
  }
});

test('blocks are primed with the previous 32 KiB: repeated blocks compress to almost nothing', async () => {
  const unit = crypto.randomBytes(BLOCK);
  const input = Buffer.concat([unit, unit, unit, unit]);
  // Period = BLOCK > 32 KiB window, so use a 16 KiB period instead to see the dictionary at work.
  const small = crypto.randomBytes(16 * 1024);
  const periodic = Buffer.concat(Array.from({ length: 16 }, () => small));
  const gz = await gzipWith(periodic, { blockSize: BLOCK, workers: 2 });
  assertSingleMember(gz, periodic);
  // Without a dictionary each of the 4 blocks would cost >= 16 KiB.
  assert.ok(gz.length < 16 * 1024 + 4096, `compressed ${gz.length} bytes`);
  assertSingleMember(await gzipWith(input, { blockSize: BLOCK, workers: 2 }), input);
});

test('one pool shared by concurrent streams keeps each output in order', async () => {
  const pool = new GzipPool({ size: 2 });
  try {
    const inputs = [compressible(700000), crypto.randomBytes(900000), compressible(1)];
    const outs = await Promise.all(inputs.map((b) => gzipWith(b, { pool, blockSize: 40000, level: 1 }, 3333)));
    outs.forEach((gz, i) => assertSingleMember(gz, inputs[i]));
  } finally {
    await pool.close();
  }
});

test('backpressure: an unread output bounds the input consumed', async () => {
  const gz = new ParallelGzip({ blockSize: BLOCK, workers: 2, maxInFlight: 3 });
  let produced = 0;
  const src = new Readable({
    read() {
      if (produced >= 64 * 1024 * 1024) return this.push(null);
      produced += 65536;
      this.push(crypto.randomBytes(65536));
    },
  });
  src.pipe(gz);
  await new Promise((r) => setTimeout(r, 700));
  // Nothing reads gz: readable buffer (1 MiB) + in-flight blocks + writable buffer must stop the source.
  assert.ok(gz.bytesIn < 8 * 1024 * 1024, `consumed ${gz.bytesIn} bytes with no reader`);
  assert.ok(produced < 16 * 1024 * 1024, `source produced ${produced} bytes`);
  src.unpipe(gz);
  src.destroy();
  gz.destroy();
});

test('invalid level and block size are rejected with a clear message', () => {
  assert.throws(() => new ParallelGzip({ level: 0 }), /level must be an integer 1–9/);
  assert.throws(() => new ParallelGzip({ level: 10 }), /level must be an integer 1–9/);
  assert.throws(() => new ParallelGzip({ blockSize: 1000 }), /blockSize must be at least/);
  assert.throws(() => new ParallelGzip({ windowBits: 8 }), /windowBits must be an integer 9–15, got 8/);
  assert.throws(() => new ParallelGzip({ windowBits: 16 }), /windowBits must be an integer 9–15/);
});

test('a smaller window (opt-in) still gives one standard member that gunzip and gzip -t accept', async () => {
  const text = compressible(3 * 1024 * 1024 + 11);
  for (const windowBits of [9, 13]) {
    const gz = await gzipWith(text, { blockSize: BLOCK, workers: 2, level: 6, windowBits }, 50000);
    assertSingleMember(gz, text);
    assert.equal(gzipT(gz).status, 0);
  }
  // The window really is smaller: a 16 KiB period is found with a 32 KiB window, not with 512 bytes.
  const small = crypto.randomBytes(16 * 1024);
  const periodic = Buffer.concat(Array.from({ length: 8 }, () => small));
  const wide = await gzipWith(periodic, { blockSize: BLOCK, workers: 2 });
  const narrow = await gzipWith(periodic, { blockSize: BLOCK, workers: 2, windowBits: 9 });
  assertSingleMember(narrow, periodic);
  assert.ok(narrow.length > 4 * wide.length, `windowBits 9: ${narrow.length} bytes, default: ${wide.length}`);
});

test('crc32Combine matches zlib.crc32 of the concatenation', () => {
  for (const [a, b] of [[0, 0], [1, 1], [100, 65536], [70000, 3], [5, 1048577]]) {
    const A = crypto.randomBytes(a);
    const B = crypto.randomBytes(b);
    assert.equal(crc32Combine(zlib.crc32(A), zlib.crc32(B), b), zlib.crc32(Buffer.concat([A, B])));
  }
});
