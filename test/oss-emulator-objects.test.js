'use strict';
// Object operations through the real ali-oss 6.23 client against the emulator, in
// signature V1 and V4, addressed by IP endpoint (bucket in the Host header) and path style.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Readable, Writable } = require('node:stream');
const { useOssEmulator } = require('./support/oss');
const { crc64 } = require('../dist/oss-emulator/crc64');

const oss = useOssEmulator({ buckets: ['test-bucket', 'second-bucket'] });

const md5Upper = (buf) => crypto.createHash('md5').update(buf).digest('hex').toUpperCase();

async function rejects(promise, check) {
  try {
    await promise;
  } catch (err) {
    check(err);
    return err;
  }
  assert.fail('expected the call to fail');
}

const VARIANTS = [
  { name: 'V1 ip', opts: {} },
  { name: 'V4 ip', opts: { v4: true } },
  { name: 'V1 path', opts: { style: 'path', bucket: 'second-bucket' } },
  { name: 'V4 path', opts: { style: 'path', v4: true, bucket: 'second-bucket' } },
];

for (const { name, opts } of VARIANTS) {
  test(`${name}: put, get, ranged get, head, delete round trip`, async () => {
    const c = oss.client(opts);
    const key = `${name.replace(' ', '-')}/data.bin`;
    const body = crypto.randomBytes(300 * 1024 + 7);
    const put = await c.put(key, body, { mime: 'application/x-test', meta: { owner: 'alice' } });
    assert.equal(put.res.status, 200);
    assert.equal(put.res.headers.etag, `"${md5Upper(body)}"`);
    assert.equal(put.res.headers['x-oss-hash-crc64ecma'], crc64(body));
    assert.match(put.res.headers['x-oss-request-id'], /^[0-9A-F]{24}$/);

    const got = await c.get(key);
    assert.equal(got.res.status, 200);
    assert.ok(Buffer.compare(got.content, body) === 0, 'whole body round-trips');
    assert.equal(got.res.headers['content-type'], 'application/x-test');
    assert.equal(got.res.headers['x-oss-object-type'], 'Normal');

    const ranged = await c.get(key, { headers: { Range: 'bytes=100-199' } });
    assert.equal(ranged.res.status, 206);
    assert.equal(ranged.res.headers['content-range'], `bytes 100-199/${body.length}`);
    assert.deepEqual(ranged.content, body.subarray(100, 200));

    const head = await c.head(key);
    assert.equal(head.status, 200);
    assert.equal(Number(head.res.headers['content-length']), body.length);
    assert.equal(head.meta.owner, 'alice');
    assert.equal(head.res.headers.etag, put.res.headers.etag);

    const del = await c.delete(key);
    assert.equal(del.res.status, 204);
    await rejects(c.head(key), (err) => {
      assert.equal(err.name, 'NoSuchKeyError');
      assert.equal(err.status, 404);
    });
    await rejects(c.get(key), (err) => {
      assert.equal(err.code, 'NoSuchKey');
      assert.equal(err.status, 404);
      assert.match(err.requestId, /^[0-9A-F]{24}$/);
    });
    // Deleting a missing key is a success on OSS.
    assert.equal((await c.delete(key)).res.status, 204);
  });

  test(`${name}: putStream (chunked) and getStream`, async () => {
    const c = oss.client(opts);
    const chunks = Array.from({ length: 20 }, (_, i) => crypto.randomBytes(10_000 + i));
    const body = Buffer.concat(chunks);
    const put = await c.putStream('stream/obj.gz', Readable.from(chunks));
    assert.equal(put.res.status, 200);
    const { stream, res } = await c.getStream('stream/obj.gz');
    assert.equal(res.status, 200);
    const parts = [];
    for await (const chunk of stream) parts.push(chunk);
    assert.deepEqual(Buffer.concat(parts), body);
    assert.equal(res.headers['content-type'], 'application/gzip', 'content type from the key extension, as ali-oss sends it');
  });

  test(`${name}: unicode and special-character keys round-trip`, async () => {
    const c = oss.client(opts);
    const keys = [
      'dir/obj 1+x.csv', "bang!quote'paren()star*.txt", '中文/目录/文件.csv', 'emoji/🚀 launch.txt',
      'percent%20literal%2F.txt', 'amp&lt;<>"\'.xml', 'tab\there', 'a/..b/.c./...', '~tilde=eq;semi,comma@at$dollar#hash[br]{c}',
      'ü/é/ß/ø', 'space at end ', 'question?mark=1&x', '100%', 'back\\slash', 'dir//double//slash', 'trailing/',
    ];
    for (const key of keys) {
      const body = Buffer.from(`body of ${key}`);
      await c.put(key, body);
      const got = await c.get(key);
      assert.deepEqual(got.content, body, `content of ${JSON.stringify(key)}`);
    }
    const listed = [];
    let marker;
    do {
      const page = await c.list({ 'max-keys': 5, ...(marker ? { marker } : {}) });
      listed.push(...page.objects.map((o) => o.name));
      marker = page.nextMarker;
    } while (marker);
    for (const key of keys) assert.ok(listed.includes(key), `listed ${JSON.stringify(key)}`);
    const res = await c.deleteMulti(keys);
    assert.deepEqual(res.deleted.map((d) => d.Key).sort(), [...keys].sort());
    for (const key of keys) await rejects(c.head(key), (err) => assert.equal(err.status, 404));
  });

  test(`${name}: append with position checks`, async () => {
    const c = oss.client(opts);
    const key = `append/${name.replace(' ', '-')}.log`;
    const a = await c.append(key, Buffer.from('line 1\n'));
    assert.equal(a.nextAppendPosition, '7');
    const b = await c.append(key, Buffer.from('line 2\n'), { position: a.nextAppendPosition });
    assert.equal(b.nextAppendPosition, '14');
    assert.equal(b.res.headers['x-oss-hash-crc64ecma'], crc64(Buffer.from('line 1\nline 2\n')));
    await rejects(c.append(key, Buffer.from('x'), { position: 3 }), (err) => {
      assert.equal(err.code, 'PositionNotEqualToLength');
      assert.equal(err.status, 409);
    });
    const head = await c.head(key);
    assert.equal(head.res.headers['x-oss-object-type'], 'Appendable');
    assert.equal(head.res.headers['x-oss-next-append-position'], '14');
    assert.equal(String((await c.get(key)).content), 'line 1\nline 2\n');
    await c.put(`${key}.normal`, Buffer.from('n'));
    await rejects(c.append(`${key}.normal`, Buffer.from('x'), { position: 1 }), (err) => {
      assert.equal(err.code, 'ObjectNotAppendable');
      assert.equal(err.status, 409);
    });
  });

  test(`${name}: conditional GET and HEAD`, async () => {
    const c = oss.client(opts);
    const key = 'cond/obj';
    const put = await c.put(key, Buffer.from('conditional'));
    const etag = put.res.headers.etag;
    const past = new Date(Date.now() - 3600_000).toUTCString();
    const future = new Date(Date.now() + 3600_000).toUTCString();
    assert.equal((await c.get(key, { headers: { 'If-None-Match': etag } })).res.status, 304);
    assert.equal((await c.get(key, { headers: { 'If-Modified-Since': future } })).res.status, 304);
    assert.equal((await c.get(key, { headers: { 'If-Modified-Since': past } })).res.status, 200);
    assert.equal((await c.get(key, { headers: { 'If-Match': etag } })).res.status, 200);
    await rejects(c.get(key, { headers: { 'If-Match': '"0123"' } }), (err) => {
      assert.equal(err.status, 412);
      assert.equal(err.code, 'PreconditionFailed');
    });
    await rejects(c.get(key, { headers: { 'If-Unmodified-Since': past } }), (err) => assert.equal(err.status, 412));
    await rejects(c.head(key, { headers: { 'If-Match': '"0123"' } }), (err) => {
      assert.equal(err.status, 412);
      assert.equal(err.name, 'PreconditionFailedError');
    });
  });
}

test('dot-segment keys: the client normalises the URL path, so OSS sees a key other than the one signed', async () => {
  // ali-oss (urllib) resolves `a/../b` to `/b` on the wire while signing `a/../b`: real OSS
  // rejects that too. Exporters must never build keys with `.`/`..` segments.
  const c = oss.client();
  await rejects(c.put('a/../b/./c', Buffer.from('x')), (err) => {
    assert.equal(err.status, 403);
    assert.equal(err.code, 'SignatureDoesNotMatch');
  });
  const last = oss.emu.requests().at(-1);
  assert.equal(last.key, 'b/c');
});

test('ranges: suffix, open-ended, clamped, malformed and unsatisfiable', async () => {
  const c = oss.client({ v4: true });
  const body = Buffer.from('0123456789abcdefghij');
  await c.put('range/obj', body);
  const get = (range) => c.get('range/obj', { headers: { Range: range } });
  let r = await get('bytes=-5');
  assert.equal(r.res.status, 206);
  assert.equal(String(r.content), 'fghij');
  r = await get('bytes=15-');
  assert.equal(String(r.content), 'fghij');
  assert.equal(r.res.headers['content-range'], 'bytes 15-19/20');
  r = await get('bytes=18-100');
  assert.equal(String(r.content), 'ij');
  assert.equal(r.res.headers['content-range'], 'bytes 18-19/20');
  r = await get('bytes=0-1,5-6');
  assert.equal(r.res.status, 200, 'multiple ranges: whole object');
  assert.deepEqual(r.content, body);
  r = await get('bytes=x-y');
  assert.equal(r.res.status, 200, 'malformed range: whole object');
  await rejects(get('bytes=20-30'), (err) => {
    assert.equal(err.status, 416);
    assert.equal(err.code, 'InvalidRange');
  });
});

test('get into a writable stream, and an empty object', async () => {
  const c = oss.client();
  await c.put('empty', Buffer.alloc(0));
  const head = await c.head('empty');
  assert.equal(head.res.headers['content-length'], '0');
  assert.equal(head.res.headers.etag, '"D41D8CD98F00B204E9800998ECF8427E"');
  assert.equal(head.res.headers['x-oss-hash-crc64ecma'], '0');
  const body = crypto.randomBytes(50_000);
  await c.put('to-writable', body);
  const chunks = [];
  const sink = new Writable({ write(chunk, _e, cb) { chunks.push(chunk); cb(); } });
  await c.get('to-writable', sink);
  assert.deepEqual(Buffer.concat(chunks), body);
});

test('bad Content-MD5 is rejected with InvalidDigest and stores nothing', async () => {
  const c = oss.client();
  await rejects(c.put('digest/bad', Buffer.from('payload'), { headers: { 'Content-MD5': crypto.createHash('md5').update('other').digest('base64') } }), (err) => {
    assert.equal(err.status, 400);
    assert.equal(err.code, 'InvalidDigest');
  });
  await rejects(c.head('digest/bad'), (err) => assert.equal(err.status, 404));
});

test('x-oss-forbid-overwrite refuses to replace an object', async () => {
  const c = oss.client({ v4: true });
  await c.put('forbid/obj', Buffer.from('first'));
  await rejects(c.put('forbid/obj', Buffer.from('second'), { headers: { 'x-oss-forbid-overwrite': 'true' } }), (err) => {
    assert.equal(err.status, 409);
    assert.equal(err.code, 'FileAlreadyExists');
  });
  assert.equal(String((await c.get('forbid/obj')).content), 'first');
});

test('deleteMulti quiet mode and missing keys', async () => {
  const c = oss.client({ v4: true });
  await c.put('multi/a', Buffer.from('a'));
  await c.put('multi/b', Buffer.from('b'));
  const loud = await c.deleteMulti(['multi/a', 'multi/missing']);
  assert.deepEqual(loud.deleted.map((d) => d.Key).sort(), ['multi/a', 'multi/missing']);
  const quiet = await c.deleteMulti(['multi/b'], { quiet: true });
  assert.deepEqual(quiet.deleted, []);
  const left = await c.listV2({ prefix: 'multi/' });
  assert.equal(left.keyCount, 0);
});

test('unknown bucket: NoSuchBucket; unsupported operation: NotImplemented', async () => {
  const c = oss.client({ bucket: 'no-such-bucket' });
  await rejects(c.put('k', Buffer.from('x')), (err) => {
    assert.equal(err.status, 404);
    assert.equal(err.code, 'NoSuchBucket');
  });
  const ok = oss.client();
  await ok.put('acl/obj', Buffer.from('x'));
  await rejects(ok.getACL('acl/obj'), (err) => {
    assert.equal(err.status, 501);
    assert.equal(err.code, 'NotImplemented');
  });
});

test('cname-style endpoint addresses the default bucket', async () => {
  const c = oss.client({ style: 'cname', v4: true });
  await c.put('cname/obj', Buffer.from('via cname'));
  const viaIp = oss.client();
  assert.equal(String((await viaIp.get('cname/obj')).content), 'via cname');
});

test('malformed request XML → 400 MalformedXML; keys list in UTF-8 byte order', async () => {
  const c = oss.client();
  for (const content of ['<Delete><Object><Key>a</Key></Object>', '<NotDelete/>', '<Delete><Quiet>false</Quiet></Delete>']) {
    await rejects(c.request({ method: 'POST', bucket: oss.bucket, subres: { delete: '' }, mime: 'xml', content, successStatuses: [200] }), (err) => {
      assert.equal(err.status, 400);
      assert.equal(err.code, 'MalformedXML');
    });
  }
  const keys = ['order/\u{1F600}', 'order/\uE000', 'order/z', 'order/\u00E9'];
  for (const k of keys) await c.put(k, Buffer.from(k));
  const listed = (await c.list({ prefix: 'order/' })).objects.map((o) => o.name);
  assert.deepEqual(listed, ['order/z', 'order/\u00E9', 'order/\uE000', 'order/\u{1F600}']);
});
