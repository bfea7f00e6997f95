'use strict';
// Storage: keys can never escape the data directory, objects survive a restart, crash
// leftovers are swept, and concurrent writers to one key never produce a torn object.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { Readable } = require('node:stream');
const { spawnSync } = require('node:child_process');
// ali-oss's own signer, so these hand-made requests are signed independently of the emulator.
const signUtils = require('ali-oss/lib/common/signUtils');
const { startTestOssEmulator, ACCESS_KEY_ID, ACCESS_KEY_SECRET } = require('./support/oss');

function tempParent() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-oss-storage-'));
}

function listTree(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listTree(full));
    else out.push(full);
  }
  return out;
}

/** A V1-signed request with an arbitrary raw path, as a hostile client could send it. */
function signedRequest(port, bucket, method, rawPath, key, body) {
  const headers = { 'x-oss-date': new Date().toUTCString(), 'content-type': 'application/octet-stream' };
  const sts = signUtils.buildCanonicalString(method, `/${bucket}/${key}`, { headers });
  headers.authorization = `OSS ${ACCESS_KEY_ID}:${signUtils.computeSignature(ACCESS_KEY_SECRET, sts)}`;
  headers.host = `${bucket}.oss-cn-hangzhou.aliyuncs.com`;
  if (body) headers['content-length'] = body.length;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('traversal and odd keys stay inside the data directory and round-trip', async () => {
  const parent = tempParent();
  const dataDir = path.join(parent, 'data');
  const h = await startTestOssEmulator({ dataDir });
  try {
    const cases = [
      ['/../../escape.txt', '../../escape.txt'],
      ['/%2e%2e/%2e%2e/escape2.txt', '../../escape2.txt'],
      ['/..%2F..%2Fescape3.txt', '../../escape3.txt'],
      ['//etc/passwd', '/etc/passwd'],
      ['/..', '..'],
      ['/..%5C..%5Cwin.txt', '..\\..\\win.txt'],
      [`/${'%2e%2e%2f'.repeat(40)}deep.txt`, `${'../'.repeat(40)}deep.txt`],
      [`/${encodeURIComponent('長い'.repeat(150))}`, '長い'.repeat(150)],
    ];
    for (const [rawPath, key] of cases) {
      const body = Buffer.from(`content of ${key}`);
      const put = await signedRequest(h.port, h.bucket, 'PUT', rawPath, key, body);
      assert.equal(put.status, 200, `PUT ${rawPath}: ${put.body}`);
      const get = await signedRequest(h.port, h.bucket, 'GET', rawPath, key);
      assert.equal(get.status, 200);
      assert.deepEqual(get.body, body, `GET ${rawPath}`);
    }
    // Nothing outside the data directory; inside, only the fixed layout.
    assert.deepEqual(fs.readdirSync(parent), ['data']);
    for (const file of listTree(dataDir)) {
      const rel = path.relative(dataDir, file);
      assert.match(rel, /^(emulator\.pid|buckets\/test-bucket\/(bucket\.json|objects\/[0-9a-f]{64}\.json|blobs\/[0-9a-f]{32}))$/, rel);
    }
    const listed = await h.client().list({ 'max-keys': 100 });
    assert.equal(listed.objects.length, cases.length);
    // NUL and over-long keys are refused as OSS does.
    const nul = await signedRequest(h.port, h.bucket, 'PUT', '/a%00b', 'a\0b', Buffer.from('x'));
    assert.equal(nul.status, 400);
    assert.match(String(nul.body), /<Code>InvalidObjectName<\/Code>/);
    await assert.rejects(h.client().put('x'.repeat(1024), Buffer.from('x')), (err) => err.code === 'InvalidObjectName');
  } finally {
    await h.stop();
    fs.rmSync(parent, { recursive: true, force: true });
  }
});

test('objects, appendable objects and pending uploads survive a restart; leftovers are swept', async () => {
  const parent = tempParent();
  const dataDir = path.join(parent, 'data');
  let h = await startTestOssEmulator({ dataDir, buckets: ['persist-a', 'persist-b'] });
  let uploadId;
  let part;
  const partBody = crypto.randomBytes(150 * 1024);
  try {
    const c = h.client();
    await c.put('keep/one.csv', Buffer.from('one'), { meta: { tag: 'kept' } });
    await c.put('keep/two.csv', Buffer.from('two'));
    await c.append('keep/log', Buffer.from('abc'));
    await h.client({ bucket: 'persist-b' }).put('other', Buffer.from('b'));
    ({ uploadId } = await c.initMultipartUpload('keep/mp'));
    part = await c.uploadPart('keep/mp', uploadId, 1, partBody, 0, partBody.length);
  } finally {
    await h.stop({ keepData: true });
  }
  // Simulate a crash: a half-received body in tmp/ and a blob no metadata refers to.
  fs.writeFileSync(path.join(dataDir, 'tmp', 'deadbeef'), 'partial');
  const orphan = path.join(dataDir, 'buckets', 'persist-a', 'blobs', 'ffffffffffffffffffffffffffffffff');
  fs.writeFileSync(orphan, 'orphan');

  h = await startTestOssEmulator({ dataDir, buckets: ['persist-a'] });
  try {
    const c = h.client();
    assert.equal(String((await c.get('keep/one.csv')).content), 'one');
    assert.equal((await c.head('keep/one.csv')).meta.tag, 'kept');
    assert.deepEqual((await c.list({ prefix: 'keep/' })).objects.map((o) => o.name), ['keep/log', 'keep/one.csv', 'keep/two.csv']);
    const next = await c.append('keep/log', Buffer.from('def'), { position: 3 });
    assert.equal(next.nextAppendPosition, '6');
    assert.equal(String((await c.get('keep/log')).content), 'abcdef');
    assert.equal(String((await h.client({ bucket: 'persist-b' }).get('other')).content), 'b', 'buckets on disk come back even if not named at start');
    assert.deepEqual(await h.emu.listMultipartUploads('persist-a'), [{ key: 'keep/mp', uploadId }]);
    await c.completeMultipartUpload('keep/mp', uploadId, [{ number: 1, etag: part.etag }]);
    assert.deepEqual((await c.get('keep/mp')).content, partBody);
    assert.deepEqual(fs.readdirSync(path.join(dataDir, 'tmp')), []);
    assert.equal(fs.existsSync(orphan), false);
  } finally {
    await h.stop();
    fs.rmSync(parent, { recursive: true, force: true });
  }
});

test('concurrent writers to one key never tear an object; readers see one whole version', async () => {
  const h = await startTestOssEmulator();
  try {
    const c = h.client();
    const size = 512 * 1024;
    const versions = Array.from({ length: 8 }, (_, i) => Buffer.alloc(size, 65 + i));
    const etags = new Set(versions.map((v) => `"${crypto.createHash('md5').update(v).digest('hex').toUpperCase()}"`));
    await c.put('race/obj', versions[0]);
    let reads = 0;
    let writing = true;
    const readers = Array.from({ length: 3 }, async () => {
      while (writing) {
        const r = await c.get('race/obj');
        reads++;
        assert.equal(r.content.length, size);
        const first = r.content[0];
        assert.ok(r.content.every((b) => b === first), 'a read returned bytes of two versions');
        assert.ok(etags.has(r.res.headers.etag));
        assert.equal(Buffer.alloc(size, first).equals(r.content), true);
      }
    });
    const writers = versions.map(async (v, i) => {
      for (let round = 0; round < 3; round++) {
        // Half the writers stream in small chunks (chunked encoding), so bodies interleave.
        if (i % 2) await c.putStream('race/obj', Readable.from(Array.from({ length: 32 }, (_, k) => v.subarray(k * 16384, (k + 1) * 16384))));
        else await c.put('race/obj', v);
      }
    });
    await Promise.all(writers);
    writing = false;
    await Promise.all(readers);
    assert.ok(reads > 0);
    const final = await c.get('race/obj');
    assert.ok(versions.some((v) => v.equals(final.content)));
    const blobs = fs.readdirSync(path.join(h.dataDir, 'buckets', h.bucket, 'blobs'));
    assert.equal(blobs.length, 1, 'replaced versions are removed');
  } finally {
    await h.stop();
  }
});

test('one emulator per data directory; a lock left by a dead process is taken over', async () => {
  const parent = tempParent();
  const dataDir = path.join(parent, 'data');
  const first = await startTestOssEmulator({ dataDir });
  try {
    await assert.rejects(startTestOssEmulator({ dataDir }), /in use by process \d+/);
    await first.client().put('still/works', Buffer.from('x'));
  } finally {
    await first.stop({ keepData: true });
  }
  assert.equal(fs.existsSync(path.join(dataDir, 'emulator.pid')), false, 'stop releases the lock');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  fs.writeFileSync(path.join(dataDir, 'emulator.pid'), dead.stdout);
  const second = await startTestOssEmulator({ dataDir });
  try {
    assert.equal(String((await second.client().get('still/works')).content), 'x');
  } finally {
    await second.stop();
    fs.rmSync(parent, { recursive: true, force: true });
  }
});

/** Sends a signed request whose body stops half-way (the client "crashes"). */
function abortedUpload(port, bucket, method, key, subres, announced, sent) {
  const headers = { 'x-oss-date': new Date().toUTCString(), 'content-type': 'application/octet-stream' };
  const sts = signUtils.buildCanonicalString(method, `/${bucket}/${key}`, { headers, parameters: subres });
  headers.authorization = `OSS ${ACCESS_KEY_ID}:${signUtils.computeSignature(ACCESS_KEY_SECRET, sts)}`;
  headers.host = `${bucket}.oss-cn-hangzhou.aliyuncs.com`;
  headers['content-length'] = announced;
  const query = Object.entries(subres).map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join('&');
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: `/${key}${query ? `?${query}` : ''}`, headers });
    req.on('error', () => resolve());
    req.on('response', (res) => { res.resume(); res.on('end', resolve); });
    req.write(Buffer.alloc(sent, 'z'), () => setTimeout(() => { req.destroy(); resolve(); }, 100));
  });
}

test('an upload cut off mid-body changes nothing: put, append and part', async () => {
  const h = await startTestOssEmulator();
  try {
    const c = h.client();
    await c.put('cut/put', Buffer.from('original'));
    await abortedUpload(h.port, h.bucket, 'PUT', 'cut/put', {}, 100_000, 50_000);
    await c.append('cut/log', Buffer.from('12345'));
    await abortedUpload(h.port, h.bucket, 'POST', 'cut/log', { append: '', position: '5' }, 100_000, 50_000);
    const { uploadId } = await c.initMultipartUpload('cut/mp');
    await abortedUpload(h.port, h.bucket, 'PUT', 'cut/mp', { partNumber: '1', uploadId }, 100_000, 50_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cut = h.emu.requests().filter((r) => r.status === 499).map((r) => r.operation);
    assert.deepEqual(cut, ['PutObject', 'AppendObject', 'UploadPart'], 'the three bodies were accepted, then cut');

    assert.equal(String((await c.get('cut/put')).content), 'original');
    assert.equal((await c.head('cut/log')).res.headers['x-oss-next-append-position'], '5');
    const next = await c.append('cut/log', Buffer.from('678'), { position: 5 });
    assert.equal(next.nextAppendPosition, '8');
    assert.equal(String((await c.get('cut/log')).content), '12345678', 'no bytes of the cut append leak in');
    assert.deepEqual((await c.listParts('cut/mp', uploadId)).parts, []);
    assert.deepEqual(fs.readdirSync(path.join(h.dataDir, 'tmp')), [], 'partial bodies are discarded');
  } finally {
    await h.stop();
  }
});
