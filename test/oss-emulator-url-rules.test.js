'use strict';
// URL rules of real OSS that ali-oss alone cannot reveal, checked with raw HTTP requests
// shaped and V1-signed the way other official SDKs send them:
//  - `+` in the path and in query values is a space, `%2B` a plus. aliyun-oss-ruby-sdk builds
//    object URLs with `CGI.escape(key)` (lib/aliyun/oss/http.rb) and signs the raw key, and its
//    tests/test_object_key.rb round-trips `是 空格 yeah +-/\\&*#` against real OSS; oss2 (Python)
//    passes query parameters to `requests`, which form-encodes them (`prefix=q%2Fa+b`).
//  - `encoding-type=url` URL-encodes the documented name elements of every listing (ListObjects
//    v1/v2, ListMultipartUploads, ListParts) and of InitiateMultipartUpload, with a space as `%20`
//    and a plus as `%2B`: oss2 decodes them with `unquote`, the Go v2 and Ruby SDKs with form
//    decoding, and both must give back the same name.
// Plus an ali-oss round trip (V1, V4, virtual host and path style) of keys holding spaces,
// plus signs, percent signs and CJK characters through every operation that names a key.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const { useOssEmulator } = require('./support/oss');

const oss = useOssEmulator({ buckets: ['url-bucket'] });

/** Ruby's CGI.escape / Python's quote_plus: only `A-Za-z0-9 _ . - ~` stay, a space becomes `+`. */
function formEncode(s) {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** The two decoders the official SDKs apply to encoding-type=url fields. */
const unquote = (s) => decodeURIComponent(s); // oss2: urllib.parse.unquote
const formDecode = (s) => decodeURIComponent(s.replace(/\+/g, ' ')); // Go v2 url.QueryUnescape, Ruby CGI.unescape

/**
 * One raw request to the emulator, virtual-host addressed, signed with V1 as the Ruby SDK signs
 * (Util.get_signature: VERB, Content-MD5, Content-Type, Date, x-oss-* headers, then the
 * canonical resource `/<bucket>/<raw key>[?sub-resources]`).
 */
function send(method, pathAndQuery, { resource, body, contentType = '' }) {
  const date = new Date().toUTCString();
  const stringToSign = `${method}\n\n${contentType}\n${date}\n${resource}`;
  const signature = crypto.createHmac('sha1', oss.accessKeySecret).update(stringToSign, 'utf8').digest('base64');
  const headers = {
    host: `${oss.bucket}.oss-cn-hangzhou.aliyuncs.com`,
    date,
    authorization: `OSS ${oss.accessKeyId}:${signature}`,
    'content-length': body ? body.length : 0,
  };
  if (contentType) headers['content-type'] = contentType;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: oss.port, method, path: pathAndQuery, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const field = (xml, name) => (new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml) || [])[1];
const fields = (xml, name) => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]);
const commonPrefixes = (xml) => [...xml.matchAll(/<CommonPrefixes><Prefix>([^<]*)<\/Prefix><\/CommonPrefixes>/g)].map((m) => m[1]);
const contentKeys = (xml) => [...xml.matchAll(/<Contents><Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
const uploadKeys = (xml) => [...xml.matchAll(/<Upload><Key>([^<]*)<\/Key>/g)].map((m) => m[1]);

/** An encoded field: exactly `expected` encoded with %20 / %2B, and both SDK decoders give it back. */
function assertEncoded(actual, expected, what) {
  assert.equal(actual, encodeURIComponent(expected), what);
  assert.equal(unquote(actual), expected, `${what}: unquote`);
  assert.equal(formDecode(actual), expected, `${what}: form decoding`);
}

const NAME = '数据 file+%.csv.gz';
const KEY = `dir/${NAME}`;

test('path: `+` is a space and `%2B` a plus, as the Ruby SDK sends keys (CGI.escape), V1 signed over the raw key', async () => {
  const plusKey = 'dir/数据+file+%.csv.gz';
  assert.equal(formEncode(KEY), 'dir%2F%E6%95%B0%E6%8D%AE+file%2B%25.csv.gz');
  const put = await send('PUT', `/${formEncode(KEY)}`, { resource: `/${oss.bucket}/${KEY}`, body: Buffer.from('space'), contentType: 'text/csv' });
  assert.equal(put.status, 200, put.body);
  const putPlus = await send('PUT', `/${formEncode(plusKey)}`, { resource: `/${oss.bucket}/${plusKey}`, body: Buffer.from('plus'), contentType: 'text/csv' });
  assert.equal(putPlus.status, 200, putPlus.body);

  // ali-oss (which sends %20 and %2B) sees two distinct objects with the intended names.
  const c = oss.client();
  assert.equal(String((await c.get(KEY)).content), 'space');
  assert.equal(String((await c.get(plusKey)).content), 'plus');
  const listed = (await c.list({ prefix: 'dir/' })).objects.map((o) => o.name);
  assert.deepEqual(listed.sort(), [KEY, plusKey].sort());

  const get = await send('GET', `/${formEncode(KEY)}`, { resource: `/${oss.bucket}/${KEY}` });
  assert.equal(get.status, 200, get.body);
  assert.equal(get.body, 'space');
  const del = await send('DELETE', `/${formEncode(KEY)}`, { resource: `/${oss.bucket}/${KEY}` });
  assert.equal(del.status, 204, del.body);
  await assert.rejects(c.head(KEY), (err) => err.status === 404);
  assert.equal(String((await c.get(plusKey)).content), 'plus', 'deleting the space key left the plus key alone');

  // Signing one name while addressing the other is still caught.
  const wrong = await send('GET', `/${formEncode(plusKey)}`, { resource: `/${oss.bucket}/${KEY}` });
  assert.equal(wrong.status, 403);
  assert.equal(field(wrong.body, 'Code'), 'SignatureDoesNotMatch');
});

test('query: `+` in a value is a space (oss2 form-encodes its parameters), also in signed sub-resources', async () => {
  const c = oss.client();
  for (const k of ['q/a b1.csv', 'q/a+b2.csv', 'q/ab3.csv']) await c.put(k, Buffer.from(k));
  const spaced = await send('GET', '/?prefix=q%2Fa+b', { resource: `/${oss.bucket}/` });
  assert.equal(spaced.status, 200, spaced.body);
  assert.deepEqual(contentKeys(spaced.body), ['q/a b1.csv']);
  assert.equal(field(spaced.body, 'Prefix'), 'q/a b');
  const plussed = await send('GET', '/?prefix=q%2Fa%2Bb', { resource: `/${oss.bucket}/` });
  assert.deepEqual(contentKeys(plussed.body), ['q/a+b2.csv']);

  // A signed sub-resource: V1 signs its decoded value, and the override applies decoded.
  const disposition = 'attachment; filename=a b+c.csv';
  const got = await send('GET', `/q/ab3.csv?response-content-disposition=${formEncode(disposition)}`,
    { resource: `/${oss.bucket}/q/ab3.csv?response-content-disposition=${disposition}` });
  assert.equal(got.status, 200, got.body);
  assert.equal(got.headers['content-disposition'], disposition);
});

test('encoding-type=url, ListObjects v1: Prefix, Delimiter, Marker, NextMarker, CommonPrefixes and Key encoded', async () => {
  const c = oss.client();
  for (const k of ['enc/sub dir/x', 'enc/sub+dir/y', 'enc/z', `enc/${NAME}`]) await c.put(k, Buffer.from('x'));
  const page1 = await send('GET', '/?prefix=enc%2F&delimiter=%2F&max-keys=2&encoding-type=url', { resource: `/${oss.bucket}/` });
  assert.equal(page1.status, 200, page1.body);
  assert.equal(field(page1.body, 'EncodingType'), 'url');
  assertEncoded(field(page1.body, 'Prefix'), 'enc/', 'Prefix');
  assertEncoded(field(page1.body, 'Delimiter'), '/', 'Delimiter');
  assert.equal(field(page1.body, 'IsTruncated'), 'true');
  const cps = commonPrefixes(page1.body);
  assert.equal(cps.length, 2);
  assertEncoded(cps[0], 'enc/sub dir/', 'CommonPrefixes 1');
  assertEncoded(cps[1], 'enc/sub+dir/', 'CommonPrefixes 2');
  assertEncoded(field(page1.body, 'NextMarker'), 'enc/sub+dir/', 'NextMarker');

  // The next page: the decoded NextMarker goes back form-encoded, as oss2 sends it.
  const marker = unquote(field(page1.body, 'NextMarker'));
  const page2 = await send('GET', `/?prefix=enc%2F&delimiter=%2F&max-keys=2&encoding-type=url&marker=${formEncode(marker)}`, { resource: `/${oss.bucket}/` });
  assertEncoded(field(page2.body, 'Marker'), 'enc/sub+dir/', 'Marker');
  const keys = contentKeys(page2.body);
  assert.equal(keys.length, 2);
  assertEncoded(keys[0], 'enc/z', 'Key 1');
  assertEncoded(keys[1], `enc/${NAME}`, 'Key 2');
  assert.equal(field(page2.body, 'IsTruncated'), 'false');

  // A marker with a form-encoded space (`+`) starts after the space group, not the plus group.
  const afterSpace = await send('GET', '/?prefix=enc%2F&delimiter=%2F&encoding-type=url&marker=enc%2Fsub+dir%2F', { resource: `/${oss.bucket}/` });
  assert.deepEqual(commonPrefixes(afterSpace.body).map(unquote), ['enc/sub+dir/']);
});

test('encoding-type=url, ListObjectsV2: StartAfter, ContinuationToken and the names encoded', async () => {
  const c = oss.client();
  for (const k of ['v2/sub dir/x', 'v2/sub+dir/y', 'v2/z', `v2/${NAME}`]) await c.put(k, Buffer.from('x'));
  const page1 = await send('GET', '/?list-type=2&prefix=v2%2F&delimiter=%2F&max-keys=2&encoding-type=url&start-after=v2%2Fsub+dir%2F',
    { resource: `/${oss.bucket}/` });
  assert.equal(page1.status, 200, page1.body);
  assert.equal(field(page1.body, 'EncodingType'), 'url');
  assertEncoded(field(page1.body, 'StartAfter'), 'v2/sub dir/', 'StartAfter');
  assertEncoded(field(page1.body, 'Prefix'), 'v2/', 'Prefix');
  assertEncoded(field(page1.body, 'Delimiter'), '/', 'Delimiter');
  assert.deepEqual(commonPrefixes(page1.body), [encodeURIComponent('v2/sub+dir/')]);
  assert.deepEqual(contentKeys(page1.body), [encodeURIComponent('v2/z')]);
  assert.equal(field(page1.body, 'KeyCount'), '2');
  const token = formDecode(field(page1.body, 'NextContinuationToken'));
  assert.ok(token);

  const page2 = await send('GET', `/?list-type=2&prefix=v2%2F&delimiter=%2F&max-keys=2&encoding-type=url&continuation-token=${formEncode(token)}`,
    { resource: `/${oss.bucket}/?continuation-token=${token}` });
  assert.equal(page2.status, 200, page2.body);
  assert.equal(formDecode(field(page2.body, 'ContinuationToken')), token);
  const keys = contentKeys(page2.body);
  assert.equal(keys.length, 1);
  assertEncoded(keys[0], `v2/${NAME}`, 'Key');
});

test('encoding-type=url, multipart: InitiateMultipartUpload, ListMultipartUploads and ListParts encode the key', async () => {
  const c = oss.client();
  const keys = ['mpu/a b', 'mpu/a+b', `mpu/${NAME}`];
  const ids = {};
  for (const k of keys.slice(0, 2)) ids[k] = (await c.initMultipartUpload(k)).uploadId;

  // Initiate, raw: the Key comes back encoded.
  const init = await send('POST', `/${formEncode(keys[2])}?uploads&encoding-type=url`, { resource: `/${oss.bucket}/${keys[2]}?uploads` });
  assert.equal(init.status, 200, init.body);
  assert.equal(field(init.body, 'EncodingType'), 'url');
  assertEncoded(field(init.body, 'Key'), keys[2], 'InitiateMultipartUpload Key');
  ids[keys[2]] = field(init.body, 'UploadId');
  await c.uploadPart(keys[2], ids[keys[2]], 1, Buffer.from('part one'), 0, 8);

  const page1 = await send('GET', '/?uploads&prefix=mpu%2F&max-uploads=2&encoding-type=url', { resource: `/${oss.bucket}/?uploads` });
  assert.equal(page1.status, 200, page1.body);
  assert.equal(field(page1.body, 'EncodingType'), 'url');
  assertEncoded(field(page1.body, 'Prefix'), 'mpu/', 'Prefix');
  const listed = uploadKeys(page1.body);
  assert.equal(listed.length, 2);
  assertEncoded(listed[0], 'mpu/a b', 'Upload Key 1');
  assertEncoded(listed[1], 'mpu/a+b', 'Upload Key 2');
  assert.equal(field(page1.body, 'IsTruncated'), 'true');
  assertEncoded(field(page1.body, 'NextKeyMarker'), 'mpu/a+b', 'NextKeyMarker');

  const keyMarker = unquote(field(page1.body, 'NextKeyMarker'));
  const idMarker = field(page1.body, 'NextUploadIdMarker');
  const page2 = await send('GET', `/?uploads&prefix=mpu%2F&encoding-type=url&key-marker=${formEncode(keyMarker)}&upload-id-marker=${idMarker}`,
    { resource: `/${oss.bucket}/?uploads` });
  assertEncoded(field(page2.body, 'KeyMarker'), 'mpu/a+b', 'KeyMarker');
  assert.deepEqual(uploadKeys(page2.body).map(unquote), [keys[2]]);
  // key-marker with a form-encoded space: lists after `mpu/a b`.
  const afterSpace = await send('GET', '/?uploads&prefix=mpu%2F&encoding-type=url&key-marker=mpu%2Fa+b', { resource: `/${oss.bucket}/?uploads` });
  assert.deepEqual(uploadKeys(afterSpace.body).map(formDecode), ['mpu/a+b', keys[2]]);

  const parts = await send('GET', `/${formEncode(keys[2])}?uploadId=${ids[keys[2]]}&encoding-type=url`,
    { resource: `/${oss.bucket}/${keys[2]}?uploadId=${ids[keys[2]]}` });
  assert.equal(parts.status, 200, parts.body);
  assert.equal(field(parts.body, 'EncodingType'), 'url');
  assertEncoded(field(parts.body, 'Key'), keys[2], 'ListParts Key');
  assert.deepEqual(fields(parts.body, 'PartNumber'), ['1']);

  // Without encoding-type the names are raw (XML-escaped only).
  const rawList = await send('GET', '/?uploads&prefix=mpu%2F', { resource: `/${oss.bucket}/?uploads` });
  assert.deepEqual(uploadKeys(rawList.body), keys);
  assert.equal(field(rawList.body, 'EncodingType'), undefined);

  const bad = await send('GET', '/?uploads&encoding-type=base64', { resource: `/${oss.bucket}/?uploads` });
  assert.equal(bad.status, 400);
  assert.equal(field(bad.body, 'Code'), 'InvalidArgument');
  for (const k of keys) await c.abortMultipartUpload(k, ids[k]);
});

test('ListMultipartUploads with a delimiter rolls keys up into CommonPrefixes, encoded and paged', async () => {
  const c = oss.client();
  const keys = ['grp/sub dir/a', 'grp/sub dir/b', 'grp/sub+dir/c', 'grp/top'];
  const ids = [];
  for (const k of keys) ids.push((await c.initMultipartUpload(k)).uploadId);
  const page1 = await send('GET', '/?uploads&prefix=grp%2F&delimiter=%2F&max-uploads=2&encoding-type=url', { resource: `/${oss.bucket}/?uploads` });
  assert.equal(page1.status, 200, page1.body);
  assertEncoded(field(page1.body, 'Delimiter'), '/', 'Delimiter');
  const cps = commonPrefixes(page1.body);
  assert.equal(cps.length, 2);
  assertEncoded(cps[0], 'grp/sub dir/', 'CommonPrefixes 1');
  assertEncoded(cps[1], 'grp/sub+dir/', 'CommonPrefixes 2');
  assert.deepEqual(uploadKeys(page1.body), []);
  assert.equal(field(page1.body, 'IsTruncated'), 'true');
  assertEncoded(field(page1.body, 'NextKeyMarker'), 'grp/sub+dir/', 'NextKeyMarker');
  assert.equal(field(page1.body, 'NextUploadIdMarker'), '');

  const page2 = await send('GET', `/?uploads&prefix=grp%2F&delimiter=%2F&max-uploads=2&key-marker=${formEncode('grp/sub+dir/')}`, { resource: `/${oss.bucket}/?uploads` });
  assert.deepEqual(commonPrefixes(page2.body), []);
  assert.deepEqual(uploadKeys(page2.body), ['grp/top']);
  assert.equal(field(page2.body, 'IsTruncated'), 'false');
  for (let i = 0; i < keys.length; i++) await c.abortMultipartUpload(keys[i], ids[i]);
});

for (const [name, opts] of [['V1 virtual host', {}], ['V4 virtual host', { v4: true }], ['V1 path style', { style: 'path' }], ['V4 path style', { v4: true, style: 'path' }]]) {
  test(`ali-oss ${name}: keys with space, plus, percent and CJK round-trip through every key-naming operation`, async () => {
    const c = oss.client({ ...opts, bucket: 'url-bucket' });
    const tag = name.replace(/ /g, '-');
    const keys = [`rt-${tag}/数据 file+%.csv.gz`, `rt-${tag}/a b`, `rt-${tag}/a+b`, `rt-${tag}/100%`, `rt-${tag}/%2B literal`, `rt-${tag}/+lead`];
    for (const k of keys) {
      await c.put(k, Buffer.from(`body of ${k}`));
      assert.equal(String((await c.get(k)).content), `body of ${k}`, k);
      assert.equal((await c.head(k)).status, 200, k);
    }
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual((await c.list({ prefix: `rt-${tag}/` })).objects.map((o) => o.name), sorted);
    assert.deepEqual((await c.listV2({ prefix: `rt-${tag}/` })).objects.map((o) => o.name), sorted);
    // ali-oss passes encoding-type through and returns the names as sent: decoding gives the keys.
    const encoded = await c.listV2({ prefix: `rt-${tag}/`, 'encoding-type': 'url' });
    assert.deepEqual(encoded.objects.map((o) => unquote(o.name)), sorted);
    assert.deepEqual(encoded.objects.map((o) => formDecode(o.name)), sorted);

    const mpKey = keys[0];
    const { uploadId } = await c.initMultipartUpload(mpKey);
    const part = await c.uploadPart(mpKey, uploadId, 1, Buffer.from('multipart body'), 0, 14);
    assert.deepEqual((await c.listUploads({ prefix: `rt-${tag}/` })).uploads.map((u) => u.name), [mpKey]);
    assert.deepEqual([].concat((await c.listParts(mpKey, uploadId)).parts).map((p) => p.PartNumber), ['1']); // one part: ali-oss gives an object, not a list
    await c.completeMultipartUpload(mpKey, uploadId, [{ number: 1, etag: part.etag }]);
    assert.equal(String((await c.get(mpKey)).content), 'multipart body');

    const deleted = await c.deleteMulti(keys);
    assert.deepEqual(deleted.deleted.map((d) => d.Key).sort(), [...keys].sort());
    for (const k of keys) await assert.rejects(c.head(k), (err) => err.status === 404, k);
  });
}
