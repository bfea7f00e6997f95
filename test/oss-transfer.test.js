'use strict';
// Multipart upload from streams and resumable, gzip-sniffing download, against the emulator
// with the real ali-oss client.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const zlib = require('node:zlib');
const { Readable } = require('node:stream');
const { useOssEmulator } = require('./support/oss');
const {
  uploadStream, MultipartUploadStream, readObject, readObjects, listObjects, isGzipMagic, isRetryableOssError, withRetry, OssOperationError,
} = require('../dist/oss');

const oss = useOssEmulator();
const KB = 1024;
const PART = 100 * KB;

function chunks(buf, size = 7777) {
  const out = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return Readable.from(out);
}
async function readAll(stream) {
  const parts = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

/** A real ali-oss client whose uploadPart calls are counted (in flight and maximum). */
function countingClient() {
  const c = oss.client();
  const stats = { inflight: 0, max: 0, parts: 0 };
  const orig = c.uploadPart.bind(c);
  c.uploadPart = async (...args) => {
    stats.inflight++;
    stats.max = Math.max(stats.max, stats.inflight);
    stats.parts++;
    try {
      return await orig(...args);
    } finally {
      stats.inflight--;
    }
  };
  return { c, stats };
}

for (const size of [0, 1, PART - 1, PART, PART + 1, 5 * PART + 3]) {
  test(`upload of ${size} bytes of unknown length: content, ETag, part count`, async () => {
    const body = crypto.randomBytes(size);
    const { c, stats } = countingClient();
    const key = `up/size-${size}.bin`;
    const r = await uploadStream(c, key, chunks(body), { partSize: PART, parallel: 2, mime: 'application/x-test' });
    assert.equal(r.key, key);
    assert.equal(r.bytes, size);
    const expectedParts = size <= PART - 1 ? 0 : Math.ceil(size / PART);
    assert.equal(r.parts, expectedParts, 'a single PUT below one part, multipart otherwise');
    assert.equal(stats.parts, expectedParts);
    const got = await c.get(key);
    assert.ok(got.content.equals(body));
    assert.equal(got.res.headers['content-type'], 'application/x-test');
    const head = await c.head(key);
    assert.equal(r.etag, head.res.headers.etag.replace(/"/g, ''));
    if (expectedParts) assert.match(r.etag, new RegExp(`-${expectedParts}$`));
  });
}

test('in-flight parts stay within the limit and the producer is held back', async () => {
  const { c, stats } = countingClient();
  const sink = new MultipartUploadStream(c, 'up/bounded.bin', { partSize: PART, parallel: 3 });
  const body = crypto.randomBytes(40 * PART);
  await new Promise((resolve, reject) => chunks(body, 64 * KB).pipe(sink).on('finish', resolve).on('error', reject));
  const r = await sink.result;
  assert.equal(r.parts, 40);
  assert.ok(stats.max <= 3 && stats.max >= 2, `max in flight ${stats.max}`);
  assert.ok((await c.get('up/bounded.bin')).content.equals(body));
});

test('transient 5xx and resets are retried; the object is complete', async () => {
  oss.emu.setFaults({ rate: 1, kinds: ['503', '500', 'reset'], limit: 4 });
  try {
    const body = crypto.randomBytes(3 * PART + 10);
    const retries = [];
    const r = await uploadStream(oss.client(), 'up/retried.bin', chunks(body), { partSize: PART, parallel: 2, retry: { baseDelayMs: 10 } });
    assert.equal(r.bytes, body.length);
    assert.ok((await oss.client().get('up/retried.bin')).content.equals(body));
    await withRetry(async (attempt) => {
      retries.push(attempt);
      if (attempt < 3) throw Object.assign(new Error('boom'), { status: 503 });
    }, { operation: 'Test' }, { baseDelayMs: 1 });
    assert.deepEqual(retries, [1, 2, 3]);
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
  assert.deepEqual(await oss.emu.listMultipartUploads(oss.bucket), []);
});

test('client errors are not retried and never show the secret', async () => {
  const bad = oss.client({ accessKeySecret: 'definitely-wrong-secret' });
  await assert.rejects(uploadStream(bad, 'up/denied.bin', chunks(crypto.randomBytes(10)), { partSize: PART }), (e) => {
    assert.ok(e instanceof OssOperationError);
    assert.equal(e.details.attempts, 1);
    assert.equal(e.details.status, 403);
    assert.match(e.message, /^OSS PutObject of "up\/denied\.bin" failed: SignatureDoesNotMatchError, status 403/);
    assert.ok(!e.message.includes('definitely-wrong-secret') && !e.message.includes(oss.accessKeySecret));
    return true;
  });
  assert.throws(() => new MultipartUploadStream(oss.client(), 'k', { partSize: 1000 }), /partSize must be an integer ≥ 102400/);
});

test('error classification', () => {
  const yes = [{ status: -1 }, { status: -2 }, { status: 500 }, { status: 503 }, { status: 200 }, { name: 'ResponseTimeoutError' }, { name: 'ConnectionTimeoutError' },
    { code: 'ECONNRESET' }, { name: 'RequestError' }, { status: 400, code: 'RequestTimeout' }, { status: 429 }, new Error('socket hang up')];
  const no = [{ status: 403, code: 'SignatureDoesNotMatch' }, { status: 404, code: 'NoSuchKey' }, { status: 400, code: 'InvalidArgument' }, { status: 409 }, null];
  for (const e of yes) assert.equal(isRetryableOssError(e), true, JSON.stringify(e));
  for (const e of no) assert.equal(isRetryableOssError(e), false, JSON.stringify(e));
});

test('download: gzip detected by magic bytes, not by name; plain bytes pass through', async () => {
  const c = oss.client();
  const text = Buffer.from('a,b\n'.repeat(50000));
  await c.put('dl/no-suffix', zlib.gzipSync(text));
  await c.put('dl/looks-gzipped.gz', text);
  await c.put('dl/empty', Buffer.alloc(0));
  await c.put('dl/one', Buffer.from('x'));
  assert.ok((await readAll(readObject(c, 'dl/no-suffix'))).equals(text));
  assert.ok((await readAll(readObject(c, 'dl/looks-gzipped.gz'))).equals(text));
  assert.equal((await readAll(readObject(c, 'dl/empty'))).length, 0);
  assert.equal((await readAll(readObject(c, 'dl/one'))).toString(), 'x');
  assert.ok((await readAll(readObject(c, 'dl/no-suffix', { gunzip: 'never' }))).equals(zlib.gzipSync(text)));
  // Multi-member gzip (concatenated streams) is read whole on our side.
  await c.put('dl/multi', Buffer.concat([zlib.gzipSync(text), zlib.gzipSync(text)]));
  assert.equal((await readAll(readObject(c, 'dl/multi'))).length, 2 * text.length);
  assert.equal(isGzipMagic(Buffer.from([0x1f, 0x8b, 8])), true);
  assert.equal(isGzipMagic(Buffer.from([0x1f])), false);
});

test('download resumes with a ranged GET after truncated and slow bodies', async () => {
  const c = oss.client();
  const body = crypto.randomBytes(3 * 1024 * 1024 + 17);
  await c.put('dl/big.bin', body);
  oss.emu.setFaults({ rate: 1, kinds: ['truncate'], limit: 3 });
  try {
    let raw = 0;
    const got = await readAll(readObject(c, 'dl/big.bin', { retry: { baseDelayMs: 5 }, onBytes: (n) => { raw += n; } }));
    assert.ok(got.equals(body));
    assert.equal(raw, body.length, 'no byte downloaded twice');
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
  const gz = zlib.gzipSync(body, { level: 1 });
  await c.put('dl/big-gz', gz);
  oss.emu.setFaults({ rate: 1, kinds: ['truncate', 'reset', '503'], limit: 4 });
  try {
    assert.ok((await readAll(readObject(c, 'dl/big-gz', { retry: { baseDelayMs: 5 } }))).equals(body));
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
});

test('download of a missing key fails at once with NoSuchKey', async () => {
  await assert.rejects(readAll(readObject(oss.client(), 'dl/missing')), (e) => {
    assert.equal(e.details.status, 404);
    assert.match(e.message, /^OSS GetObject of "dl\/missing" failed at byte 0: NoSuchKeyError, status 404/);
    return true;
  });
});

test('listing pages through listV2, skips folder keys, and can stay at one level', async () => {
  const c = oss.client();
  const keys = [];
  for (let i = 0; i < 7; i++) keys.push(`ls/p/obj-${i}.csv`);
  for (const k of [...keys, 'ls/p/sub/deep.csv', 'ls/p/folder/', 'ls/other.csv']) await c.put(k, Buffer.from(k));
  const all = await listObjects(c, 'ls/p/', { pageSize: 2 });
  assert.deepEqual(all.map((o) => o.key), [...keys, 'ls/p/sub/deep.csv']);
  assert.ok(all.every((o) => o.size > 0 && /^[0-9A-F]+$/i.test(o.etag)));
  const direct = await listObjects(c, 'ls/p/', { pageSize: 3, directOnly: true });
  assert.deepEqual(direct.map((o) => o.key), keys);
  // readObjects yields streams in order, with read-ahead.
  const seen = [];
  for await (const { object, stream } of readObjects(c, direct, { parallel: 3 })) seen.push([object.key, (await readAll(stream)).toString()]);
  assert.deepEqual(seen, keys.map((k) => [k, k]));
});

test('a body that stalls is abandoned after the idle timeout and resumed with a range', async () => {
  const c = oss.client();
  const body = crypto.randomBytes(600 * KB);
  await c.put('dl/stall.bin', body);
  // 'slow' trickles 16 KiB/s in slices 50 ms apart: gaps longer than the 25 ms idle limit,
  // so the reader abandons that response and resumes from the byte reached.
  oss.emu.setFaults({ rate: 1, kinds: ['slow'], limit: 1, slowBytesPerSecond: 16 * KB, slowDelayMs: 0 });
  try {
    const t0 = Date.now();
    const got = await readAll(readObject(c, 'dl/stall.bin', { idleTimeoutMs: 25, retry: { baseDelayMs: 5 } }));
    assert.ok(got.equals(body));
    assert.ok(Date.now() - t0 < 20000, 'did not wait for the whole trickle (about 37 s)');
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
});

test('a Complete whose answer is lost is recognised on retry (NoSuchUpload + the object exists)', async () => {
  const body = crypto.randomBytes(3 * PART);
  oss.emu.setFaults({ rate: 1, kinds: ['truncate'], limit: 1, match: (info) => info.operation === 'CompleteMultipartUpload' });
  try {
    const r = await uploadStream(oss.client(), 'up/complete-lost.bin', chunks(body), { partSize: PART, retry: { baseDelayMs: 5 } });
    assert.equal(r.parts, 3);
    assert.match(r.etag, /-3$/);
    assert.ok((await oss.client().get('up/complete-lost.bin')).content.equals(body));
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
});

test('a Complete whose answer is lost, then a failing HEAD while checking it: the check is retried, the upload succeeds', async () => {
  const body = crypto.randomBytes(3 * PART);
  // The Complete happens but its answer is lost; then the HEAD that looks for the object gets a
  // 503 once. (Before: that HEAD failure ended the upload with NoSuchUpload.)
  oss.emu.setFaults({
    rate: 1,
    kinds: ['truncate'],
    limit: 1,
    match: (info) => {
      if (info.operation !== 'CompleteMultipartUpload') return false;
      queueMicrotask(() => oss.emu.setFaults({ rate: 1, kinds: ['503'], limit: 1, match: (i) => i.operation === 'HeadObject' }));
      return true;
    },
  });
  try {
    const r = await uploadStream(oss.client(), 'up/complete-lost-head-503.bin', chunks(body), { partSize: PART, retry: { baseDelayMs: 5 } });
    assert.equal(r.parts, 3);
    assert.ok((await oss.client().get('up/complete-lost-head-503.bin')).content.equals(body));
    assert.ok(oss.emu.requests().some((q) => q.operation === 'HeadObject' && q.fault === '503'), 'the HEAD fault was injected');
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
});

test('an Initiate whose answer is lost leaves no stray upload behind', async () => {
  const body = crypto.randomBytes(2 * PART + 1);
  oss.emu.setFaults({ rate: 1, kinds: ['truncate'], limit: 1, match: (info) => info.operation === 'InitiateMultipartUpload' });
  try {
    const r = await uploadStream(oss.client(), 'up/init-lost.bin', chunks(body), { partSize: PART, retry: { baseDelayMs: 5 } });
    assert.equal(r.parts, 3);
    assert.ok((await oss.client().get('up/init-lost.bin')).content.equals(body));
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
  assert.deepEqual(await oss.emu.listMultipartUploads(oss.bucket), []);
});
