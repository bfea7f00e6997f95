'use strict';
// Pure parts of the emulator: CRC-64, key order, listing, ranges, XML, V4 canonicalisation
// (cross-checked against ali-oss's own signer), CLI arguments.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const signUtils = require('ali-oss/lib/common/signUtils');
const { crc64, Crc64, crc64Combine } = require('../dist/oss-emulator/crc64');
const { compareKeys } = require('../dist/oss-emulator/keyorder');
const { listKeys, listUploadPage, encodeToken, decodeToken } = require('../dist/oss-emulator/listing');
const { parseRange } = require('../dist/oss-emulator/operations');
const { parseXml, escapeXml, XmlSyntaxError } = require('../dist/oss-emulator/xml');
const { v4CanonicalRequest, v1CanonicalResource } = require('../dist/oss-emulator/auth');
const { parseQuery, resolveAddress } = require('../dist/oss-emulator/addressing');
const { parseArgs } = require('../dist/oss-emulator/cli');
const { operationOf } = require('../dist/oss-emulator');

test('CRC-64/ECMA-182 (XZ) check values and incremental continuation', () => {
  assert.equal(crc64(Buffer.from('123456789')), BigInt('0x995DC9BBDF1939FA').toString());
  assert.equal(crc64(Buffer.alloc(0)), '0');
  assert.equal(crc64(Buffer.from('hello world')), BigInt('0x53037ECDEF2352DA').toString());
  const data = crypto.randomBytes(100_000);
  const whole = crc64(data);
  const split = new Crc64().update(data.subarray(0, 33_333)).value();
  assert.equal(new Crc64(split).update(data.subarray(33_333)).value(), whole, 'resuming from a reported CRC');
  const inc = new Crc64();
  for (let i = 0; i < data.length; i += 7777) inc.update(data.subarray(i, i + 7777));
  assert.equal(inc.value(), whole);
  // Every alignment of the word-at-a-time path gives the byte-at-a-time result (a bytewise
  // reference: one update per byte never takes the word path).
  for (let off = 0; off < 8; off++) {
    const piece = data.subarray(off, off + 1000 + off);
    const bytewise = new Crc64();
    for (let i = 0; i < piece.length; i++) bytewise.update(piece.subarray(i, i + 1));
    assert.equal(crc64(piece), bytewise.value(), `offset ${off}`);
  }
});

test('CRC-64 of A‖B combined from the CRCs of A and B (CompleteMultipartUpload)', () => {
  for (const [a, b] of [[0, 5], [7, 0], [100, 3], [1000, 12_345], [33, 70_000], [1 << 20, (1 << 20) + 17]]) {
    const A = crypto.randomBytes(a);
    const B = crypto.randomBytes(b);
    assert.equal(crc64Combine(crc64(A), crc64(B), b), crc64(Buffer.concat([A, B])), `${a} + ${b} bytes`);
  }
});

test('keys sort in UTF-8 byte order, not UTF-16', () => {
  const keys = ['\u{1F600}', '\uE000', 'z', 'a', 'é', 'ab', ''];
  const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual([...keys].sort(compareKeys), byBytes);
  assert.ok(compareKeys('\uE000', '\u{1F600}') < 0);
});

test('listKeys: prefix, delimiter, marker and truncation', () => {
  const sorted = ['a/1', 'a/2', 'a/b/1', 'a/b/2', 'a/c/1', 'b', 'c/1'];
  assert.deepEqual(listKeys(sorted, { prefix: '', delimiter: '/', after: '', maxKeys: 100 }),
    { keys: ['b'], commonPrefixes: ['a/', 'c/'], isTruncated: false, next: 'c/' });
  assert.deepEqual(listKeys(sorted, { prefix: 'a/', delimiter: '/', after: '', maxKeys: 3 }),
    { keys: ['a/1', 'a/2'], commonPrefixes: ['a/b/'], isTruncated: true, next: 'a/b/' });
  assert.deepEqual(listKeys(sorted, { prefix: 'a/', delimiter: '/', after: 'a/b/', maxKeys: 3 }),
    { keys: [], commonPrefixes: ['a/c/'], isTruncated: false, next: 'a/c/' });
  assert.deepEqual(listKeys(sorted, { prefix: '', delimiter: '', after: 'a/c/1', maxKeys: 1 }),
    { keys: ['b'], commonPrefixes: [], isTruncated: true, next: 'b' });
  assert.deepEqual(listKeys(sorted, { prefix: 'zz', delimiter: '', after: '', maxKeys: 5 }).keys, []);
  assert.equal(decodeToken(encodeToken('中文/key')), '中文/key');
  assert.equal(decodeToken('not a token!'), undefined);
});

test('listUploadPage: upload-id paging within a key, delimiter roll-up, key-marker inside a group', () => {
  const ups = [['a/x', 'U1'], ['a/x', 'U2'], ['a/y', 'U3'], ['b', 'U4'], ['c/z', 'U5']].map(([key, uploadId]) => ({ key, uploadId }));
  const page = (o) => {
    const p = listUploadPage(ups, { prefix: '', delimiter: '', keyMarker: '', uploadIdMarker: '', maxUploads: 1000, ...o });
    return { ids: p.uploads.map((u) => u.uploadId), cps: p.commonPrefixes, more: p.isTruncated, key: p.nextKeyMarker, id: p.nextUploadIdMarker };
  };
  assert.deepEqual(page({ maxUploads: 1 }), { ids: ['U1'], cps: [], more: true, key: 'a/x', id: 'U1' });
  assert.deepEqual(page({ maxUploads: 2, keyMarker: 'a/x', uploadIdMarker: 'U1' }), { ids: ['U2', 'U3'], cps: [], more: true, key: 'a/y', id: 'U3' });
  assert.deepEqual(page({ keyMarker: 'a/x' }), { ids: ['U3', 'U4', 'U5'], cps: [], more: false, key: '', id: '' });
  assert.deepEqual(page({ delimiter: '/' }), { ids: ['U4'], cps: ['a/', 'c/'], more: false, key: '', id: '' });
  assert.deepEqual(page({ delimiter: '/', maxUploads: 1 }), { ids: [], cps: ['a/'], more: true, key: 'a/', id: '' });
  assert.deepEqual(page({ delimiter: '/', keyMarker: 'a/' }), { ids: ['U4'], cps: ['c/'], more: false, key: '', id: '' });
  assert.deepEqual(page({ delimiter: '/', keyMarker: 'a/x' }), { ids: ['U4'], cps: ['c/'], more: false, key: '', id: '' });
  assert.deepEqual(page({ prefix: 'a/', delimiter: '/' }), { ids: ['U1', 'U2', 'U3'], cps: [], more: false, key: '', id: '' });
});

test('parseRange follows OSS: one range, malformed → whole, unsatisfiable → 416', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-1000', 100), { start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=50-1000', 100), { start: 50, end: 99 });
  assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=9-0', 100), undefined);
  assert.equal(parseRange('bytes=0-1,3-4', 100), undefined);
  assert.equal(parseRange('items=0-1', 100), undefined);
  assert.equal(parseRange(undefined, 100), undefined);
});

test('XML reader: entities, CDATA, comments; malformed input throws', () => {
  const doc = parseXml('<?xml version="1.0"?>\n<!-- c --><Delete xmlns="x"><Quiet>true</Quiet><Object><Key>a&amp;b&lt;&#39;&#x263A;</Key></Object>'
    + '<Object><Key><![CDATA[<raw>]]></Key></Object></Delete>');
  assert.equal(doc.name, 'Delete');
  assert.equal(doc.children[1].children[0].text, "a&b<'☺");
  assert.equal(doc.children[2].children[0].text, '<raw>');
  for (const bad of ['<Delete><Object></Delete>', '<A>&bogus;</A>', '<A></A><B></B>', 'text', '<A>']) {
    assert.throws(() => parseXml(bad), XmlSyntaxError, bad);
  }
  assert.equal(escapeXml(`<a href="x">'&'</a>`), `&lt;a href="x"&gt;'&amp;'&lt;/a&gt;`);
});

test('V4 canonical request equals ali-oss\'s for the same request (query sort, bare sub-resources, encoding)', () => {
  const headers = { 'x-oss-date': '20261122T012342Z', 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD', 'content-type': 'text/csv', 'x-oss-meta-a': ' v ' };
  const cases = [
    { key: "dir/obj 1+x!'()*é.csv", subres: { uploadId: 'ABC', partNumber: 3 }, query: {} },
    { key: '', subres: { 'continuation-token': 'tok/+=' }, query: { 'list-type': 2, prefix: 'a b/', 'max-keys': 100, 'start-after': '' } },
    { key: 'k', subres: { uploads: '' }, query: {} },
    { key: 'k', subres: { append: '', position: 0 }, query: {} },
    { key: '', subres: { delete: '' }, query: { 'encoding-type': 'url', Zeta: 'z', alpha: 'a' } },
  ];
  for (const { key, subres, query } of cases) {
    // What ali-oss signs (createRequest: sub-resource '' → null), then what it puts on the wire.
    const signed = {};
    for (const [k, v] of Object.entries(subres)) signed[k] = v === '' ? null : v;
    Object.assign(signed, query);
    const theirs = signUtils.getCanonicalRequest('GET', { headers, queries: signed }, 'bkt', key || undefined, []);
    const wire = new URLSearchParams(Object.entries({ ...query, ...subres }).map(([k, v]) => [k, String(v)])).toString().replace(/\+/g, '%20');
    const ours = v4CanonicalRequest({ method: 'GET', headers, bucket: 'bkt', key, query: parseQuery(wire) }, [], new Set());
    assert.equal(ours, theirs, JSON.stringify({ key, subres, query }));
  }
});

test('V1 canonical resource keeps the raw key and only sub-resources', () => {
  assert.equal(v1CanonicalResource({ method: 'GET', headers: {}, bucket: 'b', key: 'a b/é+x', query: parseQuery('position=0&append=&prefix=p') }), '/b/a b/é+x?append&position=0');
  assert.equal(v1CanonicalResource({ method: 'GET', headers: {}, bucket: 'b', key: '', query: [] }), '/b/');
});

test('addressing: virtual host, path style, default bucket', () => {
  const exists = (b) => b === 'path-bucket';
  assert.deepEqual(resolveAddress('my-bucket.oss-cn-hangzhou.aliyuncs.com', '/a%20b/c', exists, 'dflt'), { bucket: 'my-bucket', key: 'a b/c', style: 'virtual-host' });
  assert.deepEqual(resolveAddress('localhost:9000', '/path-bucket/x%2By', exists, 'dflt'), { bucket: 'path-bucket', key: 'x+y', style: 'path' });
  assert.deepEqual(resolveAddress('127.0.0.1:9000', '/path-bucket', exists, 'dflt'), { bucket: 'path-bucket', key: '', style: 'path' });
  assert.deepEqual(resolveAddress('[::1]:9000', '/other/x', exists, 'dflt'), { bucket: 'dflt', key: 'other/x', style: 'default' });
  assert.throws(() => resolveAddress('b.example.com', '/%E0%A4%A', exists, undefined), (err) => err.code === 'InvalidArgument');
  // `+` is a space and `%2B` a plus, in the path and in query values (as OSS reads the Ruby SDK's and oss2's URLs).
  assert.equal(resolveAddress('b.example.com', '/dir%2Fa+b%2Bc', exists, undefined).key, 'dir/a b+c');
  assert.deepEqual(parseQuery('a=1&b=&c&d=x%2By+z'), [['a', '1'], ['b', ''], ['c', ''], ['d', 'x+y z']]);
});

test('operation routing', () => {
  const q = (s) => new Map(parseQuery(s));
  assert.equal(operationOf('GET', '', q('list-type=2')), 'ListObjectsV2');
  assert.equal(operationOf('GET', '', q('prefix=a')), 'ListObjects');
  assert.equal(operationOf('GET', '', q('uploads=')), 'ListMultipartUploads');
  assert.equal(operationOf('GET', '', q('acl=')), 'Unsupported');
  assert.equal(operationOf('POST', '', q('delete=')), 'DeleteMultipleObjects');
  assert.equal(operationOf('PUT', 'k', q('partNumber=1&uploadId=U')), 'UploadPart');
  assert.equal(operationOf('PUT', 'k', q('acl=')), 'Unsupported');
  assert.equal(operationOf('POST', 'k', q('append=&position=0')), 'AppendObject');
  assert.equal(operationOf('POST', 'k', q('uploads=')), 'InitiateMultipartUpload');
  assert.equal(operationOf('POST', 'k', q('uploadId=U')), 'CompleteMultipartUpload');
  assert.equal(operationOf('DELETE', 'k', q('uploadId=U')), 'AbortMultipartUpload');
  assert.equal(operationOf('GET', 'k', q('uploadId=U')), 'ListParts');
  assert.equal(operationOf('GET', 'k', q('response-content-type=text/plain')), 'GetObject');
  assert.equal(operationOf('PATCH', 'k', q('')), 'Unsupported');
});

test('CLI arguments', () => {
  const o = parseArgs(['--listen', '127.0.0.1:0', '--data=/tmp/x', '--bucket', 'a-b', '--bucket', 'c-d', '--fault-rate', '0.25', '--fault-kinds', 'reset,slow'], {});
  assert.deepEqual(o, { listen: '127.0.0.1:0', data: '/tmp/x', accessKeyId: 'devkey', accessKeySecret: 'devsecret', buckets: ['a-b', 'c-d'], faultRate: 0.25, faultKinds: ['reset', 'slow'], quiet: false, noAuth: false });
  assert.equal(parseArgs(['--max-clock-skew', '900', '--no-auth'], {}).maxClockSkewMs, 900_000);
  assert.throws(() => parseArgs(['--max-clock-skew', '1.5'], {}), /whole number/);
  assert.equal(parseArgs(['--max-clock-skew', '0'], {}).maxClockSkewMs, 0, '0 turns the check off');
  const t = parseArgs(['--region', 'oss-cn-shanghai', '--headers-timeout', '5', '--request-timeout=60'], {});
  assert.deepEqual([t.region, t.headersTimeoutMs, t.requestTimeoutMs], ['oss-cn-shanghai', 5000, 60000]);
  assert.throws(() => parseArgs(['--headers-timeout', '0'], {}), /--headers-timeout must be a whole number of seconds ≥ 1/);
  assert.equal(parseArgs(['-h'], {}), 'help');
  assert.equal(parseArgs([], { OSS_EMULATOR_ACCESS_KEY_ID: 'id', OSS_EMULATOR_ACCESS_KEY_SECRET: 's' }).accessKeySecret, 's');
  assert.throws(() => parseArgs(['--listen'], {}), /needs a value/);
  assert.throws(() => parseArgs(['--fault-rate', 'x'], {}), /between 0 and 1/);
});
