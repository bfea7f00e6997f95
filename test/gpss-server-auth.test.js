'use strict';
// gpss-pg authentication, tried as an attacker on loopback would: an empty Connect password
// must not borrow gpss-pg's own PGPASSWORD or ~/.pgpass; mutual TLS refuses clients without a
// certificate of the configured CA; a plaintext listener off loopback is refused unless
// --insecure; failed Connects from one peer are slowed down; PERMISSION_DENIED does not list
// the allowed hosts. Real gpss-pg (in process and as its CLI), real PostgreSQL with SCRAM auth.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const grpc = require('@grpc/grpc-js');
const { usePostgres } = require('./support/pg');
const { rawClient, rpc, status } = require('./support/gpss-server');
const { makePki } = require('./support/gpss-client-tls');
const { startGpssServer } = require('../dist/gpss-server');
const { parseArgs } = require('../dist/gpss-server/cli');
const { checkListener, isLoopbackHost } = require('../dist/gpss-server/listener-security');
const { ConnectBackoff, backoffDelayMs, peerHost } = require('../dist/gpss-server/connect-backoff');

const pg = usePostgres();
const CLI = path.join(__dirname, '../dist/gpss-server/cli.js');
const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const login = (extra = {}) => ({ Host: pg.host, Port: pg.port, Username: pg.user, Password: pg.password, DB: pg.database, ...extra });

async function rejectsWith(promise, code, check) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code] ?? err.code}: ${err.details}`);
    if (check) check(err.details);
    return true;
  });
}

function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** gpss-pg's environment without any PG* variable of ours, plus `extra`. */
function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^PG/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** Runs the gpss-pg CLI; resolves with its address once it listens, or rejects with its output. */
function startCli(args, env) {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  cleanups.push(stop);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gpss-pg did not start within 20 s:\n${out}`)), 20000);
    const onData = (chunk) => {
      out += chunk;
      const m = /listening on (\S+):(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ address: `${m[1]}:${m[2]}`, stop, output: () => out });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`gpss-pg exited with ${code}:\n${out}`), { code, output: out }));
    });
  });
}

async function withClient(address, fn, options) {
  const c = rawClient(address, options);
  try {
    return await fn(c);
  } finally {
    grpc.Client.prototype.close.call(c);
  }
}

// ---- the Connect's credentials are the only ones

test("an empty Connect password is not filled in from gpss-pg's PGPASSWORD (it stays empty and the login fails)", async () => {
  const home = tempDir('gpss-auth-home-');
  const srv = await startCli(['--listen', '127.0.0.1:0', '--database', pg.url], cleanEnv({ HOME: home, PGPASSWORD: pg.password, PGUSER: pg.user }));
  await withClient(srv.address, async (c) => {
    await rejectsWith(rpc(c, 'Connect', login({ Password: '' })), status.UNAUTHENTICATED, (d) => assert.match(d, /requires a password and the Connect request's Password is empty/));
    // The right password still logs in: the refusal above is about the empty one.
    const { ID } = await rpc(c, 'Connect', login());
    await rpc(c, 'Disconnect', { ID });
  });
  await srv.stop();
});

test("an empty Connect password is not filled in from gpss-pg's ~/.pgpass", async () => {
  const home = tempDir('gpss-auth-home-');
  fs.writeFileSync(path.join(home, '.pgpass'), `*:*:*:*:${pg.password}\n`, { mode: 0o600 });
  const srv = await startCli(['--listen', '127.0.0.1:0', '--database', pg.url], cleanEnv({ HOME: home }));
  await withClient(srv.address, async (c) => {
    await rejectsWith(rpc(c, 'Connect', login({ Password: '' })), status.UNAUTHENTICATED);
    const { ID } = await rpc(c, 'Connect', login());
    await rpc(c, 'Disconnect', { ID });
  });
  await srv.stop();
});

// ---- mutual TLS

test('mutual TLS (tls.clientCa): only clients presenting a certificate signed by that CA get through', async () => {
  const pki = makePki();
  const srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, tls: { cert: pki.cert, key: pki.key, clientCa: pki.ca } });
  cleanups.push(() => srv.stop());
  const as = (creds) => ({ creds, channel: { 'grpc.ssl_target_name_override': '127.0.0.1' } });
  // With a client certificate of the CA: works end to end.
  await withClient(srv.address, async (c) => {
    const { ID } = await rpc(c, 'Connect', login(), 10000);
    await rpc(c, 'Disconnect', { ID });
  }, as(grpc.credentials.createSsl(pki.ca, pki.key, pki.cert)));
  // TLS without a client certificate, a certificate of another CA, plaintext: refused before any RPC.
  const refused = {
    'no client certificate': grpc.credentials.createSsl(pki.ca),
    'a certificate of another CA': grpc.credentials.createSsl(pki.ca, pki.otherKey, pki.otherCert),
    plaintext: grpc.credentials.createInsecure(),
  };
  for (const [what, creds] of Object.entries(refused)) {
    await withClient(srv.address, async (c) => {
      await rejectsWith(rpc(c, 'Connect', login(), 3000), status.UNAVAILABLE, undefined);
    }, as(creds)).catch((err) => {
      throw new Error(`${what}: ${err.message}`);
    });
  }
  assert.equal(srv.activeSessions(), 0);
});

test('CLI: --tls-client-ca is read with --tls-cert/--tls-key, refused without them; --insecure is a switch', () => {
  const dir = tempDir('gpss-auth-cli-');
  const pki = makePki();
  for (const [f, data] of Object.entries({ 'c.pem': pki.cert, 'k.pem': pki.key, 'ca.pem': pki.ca })) fs.writeFileSync(path.join(dir, f), data);
  const f = (n) => path.join(dir, n);
  const opts = parseArgs(['--database', 'postgres://x/y', '--tls-cert', f('c.pem'), '--tls-key', f('k.pem'), '--tls-client-ca', f('ca.pem')]);
  assert.deepEqual(opts.tls.clientCa, pki.ca);
  assert.deepEqual(opts.tls.cert, pki.cert);
  assert.equal(opts.insecure, undefined);
  assert.throws(() => parseArgs(['--database', 'postgres://x/y', '--tls-client-ca', f('ca.pem')]), /--tls-client-ca needs --tls-cert/);
  assert.equal(parseArgs(['--database', 'postgres://x/y', '--insecure']).insecure, true);
});

// ---- no plaintext listener off loopback unless --insecure

test('a plaintext listener on a non-loopback address is refused without insecure (library and CLI)', async () => {
  for (const listen of ['0.0.0.0:0', '[::]:0', '192.0.2.1:0', 'gpss.example.com:0']) {
    await assert.rejects(startGpssServer({ listen, databaseUrl: pg.url }), /refusing to listen on .* without TLS.*--insecure/, listen);
  }
  const home = tempDir('gpss-auth-home-');
  const err = await startCli(['--listen', '0.0.0.0:0', '--database', pg.url], cleanEnv({ HOME: home })).then(
    () => assert.fail('the CLI started a plaintext listener on 0.0.0.0'),
    (e) => e,
  );
  assert.notEqual(err.code, 0);
  assert.match(err.output, /refusing to listen on 0\.0\.0\.0 without TLS/);
});

test('with insecure, a non-loopback plaintext listener is allowed and warned about loudly', async () => {
  // 192.0.2.1 (TEST-NET-1) is on no interface: the warning is logged, then the bind itself fails,
  // so the test listens on nothing beyond loopback.
  const logs = [];
  await assert.rejects(startGpssServer({ listen: '192.0.2.1:0', databaseUrl: pg.url, insecure: true, log: (l) => logs.push(l) }), (e) => !/refusing/.test(e.message));
  assert.ok(logs.some((l) => /^WARNING: INSECURE: .*192\.0\.2\.1.*WITHOUT TLS/.test(l)), logs.join('\n'));
  assert.match(checkListener('0.0.0.0', undefined, true), /^WARNING: INSECURE/);
  // Loopback and TLS listeners need neither.
  for (const h of ['127.0.0.1', '127.0.0.2', '::1', 'localhost', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', 'example.com', '128.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
  assert.equal(checkListener('127.0.0.1', undefined, false), null);
  assert.equal(checkListener('0.0.0.0', { cert: Buffer.from('c'), key: Buffer.from('k') }, false), null);
});

// ---- failed Connects are slowed down; the allow-list is not disclosed

test('failed Connects from one peer are slowed down, one at a time, and a right password still logs in', async () => {
  const logs = [];
  const srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, connectBackoff: { baseMs: 100, maxMs: 400 }, log: (l) => logs.push(l) });
  cleanups.push(() => srv.stop());
  const wrong = 'wrong-Guess-4711';
  await withClient(srv.address, async (c) => {
    const timed = async (p) => {
      const t0 = Date.now();
      await p.catch((e) => assert.equal(e.code, status.UNAUTHENTICATED, e.details));
      return Date.now() - t0;
    };
    // Sequential guesses: each one after the first waits at least 100, 200, 400, 400 ms.
    const took = [];
    for (let i = 0; i < 5; i++) took.push(await timed(rpc(c, 'Connect', login({ Password: wrong }), 10000)));
    const minimum = [0, 100, 200, 400, 400];
    // Timers never fire early; 5 ms of slack for clock granularity. Upper bounds are not asserted.
    took.forEach((ms, i) => assert.ok(ms >= minimum[i] - 5, `attempt ${i + 1} took ${ms} ms, expected at least ${minimum[i]} (${took.join(', ')})`));
    // Parallel guesses do not get around it: they are answered one after another.
    const t0 = Date.now();
    await Promise.all([1, 2, 3].map(() => timed(rpc(c, 'Connect', login({ Password: wrong }), 10000))));
    const parallel = Date.now() - t0;
    assert.ok(parallel >= 3 * 400 - 5, `3 parallel failing Connects took ${parallel} ms, expected at least 1200`);
    // The right password still gets in (after its wait), and clears the record.
    const { ID } = await rpc(c, 'Connect', login(), 10000);
    await rpc(c, 'Disconnect', { ID });
  });
  assert.ok(logs.some((l) => /login failed \(8 in a row/.test(l)), logs.join('\n'));
  assert.ok(!logs.join('\n').includes(wrong), 'a guessed password in the log');
});

test('PERMISSION_DENIED for a host outside the allow-list does not list the allowed hosts', async () => {
  const hidden = 'db-internal.example.net:6543';
  const srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, allowHosts: [`${pg.host}:${pg.port}`, hidden], connectBackoff: { baseMs: 1, maxMs: 2 } });
  cleanups.push(() => srv.stop());
  await withClient(srv.address, async (c) => {
    await rejectsWith(rpc(c, 'Connect', login({ Host: '10.255.255.1', Port: 5432 })), status.PERMISSION_DENIED, (d) => {
      assert.match(d, /10\.255\.255\.1:5432 is not allowed/);
      assert.ok(!d.includes('db-internal') && !d.includes(`${pg.host}:${pg.port}`), d);
    });
  });
});

// ---- the backoff's rules, on its own

test('ConnectBackoff: doubling delay with a cap; success as the failing user clears it, success as another user does not', async () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 60].map((n) => backoffDelayMs(n, 250, 2000)), [0, 250, 500, 1000, 2000, 2000, 2000]);
  assert.equal(peerHost('127.0.0.1:5555'), '127.0.0.1');
  assert.equal(peerHost('::1:5555'), '::1');
  assert.equal(peerHost('[::1]:5555'), '::1');
  assert.equal(peerHost('::ffff:10.1.2.3:77'), '10.1.2.3');
  const b = new ConnectBackoff({ baseMs: 1, maxMs: 2 });
  const fail = () => Promise.reject(Object.assign(new Error('bad password'), { failed: true }));
  const ok = () => Promise.resolve('in');
  const isFailure = (e) => e.failed === true;
  await assert.rejects(b.run('h1', 'victim', fail, isFailure));
  await assert.rejects(b.run('h1', 'victim', fail, isFailure));
  assert.equal(b.failuresOf('h1'), 2);
  assert.equal(b.failuresOf('h2'), 0, 'per peer');
  // A peer holding one valid login cannot reset its backoff between guesses at another user.
  assert.equal(await b.run('h1', 'attacker', ok, isFailure), 'in');
  assert.equal(b.failuresOf('h1'), 2);
  // The user who mistyped and then got it right is let off.
  assert.equal(await b.run('h1', 'victim', ok, isFailure), 'in');
  assert.equal(b.failuresOf('h1'), 0);
  // Errors that are not failed logins (an unreachable database) do not count.
  await assert.rejects(b.run('h1', 'victim', () => Promise.reject(new Error('ECONNREFUSED')), isFailure));
  assert.equal(b.failuresOf('h1'), 0);
});

test('ConnectBackoff: bounded — too many waiting Connects of one peer are refused, old peers are forgotten', async () => {
  const b = new ConnectBackoff({ baseMs: 50, maxMs: 50, maxWaiting: 2, maxPeers: 3 });
  const isFailure = () => true;
  await assert.rejects(b.run('h', 'u', () => Promise.reject(new Error('no')), isFailure));
  const waiting = [1, 2].map(() => b.run('h', 'u', () => Promise.reject(new Error('no')), isFailure).catch((e) => e.message));
  await assert.rejects(b.run('h', 'u', () => Promise.resolve(), isFailure), /too many Connects waiting/);
  assert.deepEqual(await Promise.all(waiting), ['no', 'no']);
  for (const peer of ['p1', 'p2', 'p3', 'p4']) await assert.rejects(b.run(peer, 'u', () => Promise.reject(new Error('no')), isFailure));
  assert.equal(b.failuresOf('h'), 0, 'the least recently failed peer was dropped');
  assert.equal(b.failuresOf('p4'), 1);
});

test('CLI --login-backoff-max-ms: a cap in ms, 0 = off (no delay, no queue); bad values are refused', async () => {
  const base = ['--database', 'postgres://x/y'];
  assert.equal(parseArgs(base).connectBackoff, undefined, 'default: the built-in backoff');
  assert.deepEqual(parseArgs([...base, '--login-backoff-max-ms', '1000']).connectBackoff, { maxMs: 1000, baseMs: 250 });
  assert.deepEqual(parseArgs([...base, '--login-backoff-max-ms', '100']).connectBackoff, { maxMs: 100, baseMs: 100 });
  assert.deepEqual(parseArgs([...base, '--login-backoff-max-ms', '0']).connectBackoff, { off: true });
  assert.throws(() => parseArgs([...base, '--login-backoff-max-ms', '-1']), /--login-backoff-max-ms must be a whole number/);
  assert.throws(() => parseArgs([...base, '--login-backoff-max-ms', 'soon']), /--login-backoff-max-ms must be a whole number/);

  // Off: failures are not remembered, nothing waits and nothing is refused for waiting.
  const off = new ConnectBackoff({ off: true, baseMs: 10000, maxWaiting: 1 });
  const fail = () => Promise.reject(Object.assign(new Error('password authentication failed'), { bad: true }));
  for (let i = 0; i < 5; i++) await assert.rejects(off.run('127.0.0.1', 'u', fail, () => true), /password authentication failed/);
  assert.equal(off.failuresOf('127.0.0.1'), 0);
  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: 4 }, () => off.run('127.0.0.1', 'u', async () => 'in', () => true)));
  assert.deepEqual(results, ['in', 'in', 'in', 'in']);
  assert.ok(Date.now() - t0 < 1000, 'no backoff delay when off');
});
