'use strict';
// Fault injection: each kind as the real ali-oss client observes it (this is what our
// OSS library's retry logic must recognise), plus run-time control (rate, kinds, match, limit).
const test = require('node:test');
const assert = require('node:assert/strict');
const { useOssEmulator } = require('./support/oss');

const oss = useOssEmulator();
// A deterministic body: a truncated one is then reliably "not XML" to ali-oss's error parser.
const BODY = Buffer.alloc(200 * 1024, 'a');

async function rejects(promise, check) {
  try {
    await promise;
  } catch (err) {
    check(err);
    return err;
  }
  assert.fail('expected the call to fail');
}

test.before(async () => {
  await oss.ready;
  await oss.client().put('fault/obj', BODY);
});

test.afterEach(() => oss.emu.setFaults({ rate: 0 }));

const once = (kinds, extra = {}) => oss.emu.setFaults({ rate: 1, kinds, limit: 1, ...extra });

test('500: InternalErrorError with status 500 and a request id; the next request succeeds', async () => {
  const c = oss.client();
  once(['500']);
  await rejects(c.get('fault/obj'), (err) => {
    assert.equal(err.name, 'InternalErrorError');
    assert.equal(err.code, 'InternalError');
    assert.equal(err.status, 500);
    assert.match(err.requestId, /^[0-9A-F]{24}$/);
  });
  assert.deepEqual((await c.get('fault/obj')).content, BODY);
  once(['500']);
  await rejects(c.getStream('fault/obj'), (err) => {
    // getStream does not read error bodies: ali-oss reports a bare status.
    assert.equal(err.name, 'UnknownError');
    assert.equal(err.status, 500);
  });
  once(['500']);
  await rejects(c.put('fault/new', Buffer.from('x')), (err) => assert.equal(err.code, 'InternalError'));
  await rejects(c.head('fault/new'), (err) => assert.equal(err.status, 404, 'a 500 before processing stores nothing'));
});

test('503: ServiceUnavailableError with x-oss-qos-delay-time', async () => {
  const c = oss.client({ v4: true });
  once(['503']);
  await rejects(c.put('fault/503', Buffer.from('x')), (err) => {
    assert.equal(err.name, 'ServiceUnavailableError');
    assert.equal(err.code, 'ServiceUnavailable');
    assert.equal(err.status, 503);
  });
  once(['503']);
  const res = await fetch(`${oss.endpoint}/fault/obj`);
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('x-oss-qos-delay-time'), '100');
});

test('reset: the socket is destroyed; ali-oss gives ResponseError status -1, retried with retryMax', async () => {
  const c = oss.client();
  for (const call of [() => c.get('fault/obj'), () => c.put('fault/reset', Buffer.from('x')), () => c.head('fault/obj')]) {
    once(['reset']);
    await rejects(call(), (err) => {
      assert.equal(err.name, 'ResponseError');
      assert.equal(err.status, -1);
      assert.match(err.message, /socket hang up/);
      assert.equal(err.requestId, undefined);
    });
  }
  const retrying = oss.client({ retryMax: 2 });
  once(['reset']);
  oss.emu.clearRequests();
  assert.deepEqual((await retrying.get('fault/obj')).content, BODY);
  const recs = oss.emu.requests();
  assert.equal(recs.length, 2);
  assert.equal(recs[0].fault, 'reset');
  assert.equal(recs[1].status, 200);
});

test('slow: buffered get times out (ResponseTimeoutError); getStream gets the whole trickled body', async () => {
  const c = oss.client();
  once(['slow'], { slowBytesPerSecond: 100 * 1024 });
  await rejects(c.get('fault/obj', { timeout: 800 }), (err) => {
    assert.equal(err.name, 'ResponseTimeoutError');
  });
  once(['slow'], { slowBytesPerSecond: 400 * 1024 });
  oss.emu.clearRequests();
  const { stream } = await c.getStream('fault/obj', { timeout: 800 });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.deepEqual(Buffer.concat(chunks), BODY);
  assert.equal(oss.emu.requests()[0].fault, 'slow');
  // A response without a body is held back: the client times out although the write happened.
  once(['slow'], { slowDelayMs: 1200 });
  await rejects(c.put('fault/slow-put', Buffer.from('stored anyway'), { timeout: 300 }), (err) => {
    assert.equal(err.name, 'ResponseTimeoutError');
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(String((await c.get('fault/slow-put')).content), 'stored anyway');
});

test('truncate: fewer bytes than Content-Length, then the connection drops', async () => {
  const c = oss.client();
  once(['truncate']);
  await rejects(c.get('fault/obj'), (err) => {
    // ali-oss feeds the partial body to its XML error parser: a plain Error, status 200, no code.
    assert.equal(err.name, 'Error');
    assert.equal(err.status, 200);
    assert.equal(err.code, undefined);
    assert.match(err.message, /Non-whitespace before first tag/);
  });
  once(['truncate']);
  const { stream, res } = await c.getStream('fault/obj');
  assert.equal(Number(res.headers['content-length']), BODY.length);
  let received = 0;
  await rejects((async () => { for await (const chunk of stream) received += chunk.length; })(), (err) => {
    assert.equal(err.code, 'ECONNRESET');
    assert.equal(err.message, 'aborted');
  });
  assert.ok(received < BODY.length, `received ${received} of ${BODY.length}`);
  once(['truncate']);
  await rejects(c.put('fault/trunc-put', Buffer.from('x')), (err) => {
    assert.equal(err.name, 'UnknownError');
    assert.equal(err.status, 200);
  });
});

test('fault control: match restricts eligible requests, limit counts, rate 0 disables', async () => {
  const c = oss.client();
  oss.emu.setFaults({ rate: 1, kinds: ['500'], match: (r) => r.operation === 'PutObject', limit: 2 });
  assert.deepEqual((await c.get('fault/obj')).content, BODY, 'GET is not eligible');
  await rejects(c.put('fault/m', Buffer.from('1')), (err) => assert.equal(err.status, 500));
  await rejects(c.put('fault/m', Buffer.from('2')), (err) => assert.equal(err.status, 500));
  await c.put('fault/m', Buffer.from('3'));
  assert.equal(String((await c.get('fault/m')).content), '3');
  oss.emu.setFaults({ rate: 0, kinds: ['reset'] });
  for (let i = 0; i < 5; i++) await c.head('fault/obj');
  assert.throws(() => oss.emu.setFaults({ rate: 2 }), /between 0 and 1/);
  assert.throws(() => oss.emu.setFaults({ rate: 1, kinds: ['boom'] }), /unknown fault kind/);
});
