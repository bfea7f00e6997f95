'use strict';
// What anyone who can connect to gpss-pg can make it hold: request bytes, connections,
// streams, sessions and their database connections. Attacks come from raw HTTP/2 clients on
// loopback (a gRPC frame header announcing a message, then silence); each is bounded in count
// and time.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http2 = require('node:http2');
const path = require('node:path');
const { spawn } = require('node:child_process');
const grpc = require('@grpc/grpc-js');
const { usePostgres } = require('./support/pg');
const { useGpssServer, rawClient, rpc, rowsOf, V, status } = require('./support/gpss-server');
const { startGpssServer } = require('../dist/gpss-server');
const { HEAP_OPTION } = require('../dist/gpss-server/cli');
const { effectiveSessionTimeout, reservedSlots } = require('../dist/gpss-server/session-limits');

const pg = usePostgres();
const g = useGpssServer(pg);
const S = (ID) => ({ Session: { ID } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function rejects(promise, code, pattern) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `expected ${status[code] ?? code}, got ${err.code}: ${err.details}`);
    if (pattern) assert.match(err.details, pattern);
    return true;
  });
}

// ---- raw HTTP/2 attack helpers -------------------------------------------------------------

function h2connect(address) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.settingsReceived = new Promise((r) => session.once('remoteSettings', r));
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/**
 * Opens a Write call whose gRPC frame announces `announced` bytes, sends `send` of them and
 * stalls. Resolves when the bytes were handed to the socket (or the server answered), with
 * the stream and a promise of the response headers/trailers' grpc-status.
 */
function stalledCall(session, announced, send, timeoutMs = 15000) {
  const stream = session.request({ ':method': 'POST', ':path': '/api.Gpss/Write', 'content-type': 'application/grpc', te: 'trailers' });
  let grpcStatus = null;
  let grpcMessage = '';
  const answered = new Promise((resolve) => {
    const take = (h) => {
      if (h['grpc-status'] !== undefined) {
        grpcStatus = Number(h['grpc-status']);
        grpcMessage = decodeURIComponent(h['grpc-message'] ?? '');
        resolve();
      }
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('close', resolve);
  });
  stream.on('error', () => {});
  const header = Buffer.alloc(5);
  header.writeUInt32BE(announced, 1);
  stream.write(header);
  const chunk = Buffer.alloc(256 * 1024, 0x41);
  const sent = (async () => {
    const deadline = Date.now() + timeoutMs;
    let left = send;
    while (left > 0 && grpcStatus === null && !stream.destroyed && Date.now() < deadline) {
      const n = Math.min(left, chunk.length);
      left -= n;
      // Waits until the server's flow control let the chunk out (or the server answered).
      await Promise.race([new Promise((r) => stream.write(chunk.subarray(0, n), r)), answered, sleep(Math.max(0, deadline - Date.now()))]);
    }
  })();
  return { stream, sent, answered, get status() { return grpcStatus; }, get message() { return grpcMessage; } };
}

function vmRssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

async function startCli(extraArgs = []) {
  const cli = path.join(__dirname, '../dist/gpss-server/cli.js');
  // With the CLI's heap option given, the CLI is the server itself (no second process): its
  // pid is the one whose memory is measured.
  const child = spawn(process.execPath, [HEAP_OPTION, cli, '--listen', '127.0.0.1:0', '--database', pg.url, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  for (let i = 0; !/listening on (\S+);/.test(out); i++) {
    if (i > 300 || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`gpss-pg did not start: ${out}`);
    }
    await sleep(50);
  }
  return { child, address: /listening on (\S+);/.exec(out)[1], output: () => out };
}

async function normalLoad(address, table, rows) {
  const c = rawClient(address);
  try {
    const { ID } = await rpc(c, 'Connect', g.login(), 20000);
    await rpc(c, 'Open', { ...S(ID), TableName: table, InsertOption: {} }, 20000);
    await rpc(c, 'Write', { ...S(ID), Rows: rowsOf(Array.from({ length: rows }, (_, i) => [V.i32(i), V.s('row ' + i)])) }, 20000);
    const st = await rpc(c, 'Close', { session: { ID }, MaxErrorRows: -1 }, 20000);
    await rpc(c, 'Disconnect', { ID }, 20000);
    return st;
  } finally {
    grpc.Client.prototype.close.call(c);
  }
}

// ---- the attack: stalled streams and idle connections ------------------------------

test('30 stalled streams of 63 MB, 30 just under the message limit and 300 idle connections: RSS stays under +200 MB and a normal load succeeds', async (t) => {
  await g.query('CREATE TABLE rss_load (id int, name text)');
  const srv = await startCli();
  const sessions = [];
  try {
    // Warm up (pg, COPY path) so that the baseline includes what any first load allocates.
    assert.equal((await normalLoad(srv.address, 'rss_load', 100)).SuccessCount, '100');
    await sleep(300);
    const base = vmRssMb(srv.child.pid);

    const attack = [];
    for (let c = 0; c < 6; c++) sessions.push(await h2connect(srv.address));
    for (let i = 0; i < 30; i++) attack.push(stalledCall(sessions[i % 3], 63_000_000, 16 << 20));
    for (let i = 0; i < 30; i++) attack.push(stalledCall(sessions[3 + (i % 3)], 4 * 1024 * 1024 - 64, 4 * 1024 * 1024 - 65));
    await Promise.all(attack.map((a) => a.sent));
    const idle = [];
    for (let i = 0; i < 300; i++) {
      const s = http2.connect(`http://${srv.address}`);
      s.on('error', () => {});
      idle.push(s);
    }
    sessions.push(...idle);
    await Promise.all(attack.map((a) => a.sent));
    // Until the server has taken each one (its SETTINGS arrived) or closed it, then a moment
    // for the admitted ones to count as idle.
    await Promise.all(idle.map((s) => Promise.race([new Promise((r) => s.once('remoteSettings', r).once('close', r)), sleep(10000)])));
    await sleep(300);

    const st = await normalLoad(srv.address, 'rss_load', 2000);
    assert.equal(st.SuccessCount, '2000', 'a normal load alongside the attack');
    let peak = 0;
    for (let i = 0; i < 10; i++) {
      peak = Math.max(peak, vmRssMb(srv.child.pid));
      await sleep(100);
    }
    const grown = peak - base;
    t.diagnostic(`gpss-pg RSS: base ${base.toFixed(0)} MB, peak under attack ${peak.toFixed(0)} MB (+${grown.toFixed(0)} MB)`);
    assert.ok(grown < 200, `gpss-pg RSS grew by ${grown.toFixed(0)} MB (base ${base.toFixed(0)} MB) under the attack; expected < 200 MB`);
    // The 63 MB announcements are refused at their header, with a clear status.
    const big = attack.slice(0, 30);
    assert.ok(big.every((a) => a.status === status.RESOURCE_EXHAUSTED), `statuses: ${big.map((a) => a.status)}`);
    assert.match(big[0].message, /larger than max/);
    assert.equal(await g.count('rss_load'), 2100);
  } finally {
    for (const s of sessions) s.destroy();
    srv.child.kill('SIGKILL');
  }
});

// ---- connection, stream and request caps (in-process server with small limits) -----------

test('connection caps: idle connections are closed to admit new ones; when all are busy a new one gets RESOURCE_EXHAUSTED naming the limit', async () => {
  const logs = [];
  const srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, log: (l) => logs.push(l), limits: { maxConnectionsPerPeer: 2, maxConnections: 4 } });
  const open = [];
  try {
    // Two idle connections fill the per-peer limit; a gRPC client still gets in (the least
    // recently used idle one is closed).
    const idle = [await h2connect(srv.address), await h2connect(srv.address)];
    open.push(...idle);
    await sleep(300); // idle long enough to be closed for a newcomer
    const closed = idle.map((s) => new Promise((r) => s.once('close', () => r(true))));
    const ok = rawClient(srv.address);
    try {
      const { ID } = await rpc(ok, 'Connect', g.login(), 10000);
      await rpc(ok, 'Disconnect', { ID });
    } finally {
      grpc.Client.prototype.close.call(ok);
    }
    assert.equal(await Promise.race([Promise.any(closed), sleep(3000).then(() => false)]), true, 'an idle connection was closed');

    // Two busy connections (a call whose message is still arriving) fill the limit again.
    const busy = [await h2connect(srv.address), await h2connect(srv.address)];
    open.push(...busy);
    const calls = busy.map((s) => stalledCall(s, 1000, 10));
    await Promise.all(calls.map((c) => c.sent));
    await sleep(200);
    const c = rawClient(srv.address);
    try {
      await rejects(rpc(c, 'Connect', g.login(), 10000), status.RESOURCE_EXHAUSTED, /too many connections from 127\.0\.0\.1 \(max 2 per peer/);
    } finally {
      grpc.Client.prototype.close.call(c);
    }
    assert.ok(logs.some((l) => /connection limit reached; closed an idle connection from 127\.0\.0\.1/.test(l)), logs.join('\n'));
  } finally {
    for (const s of open) s.destroy();
    await srv.stop();
  }
});

test('requests being received are capped (others wait, paused), stalled ones time out, and the stream limit is announced in SETTINGS', async () => {
  const srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, limits: { maxReceivingRequests: 2, requestReceiveTimeoutS: 1.5, maxStreamsPerConnection: 7 } });
  const open = [];
  try {
    const a = await h2connect(srv.address);
    open.push(a);
    await Promise.race([a.settingsReceived, sleep(3000)]);
    assert.equal(a.remoteSettings.maxConcurrentStreams, 7);
    const stalled = [stalledCall(a, 1000, 10), stalledCall(a, 1000, 10)];
    await Promise.all(stalled.map((s) => s.sent));
    await sleep(200);
    // A normal call waits for a slot: it is answered once the stalled ones have timed out.
    const c = rawClient(srv.address);
    const t0 = Date.now();
    try {
      const { ID } = await rpc(c, 'Connect', g.login(), 10000);
      const waited = Date.now() - t0;
      assert.ok(waited >= 1000, `the call waited ${waited} ms; expected it to wait for a slot`);
      await rpc(c, 'Disconnect', { ID });
    } finally {
      grpc.Client.prototype.close.call(c);
    }
    // The stalled ones were answered DEADLINE_EXCEEDED and their connection closed.
    const closed = new Promise((r) => (a.closed ? r() : a.once('close', r)));
    await Promise.race([Promise.all(stalled.map((s) => s.answered)), sleep(5000)]);
    assert.deepEqual(stalled.map((s) => s.status), [status.DEADLINE_EXCEEDED, status.DEADLINE_EXCEEDED]);
    assert.match(stalled[0].message, /not received within 1\.5 s/);
    assert.equal(await Promise.race([closed.then(() => true), sleep(3000).then(() => false)]), true, 'the connection was closed');
  } finally {
    for (const s of open) s.destroy();
    await srv.stop();
  }
});

test('receive windows: each connection announces RECEIVE_WINDOW for its streams and widens the connection window to it', async () => {
  const { RECEIVE_WINDOW } = require('../dist/gpss-server/limits');
  assert.equal(RECEIVE_WINDOW, 256 * 1024);
  const srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url });
  let s = null;
  try {
    s = await h2connect(srv.address);
    // The widened SETTINGS and the connection WINDOW_UPDATE follow grpc-js's first SETTINGS.
    for (let i = 0; i < 60 && !(s.remoteSettings.initialWindowSize === RECEIVE_WINDOW && s.state.remoteWindowSize === RECEIVE_WINDOW); i++) await sleep(50);
    assert.equal(s.remoteSettings.initialWindowSize, RECEIVE_WINDOW, 'stream window announced in SETTINGS');
    assert.equal(s.state.remoteWindowSize, RECEIVE_WINDOW, 'connection window');
  } finally {
    if (s) s.destroy();
    await srv.stop();
  }
});

test('keepalive enforcement: a client pinging more often than the minimum interval gets GOAWAY too_many_pings', async () => {
  const srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, limits: { minPingIntervalS: 10 } });
  const open = [];
  try {
    const calm = await h2connect(srv.address);
    const flood = await h2connect(srv.address);
    open.push(calm, flood);
    const ping = (s) => new Promise((resolve) => s.ping((err) => resolve(err)));
    let goaway = null;
    flood.on('goaway', (code, _last, opaque) => (goaway = { code, opaque: opaque ? opaque.toString() : '' }));
    const closed = new Promise((r) => flood.once('close', r));
    for (let i = 0; i < 5 && !goaway; i++) await ping(flood);
    await Promise.race([closed, sleep(3000)]);
    assert.deepEqual(goaway, { code: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, opaque: 'too_many_pings' });
    assert.equal(flood.destroyed || flood.closed, true, 'the flooding connection was closed');
    // One ping is fine, and the other connection still works.
    assert.equal(await ping(calm), null);
    assert.equal(calm.closed, false);
  } finally {
    for (const s of open) s.destroy();
    await srv.stop();
  }
});

// ---- sessions --------------------------------------------------------------------------------

test('SessionTimeout past Node timer range is clamped to the server maximum (no timer spin, no warning); 0 means the server default', async () => {
  const warnings = [];
  const onWarning = (w) => warnings.push(w.name);
  process.on('warning', onWarning);
  const srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, maxSessionTimeoutS: 2 });
  const c = rawClient(srv.address);
  try {
    const huge = [];
    for (let i = 0; i < 5; i++) huge.push((await rpc(c, 'Connect', { ...g.login(), SessionTimeout: 2147483647 })).ID);
    const zero = (await rpc(c, 'Connect', { ...g.login(), SessionTimeout: 0 })).ID;
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    await sleep(1000);
    const cpu = process.cpuUsage(cpu0);
    const share = (cpu.user + cpu.system) / 1000 / (Date.now() - t0);
    assert.ok(share < 0.15, `idle sessions used ${(share * 100).toFixed(0)}% of a core`);
    await sleep(2500);
    for (const ID of [...huge, zero]) await rejects(rpc(c, 'ListSchema', { Session: { ID } }), status.NOT_FOUND);
    assert.equal(srv.activeSessions(), 0);
    assert.deepEqual(warnings.filter((w) => w === 'TimeoutOverflowWarning'), []);
  } finally {
    process.off('warning', onWarning);
    grpc.Client.prototype.close.call(c);
    await srv.stop();
  }
});

test('sessions per database user are capped with RESOURCE_EXHAUSTED; a Disconnect frees a slot', async () => {
  const srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, maxSessionsPerUser: 3 });
  const c = rawClient(srv.address);
  try {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await rpc(c, 'Connect', g.login())).ID);
    await rejects(rpc(c, 'Connect', g.login()), status.RESOURCE_EXHAUSTED, new RegExp(`database user "${pg.user}" already holds 3 sessions`));
    const { rows } = await g.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'gpss-pg' AND datname = current_database()`);
    assert.equal(rows[0].n, 3, 'no fourth database connection was opened');
    await rpc(c, 'Disconnect', { ID: ids.pop() });
    ids.push((await rpc(c, 'Connect', g.login())).ID);
    for (const ID of ids) await rpc(c, 'Disconnect', { ID });
  } finally {
    grpc.Client.prototype.close.call(c);
    await srv.stop();
  }
});

test("the DBA's idle_in_transaction_session_timeout applies to gpss-pg sessions (not overridden)", async () => {
  await g.query('CREATE TABLE iit_probe (setting text)');
  await g.query(`ALTER DATABASE ${pg.database} SET idle_in_transaction_session_timeout = '7s'`);
  try {
    const ID = await g.connect();
    await g.call('Open', { ...S(ID), TableName: 'iit_probe', PreSQL: `INSERT INTO iit_probe SELECT current_setting('idle_in_transaction_session_timeout')` });
    await g.call('Close', { session: { ID } });
    await g.call('Disconnect', { ID });
    const { rows } = await g.query('SELECT setting FROM iit_probe');
    assert.deepEqual(rows, [{ setting: '7s' }]);
  } finally {
    await g.query(`ALTER DATABASE ${pg.database} RESET idle_in_transaction_session_timeout`);
  }
});

test('gpss-pg never takes the last connection slots of the database: Connect is refused while other applications can still log in', async () => {
  const os = require('node:os');
  const { Client } = require('pg');
  const { startPostgres } = require('../dist/devstack/postgres');
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'gpss-slots-'));
  // max_connections 20, 3 reserved for superusers: 17 usable, of which gpss-pg leaves 3.
  const cluster = await startPostgres({ dataDir: path.join(parent, 'data'), fast: true, settings: { max_connections: 20 } });
  const admin = new Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query("CREATE ROLE other_app LOGIN PASSWORD 'other'");
  await admin.query("CREATE ROLE loader LOGIN PASSWORD 'loader'");
  // Five more connections of another user: a non-superuser sees them only partly in
  // pg_stat_activity, and they must still be counted.
  const others = [];
  for (let i = 0; i < 5; i++) {
    const o = new Client({ connectionString: cluster.url });
    await o.connect();
    others.push(o);
  }
  const srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: cluster.url, maxSessionsPerUser: 50 });
  const c = rawClient(srv.address);
  const u = new URL(cluster.url);
  const login = { Host: u.hostname, Port: Number(u.port), Username: 'loader', Password: 'loader', DB: 'postgres' };
  try {
    let refused = null;
    let sessions = 0;
    for (let i = 0; i < 20 && !refused; i++) {
      try {
        await rpc(c, 'Connect', login, 20000);
        sessions++;
      } catch (err) {
        refused = err;
      }
    }
    assert.ok(refused, 'a Connect was refused');
    assert.equal(refused.code, status.RESOURCE_EXHAUSTED, refused.details);
    assert.match(refused.details, /connections in use; gpss-pg leaves the last 3 to other applications/);
    assert.equal(sessions, 8, 'admin + 5 others + 8 sessions = 14 of 17 usable');
    const other = new Client({ connectionString: `postgres://other_app:other@${u.host}/postgres` });
    await other.connect();
    await other.end();
  } finally {
    grpc.Client.prototype.close.call(c);
    await srv.stop();
    await admin.end();
    for (const o of others) await o.end();
    cluster.stop({ removeData: true });
    fs.rmSync(parent, { recursive: true, force: true });
  }
});

test('session limit arithmetic (unit)', () => {
  assert.equal(effectiveSessionTimeout(0, 3600), 3600);
  assert.equal(effectiveSessionTimeout(-5, 3600), 3600);
  assert.equal(effectiveSessionTimeout(60, 3600), 60);
  assert.equal(effectiveSessionTimeout(2147483647, 3600), 3600);
  assert.equal(reservedSlots(97), 10);
  assert.equal(reservedSlots(10), 3);
});

test('gpss-pg CLI: limit flags reach the options; bad values are refused naming the flag (unit)', async () => {
  const { parseArgs } = require('../dist/gpss-server/cli');
  const o = parseArgs(['--database', 'postgres://u@h/d', '--max-connections', '10', '--max-connections-per-peer=5', '--connection-idle-timeout', '0', '--max-session-timeout', '60', '--max-sessions-per-user', '4', '--min-ping-interval', '30']);
  assert.deepEqual([o.limits, o.maxSessionTimeoutS, o.maxSessionsPerUser], [{ maxConnections: 10, maxConnectionsPerPeer: 5, connectionIdleS: 0, minPingIntervalS: 30 }, 60, 4]);
  assert.throws(() => parseArgs(['--database', 'postgres://u@h/d', '--max-connections', '0']), /--max-connections must be a whole number > 0/);
  assert.throws(() => parseArgs(['--database', 'postgres://u@h/d', '--max-sessions-per-user', '2.5']), /--max-sessions-per-user must be a whole number/);
  await assert.rejects(startGpssServer({ databaseUrl: 'postgres://u@h/d', maxSessionTimeoutS: 3e9 }), /max session timeout must be/);
  await assert.rejects(startGpssServer({ databaseUrl: 'postgres://u@h/d', limits: { maxConnections: -1 } }), /limit maxConnections must be/);
});
