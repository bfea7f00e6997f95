'use strict';
// Multipart uploads through ali-oss: 100 parts uploaded concurrently, part validation at
// Complete (InvalidPart, InvalidPartOrder, EntityTooSmall), abort, ListParts and
// ListMultipartUploads, multipart ETag and CRC-64 as OSS reports them.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useOssEmulator } = require('./support/oss');
const { crc64 } = require('../dist/oss-emulator/crc64');

const oss = useOssEmulator({ buckets: ['test-bucket', 'path-bucket'] });

async function rejects(promise, check) {
  try {
    await promise;
  } catch (err) {
    check(err);
    return err;
  }
  assert.fail('expected the call to fail');
}

const md5 = (buf) => crypto.createHash('md5').update(buf).digest();

for (const v4 of [false, true]) {
  const sig = v4 ? 'V4' : 'V1';

  test(`${sig}: 100 parts uploaded concurrently (out of order) complete into one object`, async () => {
    const c = oss.client({ v4 });
    const key = `mp/${sig}/big file.bin`;
    const partSize = 100 * 1024;
    const parts = Array.from({ length: 100 }, (_, i) => crypto.randomBytes(i === 99 ? 1234 : partSize));
    const { uploadId } = await c.initMultipartUpload(key, { mime: 'application/x-big' });
    assert.match(uploadId, /^[0-9A-F]{32}$/);
    // Reverse order, 20 in flight: parts arrive out of order and concurrently.
    const order = parts.map((_, i) => i).reverse();
    const done = [];
    await Promise.all(Array.from({ length: 20 }, async () => {
      for (let i = order.shift(); i !== undefined; i = order.shift()) {
        const r = await c.uploadPart(key, uploadId, i + 1, parts[i], 0, parts[i].length);
        assert.equal(r.etag, `"${md5(parts[i]).toString('hex').toUpperCase()}"`);
        done.push({ number: i + 1, etag: r.etag });
      }
    }));
    const listed = await c.listParts(key, uploadId, { 'max-parts': 1000 });
    assert.equal(listed.parts.length, 100);
    assert.equal(listed.parts[0].PartNumber, '1');
    assert.equal(Number(listed.parts[99].Size), 1234);
    const { uploads } = await c.listUploads({ prefix: `mp/${sig}/` });
    assert.deepEqual(uploads.map((u) => u.uploadId), [uploadId]);

    const complete = await c.completeMultipartUpload(key, uploadId, done); // ali-oss sorts them
    const whole = Buffer.concat(parts);
    const expectedEtag = `"${md5(Buffer.concat(parts.map(md5))).toString('hex').toUpperCase()}-100"`;
    assert.equal(complete.etag, expectedEtag);
    assert.equal(complete.res.headers['x-oss-hash-crc64ecma'], crc64(whole));
    const head = await c.head(key);
    assert.equal(Number(head.res.headers['content-length']), whole.length);
    assert.equal(head.res.headers['x-oss-object-type'], 'Multipart');
    assert.equal(head.res.headers['content-type'], 'application/x-big');
    const got = await c.get(key);
    assert.ok(Buffer.compare(got.content, whole) === 0, 'content is the parts in order');
    const tail = await c.get(key, { headers: { Range: `bytes=${whole.length - 2000}-` } });
    assert.deepEqual(tail.content, whole.subarray(whole.length - 2000));
    assert.deepEqual(await oss.emu.listMultipartUploads(oss.bucket).then((l) => l.filter((u) => u.key === key)), []);
    await rejects(c.uploadPart(key, uploadId, 1, parts[0], 0, 10), (err) => {
      assert.equal(err.status, 404);
      assert.equal(err.code, 'NoSuchUpload');
    });
  });

  test(`${sig}: Complete validates parts: InvalidPart, InvalidPartOrder, EntityTooSmall`, async () => {
    const c = oss.client({ v4 });
    const key = `mp/${sig}/invalid`;
    const { uploadId } = await c.initMultipartUpload(key);
    const big = crypto.randomBytes(100 * 1024);
    const small = Buffer.from('tiny');
    const p1 = await c.uploadPart(key, uploadId, 1, big, 0, big.length);
    const p2 = await c.uploadPart(key, uploadId, 2, small, 0, small.length);
    const p3 = await c.uploadPart(key, uploadId, 3, small, 0, small.length);
    await rejects(c.completeMultipartUpload(key, uploadId, [{ number: 1, etag: p1.etag }, { number: 2, etag: '"0123456789ABCDEF0123456789ABCDEF"' }]), (err) => {
      assert.equal(err.status, 400);
      assert.equal(err.code, 'InvalidPart');
    });
    await rejects(c.completeMultipartUpload(key, uploadId, [{ number: 1, etag: p1.etag }, { number: 7, etag: p2.etag }]), (err) => {
      assert.equal(err.code, 'InvalidPart', 'a part never uploaded');
    });
    // ali-oss sorts parts itself, so send an unsorted list by calling the raw request.
    const body = '<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload>'
      + `<Part><PartNumber>2</PartNumber><ETag>${p2.etag}</ETag></Part>`
      + `<Part><PartNumber>1</PartNumber><ETag>${p1.etag}</ETag></Part></CompleteMultipartUpload>`;
    await rejects(c.request({ method: 'POST', bucket: oss.bucket, object: key, subres: { uploadId }, mime: 'xml', content: body, successStatuses: [200] }), (err) => {
      assert.equal(err.status, 400);
      assert.equal(err.code, 'InvalidPartOrder');
    });
    await rejects(c.completeMultipartUpload(key, uploadId, [{ number: 2, etag: p2.etag }, { number: 3, etag: p3.etag }]), (err) => {
      assert.equal(err.status, 400);
      assert.equal(err.code, 'EntityTooSmall');
    });
    await rejects(c.head(key), (err) => assert.equal(err.status, 404, 'no object before a successful Complete'));
    // Gaps are allowed; a small last part is fine; quoted or unquoted ETags compare equal.
    const ok = await c.completeMultipartUpload(key, uploadId, [{ number: 1, etag: p1.etag }, { number: 3, etag: p3.etag.replace(/"/g, '') }]);
    assert.match(ok.etag, /^"[0-9A-F]{32}-2"$/);
    assert.deepEqual((await c.get(key)).content, Buffer.concat([big, small]));
  });

  test(`${sig}: abort discards the upload; unknown ids get NoSuchUpload`, async () => {
    const c = oss.client({ v4 });
    const key = `mp/${sig}/aborted`;
    const { uploadId } = await c.initMultipartUpload(key);
    await c.uploadPart(key, uploadId, 1, Buffer.alloc(1000, 1), 0, 1000);
    assert.ok((await oss.emu.listMultipartUploads(oss.bucket)).some((u) => u.uploadId === uploadId));
    const res = await c.abortMultipartUpload(key, uploadId);
    assert.equal(res.res.status, 204);
    assert.ok(!(await oss.emu.listMultipartUploads(oss.bucket)).some((u) => u.uploadId === uploadId));
    await rejects(c.abortMultipartUpload(key, uploadId), (err) => assert.equal(err.code, 'NoSuchUpload'));
    await rejects(c.completeMultipartUpload(key, uploadId, [{ number: 1, etag: '"x"' }]), (err) => {
      assert.equal(err.status, 404);
      assert.equal(err.code, 'NoSuchUpload');
    });
    await rejects(c.listParts(key, 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF'), (err) => assert.equal(err.code, 'NoSuchUpload'));
    await rejects(c.head(key), (err) => assert.equal(err.status, 404));
  });
}

test('multipartUpload (managed, from a Buffer) with progress, and part number bounds', async () => {
  const c = oss.client();
  const data = crypto.randomBytes(1024 * 1024 + 5);
  const progress = [];
  const r = await c.multipartUpload('mp/managed.bin', data, { partSize: 256 * 1024, parallel: 4, progress: (p) => { progress.push(p); } });
  assert.equal(r.res.status, 200);
  assert.equal(progress.at(-1), 1);
  assert.deepEqual((await c.get('mp/managed.bin')).content, data);
  const { uploadId } = await c.initMultipartUpload('mp/bounds');
  await rejects(c.uploadPart('mp/bounds', uploadId, 10001, Buffer.alloc(1), 0, 1), (err) => {
    assert.equal(err.status, 400);
    assert.equal(err.code, 'InvalidArgument');
  });
  // Re-uploading a part number replaces it.
  const a = await c.uploadPart('mp/bounds', uploadId, 1, Buffer.from('first'), 0, 5);
  const b = await c.uploadPart('mp/bounds', uploadId, 1, Buffer.from('second'), 0, 6);
  assert.notEqual(a.etag, b.etag);
  await rejects(c.completeMultipartUpload('mp/bounds', uploadId, [{ number: 1, etag: a.etag }]), (err) => assert.equal(err.code, 'InvalidPart'));
  await c.completeMultipartUpload('mp/bounds', uploadId, [{ number: 1, etag: b.etag }]);
  assert.equal(String((await c.get('mp/bounds')).content), 'second');
});

test('x-oss-complete-all: yes completes with every uploaded part', async () => {
  const c = oss.client({ v4: true });
  const { uploadId } = await c.initMultipartUpload('mp/complete-all');
  const a = crypto.randomBytes(100 * 1024);
  const b = Buffer.from('tail');
  await c.uploadPart('mp/complete-all', uploadId, 2, b, 0, b.length);
  await c.uploadPart('mp/complete-all', uploadId, 1, a, 0, a.length);
  const r = await c.request({
    method: 'POST', bucket: oss.bucket, object: 'mp/complete-all', subres: { uploadId },
    headers: { 'x-oss-complete-all': 'yes' }, successStatuses: [200],
  });
  assert.match(r.res.headers.etag, /^"[0-9A-F]{32}-2"$/);
  assert.match(String(r.data), /<Location>http:\/\/test-bucket\.oss-cn-hangzhou\.aliyuncs\.com\/mp\/complete-all<\/Location>/);
  assert.match(String(r.data), /<ETag>"[0-9A-F]{32}-2"<\/ETag>/);
  assert.deepEqual((await c.get('mp/complete-all')).content, Buffer.concat([a, b]));
});

for (const v4 of [false, true]) {
  test(`path style ${v4 ? 'V4' : 'V1'}: initiate, upload, list parts and uploads, complete, abort`, async () => {
    const c = oss.client({ style: 'path', v4, bucket: 'path-bucket' });
    const key = `path/${v4 ? 'v4' : 'v1'}/obj (1).bin`;
    const a = crypto.randomBytes(100 * 1024);
    const b = crypto.randomBytes(10);
    const { uploadId } = await c.initMultipartUpload(key);
    const pa = await c.uploadPart(key, uploadId, 1, a, 0, a.length);
    const pb = await c.uploadPart(key, uploadId, 2, b, 0, b.length);
    assert.equal((await c.listParts(key, uploadId)).parts.length, 2);
    assert.deepEqual((await c.listUploads({ prefix: 'path/' })).uploads.map((u) => u.name), [key]);
    await c.completeMultipartUpload(key, uploadId, [{ number: 1, etag: pa.etag }, { number: 2, etag: pb.etag }]);
    assert.deepEqual((await c.get(key)).content, Buffer.concat([a, b]));
    const other = await c.initMultipartUpload(`${key}.2`);
    await c.abortMultipartUpload(`${key}.2`, other.uploadId);
    assert.deepEqual(await oss.emu.listMultipartUploads('path-bucket'), []);
    await rejects(oss.client().head(key), (err) => assert.equal(err.status, 404, 'the object is in path-bucket, not the default bucket'));
  });
}
