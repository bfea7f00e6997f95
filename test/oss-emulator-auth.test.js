'use strict';
// Authentication: V1 and V4 signatures as ali-oss computes them are verified exactly;
// wrong secret, unknown key id, tampered headers/query/path and missing signatures get 403
// with OSS's codes. Presigned URLs (V1 and V4) work and expire.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { useOssEmulator, startTestOssEmulator } = require('./support/oss');
const auth = require('../dist/oss-emulator/auth');

const oss = useOssEmulator();

async function rejects(promise, check) {
  try {
    await promise;
  } catch (err) {
    check(err);
    return err;
  }
  assert.fail('expected the call to fail');
}

/** A client whose requests are altered after ali-oss has signed them. */
function tamperingClient(opts, mutate) {
  const c = oss.client(opts);
  const real = c.urllib;
  c.urllib = {
    request(url, params) {
      const out = mutate({ url, headers: params.headers }) || {};
      return real.request(out.url || url, params);
    },
  };
  return c;
}

function raw(method, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: oss.port, method, path, headers: { host: `${oss.bucket}.oss-cn-hangzhou.aliyuncs.com`, ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

const xmlField = (xml, name) => (new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml) || [])[1];

test('the documented V1 test vector', () => {
  const sts = 'PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\ntext/html\nThu, 17 Nov 2005 18:49:58 GMT\n'
    + 'x-oss-magic:abracadabra\nx-oss-meta-author:foo@bar.com\n/oss-example/nelson';
  assert.equal(auth.v1Signature('OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV', sts), '26NBxoKdsyly4EDv6inkoDft/yA=');
  const req = {
    method: 'PUT', bucket: 'oss-example', key: 'nelson', query: [],
    headers: {
      'content-md5': 'ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=', 'content-type': 'text/html',
      date: 'Thu, 17 Nov 2005 18:49:58 GMT', 'x-oss-meta-author': 'foo@bar.com', 'x-oss-magic': 'abracadabra',
    },
  };
  assert.equal(auth.v1StringToSign(req, req.headers.date), sts);
});

test('V1 canonical resource: only sub-resources are signed, sorted, bare when empty', () => {
  const req = { method: 'GET', bucket: 'b', key: 'k', headers: {},
    query: [['uploadId', 'U1'], ['partNumber', '3'], ['max-keys', '5'], ['uploads', ''], ['prefix', 'x']] };
  assert.equal(auth.v1CanonicalResource(req), '/b/k?partNumber=3&uploadId=U1&uploads');
});

for (const v4 of [false, true]) {
  const sig = v4 ? 'V4' : 'V1';

  test(`${sig}: wrong secret → 403 SignatureDoesNotMatch (also on HEAD, via x-oss-err)`, async () => {
    const c = oss.client({ v4, accessKeySecret: 'not-the-secret' });
    await rejects(c.put('auth/obj', Buffer.from('x')), (err) => {
      assert.equal(err.status, 403);
      assert.equal(err.code, 'SignatureDoesNotMatch');
      assert.equal(err.name, 'SignatureDoesNotMatchError');
      assert.match(err.requestId, /^[0-9A-F]{24}$/);
    });
    await rejects(c.head('auth/obj'), (err) => {
      assert.equal(err.status, 403);
      assert.equal(err.code, 'SignatureDoesNotMatch');
    });
    await rejects(oss.client().head('auth/obj'), (err) => assert.equal(err.status, 404, 'nothing was stored'));
  });

  test(`${sig}: unknown access key id → 403 InvalidAccessKeyId`, async () => {
    const c = oss.client({ v4, accessKeyId: 'no-such-key-id' });
    await rejects(c.list(), (err) => {
      assert.equal(err.status, 403);
      assert.equal(err.code, 'InvalidAccessKeyId');
    });
  });

  test(`${sig}: tampered signed header, path or sub-resource → 403 SignatureDoesNotMatch`, async () => {
    await oss.client({ v4 }).put('auth/target', Buffer.from('x'));
    const header = tamperingClient({ v4 }, ({ headers }) => { headers['x-oss-meta-note'] = 'changed'; });
    await rejects(header.put('auth/obj', Buffer.from('x'), { meta: { note: 'original' } }), (err) => {
      assert.equal(err.status, 403);
      assert.equal(err.code, 'SignatureDoesNotMatch');
    });
    const ctype = tamperingClient({ v4 }, ({ headers }) => { headers['Content-Type'] = 'text/evil'; });
    await rejects(ctype.put('auth/obj.csv', Buffer.from('x')), (err) => assert.equal(err.code, 'SignatureDoesNotMatch'));
    const path = tamperingClient({ v4 }, ({ url }) => ({ url: url.replace('/auth/target', '/auth/other') }));
    await rejects(path.get('auth/target'), (err) => assert.equal(err.code, 'SignatureDoesNotMatch'));
    const up = await oss.client({ v4 }).initMultipartUpload('auth/mp');
    const query = tamperingClient({ v4 }, ({ url }) => ({ url: url.replace('partNumber=1', 'partNumber=2') }));
    await rejects(query.uploadPart('auth/mp', up.uploadId, 1, Buffer.alloc(10), 0, 10), (err) => {
      assert.equal(err.status, 403);
      assert.equal(err.code, 'SignatureDoesNotMatch');
    });
  });
}

test('V4 AdditionalHeaders are signed too: tampering one is detected', async () => {
  const opts = { headers: { 'Cache-Control': 'no-cache' }, additionalHeaders: ['cache-control'] };
  const ok = await oss.client({ v4: true }).put('auth/additional', Buffer.from('x'), opts);
  assert.equal(ok.res.status, 200);
  assert.equal((await oss.client().head('auth/additional')).res.headers['cache-control'], 'no-cache');
  const tampered = tamperingClient({ v4: true }, ({ headers }) => { headers['Cache-Control'] = 'max-age=99'; });
  await rejects(tampered.put('auth/additional', Buffer.from('y'), opts), (err) => assert.equal(err.code, 'SignatureDoesNotMatch'));
  // Without AdditionalHeaders, cache-control is not signed, so changing it goes unnoticed (as on OSS).
  const unsigned = tamperingClient({ v4: true }, ({ headers }) => { headers['Cache-Control'] = 'max-age=99'; });
  assert.equal((await unsigned.put('auth/additional', Buffer.from('z'), { headers: { 'Cache-Control': 'no-cache' } })).res.status, 200);
});

test('V4 signs every query parameter; V1 leaves ordinary ones (max-keys) unsigned, as OSS', async () => {
  const bump = ({ url }) => ({ url: url.replace('max-keys=5', 'max-keys=6') });
  await rejects(tamperingClient({ v4: true }, bump).list({ 'max-keys': 5 }), (err) => assert.equal(err.code, 'SignatureDoesNotMatch'));
  const v1 = await tamperingClient({}, bump).list({ 'max-keys': 5 });
  assert.equal(v1.res.status, 200);
});

test('no signature → 403 AccessDenied; malformed Authorization → 400 InvalidArgument; error XML fields', async () => {
  const anon = await raw('GET', '/some/key');
  assert.equal(anon.status, 403);
  assert.equal(anon.headers['content-type'], 'application/xml');
  assert.equal(xmlField(anon.body, 'Code'), 'AccessDenied');
  assert.equal(xmlField(anon.body, 'RequestId'), anon.headers['x-oss-request-id']);
  assert.equal(xmlField(anon.body, 'HostId'), `${oss.bucket}.oss-cn-hangzhou.aliyuncs.com`);
  const bad = await raw('GET', '/some/key', { authorization: 'OSS only-an-id' });
  assert.equal(bad.status, 400);
  assert.equal(xmlField(bad.body, 'Code'), 'InvalidArgument');
  const wrong = await raw('GET', '/some/key', { authorization: `OSS ${oss.accessKeyId}:AAAAAAAAAAAAAAAAAAAAAAAAAAA=`, 'x-oss-date': new Date().toUTCString() });
  assert.equal(wrong.status, 403);
  assert.equal(xmlField(wrong.body, 'Code'), 'SignatureDoesNotMatch');
  assert.match(wrong.body, /<StringToSign>GET\n\n\n[^<]+\/test-bucket\/some\/key<\/StringToSign>/);
  assert.equal(xmlField(wrong.body, 'SignatureProvided'), 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=');
  assert.equal(xmlField(wrong.body, 'OSSAccessKeyId'), oss.accessKeyId);
  assert.ok(!wrong.body.includes(oss.accessKeySecret), 'the secret never appears in an error');
});

test('presigned URLs: V1 (path style) and V4 fetch the object; expired or altered ones are refused', async () => {
  const c = oss.client({ style: 'path' });
  await c.put('signed/obj.txt', Buffer.from('presigned body'));
  const v1 = c.signatureUrl('signed/obj.txt', { expires: 60 });
  let res = await fetch(v1);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'presigned body');
  res = await fetch(c.signatureUrl('signed/obj.txt', { expires: 60, response: { 'content-type': 'text/x-custom', 'content-disposition': 'attachment' } }));
  assert.equal(res.status, 200, 'response-* overrides are signed sub-resources');
  assert.equal(res.headers.get('content-type'), 'text/x-custom');
  assert.equal(res.headers.get('content-disposition'), 'attachment');
  res = await fetch(c.signatureUrl('signed/obj.txt', { expires: -10 }));
  assert.equal(res.status, 403);
  assert.equal(xmlField(await res.text(), 'Code'), 'AccessDenied');
  res = await fetch(v1.replace('obj.txt', 'obj.txX'));
  assert.equal(res.status, 403);
  assert.equal(xmlField(await res.text(), 'Code'), 'SignatureDoesNotMatch');

  const v4 = await oss.client({ v4: true }).signatureUrlV4('GET', 60, {}, 'signed/obj.txt');
  res = await fetch(v4);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'presigned body');
  res = await fetch(v4.replace(/x-oss-expires=60/, 'x-oss-expires=6000'));
  assert.equal(res.status, 403);
  assert.equal(xmlField(await res.text(), 'Code'), 'SignatureDoesNotMatch');
});

test('clock skew is checked by default (403 RequestTimeTooSkewed past 15 min, as OSS); 0 turns it off', async () => {
  for (const v4 of [false, true]) {
    assert.equal((await oss.client({ v4, amendTimeSkewed: -10 * 60_000 }).put('skew/ten-minutes', Buffer.from('x'))).res.status, 200, 'within 15 min');
    for (const skew of [-20 * 60_000, 20 * 60_000]) {
      await rejects(oss.client({ v4, amendTimeSkewed: skew }).put('skew/late', Buffer.from('x')), (err) => {
        assert.equal(err.status, 403);
        assert.equal(err.code, 'RequestTimeTooSkewed');
      });
    }
  }
  const lax = await startTestOssEmulator({ maxClockSkewMs: 0 });
  try {
    for (const v4 of [false, true]) {
      assert.equal((await lax.client({ v4, amendTimeSkewed: -20 * 60_000 }).put('skew/off', Buffer.from('x'))).res.status, 200);
    }
  } finally {
    await lax.stop();
  }
});

test('V4 requests signed for another region are refused (400 InvalidArgument, as OSS); V1 has no region', async () => {
  const isWrongRegion = (err) => {
    assert.equal(err.status, 400);
    assert.equal(err.code, 'InvalidArgument');
    assert.match(err.message, /Invalid signing region/);
  };
  await rejects(oss.client({ v4: true, region: 'oss-cn-shanghai' }).put('region/v4', Buffer.from('x')), isWrongRegion);
  assert.equal((await oss.client({ v4: false, region: 'oss-cn-shanghai' }).put('region/v1', Buffer.from('x'))).res.status, 200);
  // A presigned V4 URL for another region, too.
  await oss.client().put('region/obj', Buffer.from('body'));
  const url = await oss.client({ v4: true, region: 'oss-cn-shanghai' }).signatureUrlV4('GET', 60, {}, 'region/obj');
  const res = await fetch(url);
  assert.equal(res.status, 400);
  assert.equal(xmlField(await res.text(), 'Code'), 'InvalidArgument');
  // An emulator configured for Shanghai takes Shanghai and refuses Hangzhou (the default).
  const sh = await startTestOssEmulator({ region: 'oss-cn-shanghai' });
  try {
    assert.equal((await sh.client({ v4: true, region: 'oss-cn-shanghai' }).put('region/ok', Buffer.from('x'))).res.status, 200);
    await rejects(sh.client({ v4: true }).put('region/no', Buffer.from('x')), isWrongRegion);
  } finally {
    await sh.stop();
  }
});

test('the debug no-auth switch', async () => {
  const open = await startTestOssEmulator({ noAuth: true });
  try {
    await open.client({ accessKeySecret: 'anything' }).put('noauth/obj', Buffer.from('x'));
    const res = await fetch(`${open.endpoint}/noauth/obj`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'x');
  } finally {
    await open.stop();
  }
});
