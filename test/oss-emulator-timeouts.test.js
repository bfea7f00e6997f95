'use strict';
// The emulator's connection time limits, over raw loopback sockets: a client trickling its
// request headers, or its body, is cut off (408 and close) near the configured bound instead
// of holding the connection open; an idle kept-alive connection is not mistaken for one.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const http = require('node:http');
const { startTestOssEmulator } = require('./support/oss');

const HEADERS_MS = 1000;
const REQUEST_MS = 2000;
// Upper bound on how long the server may take to notice: Node checks the limits every
// headersTimeout/4, plus generous slack for a busy 2-core machine.
const SLACK_MS = 3000;

/**
 * Opens a socket, writes `head`, then writes one `drip` every `everyMs` until the server
 * closes the connection or `giveUpMs` passes. Resolves { closedAfterMs, response, drips }.
 */
function trickle(port, head, drip, everyMs, giveUpMs) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let response = '';
    let drips = 0;
    let timer = null;
    const giveUp = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`the server kept a trickling connection open for ${giveUpMs} ms (${drips} drips)`));
    }, giveUpMs);
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (!socket.destroyed && socket.writable) {
          socket.write(drip);
          drips++;
        }
      }, everyMs);
    });
    socket.on('data', (d) => (response += d.toString('latin1')));
    socket.on('error', () => undefined); // EPIPE/ECONNRESET after the server closed: expected
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs: Date.now() - t0, response, drips });
    });
  });
}

test('a client trickling its headers is cut off after headersTimeout; one trickling its body after requestTimeout', async () => {
  const emu = await startTestOssEmulator({ headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS, noAuth: true });
  try {
    const host = `${emu.bucket}.oss-cn-hangzhou.aliyuncs.com`;
    // Headers: one header line every 200 ms, never the blank line that ends them.
    const h = await trickle(emu.port, `GET /k HTTP/1.1\r\nHost: ${host}\r\n`, 'X-Drip: 1\r\n', 200, 30000);
    assert.ok(h.closedAfterMs >= HEADERS_MS - 50, `not before the limit (${h.closedAfterMs} ms)`);
    assert.ok(h.closedAfterMs < HEADERS_MS + SLACK_MS, `closed after ${h.closedAfterMs} ms`);
    assert.match(h.response, /^HTTP\/1\.1 408 /);
    // Body: complete headers, then one byte every 100 ms of a 1 MB body.
    const b = await trickle(emu.port, `PUT /trickled HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1000000\r\n\r\n`, 'x', 100, 30000);
    assert.ok(b.closedAfterMs >= REQUEST_MS - 50, `not before the limit (${b.closedAfterMs} ms)`);
    assert.ok(b.closedAfterMs < REQUEST_MS + SLACK_MS, `closed after ${b.closedAfterMs} ms`);
    // The half-sent object was never stored.
    const head = await emu.client().head('trickled').catch((err) => err);
    assert.equal(head.status, 404);
  } finally {
    await emu.stop();
  }
});

test('an idle kept-alive connection outlives headersTimeout and serves the next request; the defaults are set', async () => {
  const emu = await startTestOssEmulator({ headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS, noAuth: true });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: emu.port, path: `/${emu.bucket}/nothing`, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, reused: req.reusedSocket }));
      });
      req.on('error', reject);
    });
  try {
    assert.deepEqual(await get(), { status: 404, reused: false });
    await new Promise((r) => setTimeout(r, HEADERS_MS * 2.5));
    assert.deepEqual(await get(), { status: 404, reused: true });
  } finally {
    agent.destroy();
    await emu.stop();
  }
  const { DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_MAX_CLOCK_SKEW_MS, DEFAULT_REGION, startOssEmulator } = require('../dist/oss-emulator');
  assert.deepEqual([DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_MAX_CLOCK_SKEW_MS, DEFAULT_REGION], [30_000, 600_000, 900_000, 'oss-cn-hangzhou']);
  // Checked before anything is opened or created.
  const bad = { listen: '127.0.0.1:0', dataDir: '/nonexistent/oss-emulator-data', accessKeyId: 'a', accessKeySecret: 'b' };
  await assert.rejects(startOssEmulator({ ...bad, headersTimeoutMs: 5000, requestTimeoutMs: 1000 }), /requestTimeoutMs at least as large/);
  await assert.rejects(startOssEmulator({ ...bad, region: 'Hangzhou!' }), /region must look like oss-cn-hangzhou/);
});
