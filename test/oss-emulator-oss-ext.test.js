'use strict';
// The emulator accepts what Greenplum's oss_ext (aliyun OSS C SDK 3.1.0 over libcurl) sends,
// as OSS does: an AppendObject framed by both `Transfer-Encoding: chunked` and
// `Content-Length`, and a path-style ListObjects signed over `/bucket` (no trailing slash).
// The requests are written byte by byte on a raw socket, the way libcurl frames them, with
// an independent V1 signer (HMAC-SHA1 over the string to sign, as the C SDK's oss_auth.c).
// test/greenplum/ runs the real oss_ext against the emulator.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const { useOssEmulator } = require('./support/oss');

const oss = useOssEmulator();

function v1(secret, lines) {
  return crypto.createHmac('sha1', secret).update(lines.join('\n')).digest('base64');
}

/** Writes `head` then each body piece on a fresh connection; resolves with the raw answer and whether the server closed. */
function rawExchange(head, bodyPieces = []) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(oss.port, '127.0.0.1');
    const chunks = [];
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('no answer within 10 s')); }, 10000);
    socket.on('connect', () => {
      socket.write(head);
      for (const p of bodyPieces) socket.write(p);
    });
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', (err) => { clearTimeout(timer); reject(err); });
    socket.on('end', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const [headPart, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...headerLines] = headPart.split('\r\n');
      const headers = {};
      for (const l of headerLines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

/** AppendObject as oss_ext's compress_writer sends it: Content-Length from the SDK plus libcurl's chunked POST. */
function appendRequest(key, position, data, { secret = oss.accessKeySecret, pieces = 2 } = {}) {
  const date = new Date().toUTCString();
  const type = 'application/octet-stream';
  const resource = `/${oss.bucket}/${key}?append&position=${position}`;
  const sig = v1(secret, ['POST', '', type, date, resource]);
  const head = [
    `POST /${key}?append&position=${position} HTTP/1.1`,
    `Host: ${oss.bucket}.localhost:${oss.port}`,
    'Accept: */*',
    'Transfer-Encoding: chunked',
    `Content-Length: ${data.length}`,
    `Content-Type: ${type}`,
    `Date: ${date}`,
    `Authorization: OSS ${oss.accessKeyId}:${sig}`,
    'User-Agent: aliyun-sdk-c/3.1.0',
    '', '',
  ].join('\r\n');
  const body = [];
  const step = Math.ceil(data.length / pieces);
  for (let i = 0; i < data.length; i += step) {
    const part = data.subarray(i, i + step);
    body.push(Buffer.concat([Buffer.from(part.length.toString(16) + '\r\n'), part, Buffer.from('\r\n')]));
  }
  body.push(Buffer.from('0\r\n\r\n'));
  return rawExchange(head, body);
}

test('AppendObject with both Transfer-Encoding: chunked and Content-Length appends the chunked body, then closes the connection', async () => {
  const key = 'gp/ext_sales_1733112345678901';
  const first = Buffer.from('1,alpha\n2,beta\n3,"gamma, delta"\n');
  const r1 = await appendRequest(key, 0, first, { pieces: 3 });
  assert.equal(r1.status, 200, r1.body);
  assert.equal(r1.headers['x-oss-next-append-position'], String(first.length));
  assert.equal(r1.headers.connection, 'close', 'RFC 9112 §6.1: close after a request framed both ways');
  const second = Buffer.from('4,epsilon\n');
  const r2 = await appendRequest(key, first.length, second, { pieces: 1 });
  assert.equal(r2.status, 200, r2.body);
  const got = await oss.client().get(key);
  assert.equal(got.content.toString(), Buffer.concat([first, second]).toString());
  const head = await oss.client().head(key);
  assert.equal(head.res.headers['x-oss-object-type'], 'Appendable');
});

test('the chunked framing decides the length even when Content-Length disagrees (RFC 9112 §6.3)', async () => {
  const key = 'gp/mismatch';
  const data = Buffer.from('x'.repeat(300));
  const date = new Date().toUTCString();
  const sig = v1(oss.accessKeySecret, ['POST', '', '', date, `/${oss.bucket}/${key}?append&position=0`]);
  const head = `POST /${key}?append&position=0 HTTP/1.1\r\nHost: ${oss.bucket}.localhost:${oss.port}\r\nTransfer-Encoding: chunked\r\n` +
    `Content-Length: 5\r\nDate: ${date}\r\nAuthorization: OSS ${oss.accessKeyId}:${sig}\r\n\r\n`;
  const r = await rawExchange(head, [Buffer.from(`12c\r\n${data}\r\n0\r\n\r\n`)]);
  assert.equal(r.status, 200, r.body);
  assert.equal((await oss.client().get(key)).content.length, 300);
});

test('a wrong signature on such an append is still refused, and nothing is written', async () => {
  const r = await appendRequest('gp/forged', 0, Buffer.from('nope\n'), { secret: 'not-the-secret' });
  assert.equal(r.status, 403);
  assert.match(r.body, /SignatureDoesNotMatch/);
  await assert.rejects(oss.client().head('gp/forged'), (err) => err.status === 404);
});

test('control characters in a header value are refused (the lenient parser lets them through; OSS does not)', async () => {
  const r = await rawExchange(`GET /?prefix=a HTTP/1.1\r\nHost: ${oss.bucket}.localhost:${oss.port}\r\nX-Evil: a\x01b\r\n\r\n`);
  assert.equal(r.status, 400);
  assert.match(r.body, /InvalidArgument/);
  assert.equal(r.headers.connection, 'close');
});

/** ListObjects as oss_ext sends it to a bare-IP endpoint: path style, V1 resource `/bucket`. */
function pathStyleList(query, { resource = `/${oss.bucket}`, secret = oss.accessKeySecret, path = `/${oss.bucket}` } = {}) {
  const date = new Date().toUTCString();
  const sig = v1(secret, ['GET', '', '', date, resource]);
  return rawExchange(`GET ${path}?${query} HTTP/1.1\r\nHost: 127.0.0.1:${oss.port}\r\nAccept: */*\r\nDate: ${date}\r\n` +
    `Authorization: OSS ${oss.accessKeyId}:${sig}\r\nUser-Agent: aliyun-sdk-c/3.1.0\r\nConnection: close\r\n\r\n`);
}

test('path-style ListObjects signed over "/bucket" (oss_ext, bare-IP endpoint) lists the objects', async () => {
  const client = oss.client();
  await client.put('listing/a.csv', Buffer.from('1\n'));
  await client.put('listing/sub/b.csv', Buffer.from('2\n'));
  await client.put('other/c.csv', Buffer.from('3\n'));
  const all = await pathStyleList('prefix=listing%2F&delimiter=&marker=&max-keys=1000');
  assert.equal(all.status, 200, all.body);
  const keys = [...all.body.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]);
  assert.deepEqual(keys, ['listing/a.csv', 'listing/sub/b.csv']);
  const dir = await pathStyleList('prefix=listing%2F&delimiter=%2F&marker=&max-keys=1000');
  assert.equal(dir.status, 200, dir.body);
  assert.deepEqual([...dir.body.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]), ['listing/a.csv']);
  assert.match(dir.body, /<CommonPrefixes>\s*<Prefix>listing\/sub\/<\/Prefix>/);
  // The form ali-oss signs keeps working.
  const slash = await pathStyleList('prefix=listing%2F', { resource: `/${oss.bucket}/`, path: `/${oss.bucket}/` });
  assert.equal(slash.status, 200, slash.body);
});

test('the "/bucket" form does not loosen anything else: wrong secret, or the form on an object or a slash-terminated path, is refused', async () => {
  const wrong = await pathStyleList('prefix=listing%2F', { secret: 'not-the-secret' });
  assert.equal(wrong.status, 403);
  assert.match(wrong.body, /SignatureDoesNotMatch/);
  const slashPath = await pathStyleList('prefix=listing%2F', { path: `/${oss.bucket}/` });
  assert.equal(slashPath.status, 403, 'a request for "/bucket/" is verified over "/bucket/" only');
  const date = new Date().toUTCString();
  const sig = v1(oss.accessKeySecret, ['GET', '', '', date, `/${oss.bucket}listing/a.csv`]);
  const obj = await rawExchange(`GET /${oss.bucket}/listing/a.csv HTTP/1.1\r\nHost: 127.0.0.1:${oss.port}\r\nDate: ${date}\r\n` +
    `Authorization: OSS ${oss.accessKeyId}:${sig}\r\nConnection: close\r\n\r\n`);
  assert.equal(obj.status, 403);
});
